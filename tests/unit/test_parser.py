"""Unit tests for heron.search.parser."""

from __future__ import annotations

import pytest

from heron.errors import ConfigError, QueryParseError
from heron.search.parser import format_query, parse_query
from heron.search.query import BoolQuery, PhraseQuery, SiteQuery, TermQuery


def T(text: str, field: str | None = None) -> TermQuery:
    return TermQuery(text, field)


def P(text: str, field: str | None = None) -> PhraseQuery:
    return PhraseQuery(text, field)


def parse_error(text: str, **kwargs: object) -> QueryParseError:
    with pytest.raises(QueryParseError) as info:
        parse_query(text, **kwargs)  # type: ignore[arg-type]
    return info.value


# --- bare terms and operators -------------------------------------------------------------


def test_single_term_is_normalised_bool_query() -> None:
    assert parse_query("heron") == BoolQuery(should=(T("heron"),))


def test_bare_terms_are_ranked_or() -> None:
    assert parse_query("  how   do birds\tnavigate\n") == BoolQuery(
        should=(T("how"), T("do"), T("birds"), T("navigate"))
    )


def test_terms_are_left_raw() -> None:
    assert parse_query("Birds NAVIGATE Café") == BoolQuery(should=(T("Birds"), T("NAVIGATE"), T("Café")))


def test_default_operator_and_makes_bare_clauses_required() -> None:
    assert parse_query("a b", default_operator="and") == BoolQuery(must=(T("a"), T("b")))
    assert parse_query('a "b c" -d', default_operator="AND") == BoolQuery(
        must=(T("a"), P("b c")), must_not=(T("d"),)
    )


def test_invalid_default_operator() -> None:
    with pytest.raises(ConfigError, match="default_operator"):
        parse_query("a", default_operator="xor")


def test_required_and_excluded_terms() -> None:
    assert parse_query("a +b -c") == BoolQuery(should=(T("a"),), must=(T("b"),), must_not=(T("c"),))


def test_hyphenated_word_is_one_term() -> None:
    assert parse_query("state-of-the-art models") == BoolQuery(should=(T("state-of-the-art"), T("models")))
    assert parse_query("-state-of-the-art x") == BoolQuery(
        should=(T("x"),), must_not=(T("state-of-the-art"),)
    )


def test_lone_operator_inside_the_query_is_dropped() -> None:
    assert parse_query("paris - london + rome") == BoolQuery(should=(T("paris"), T("london"), T("rome")))


def test_double_operator_keeps_the_second_as_text() -> None:
    assert parse_query("a +-b") == BoolQuery(should=(T("a"),), must=(T("-b"),))


def test_punctuation_only_tokens_are_dropped() -> None:
    assert parse_query("what ... is ?! -- this") == BoolQuery(should=(T("what"), T("is"), T("this")))


def test_unicode_whitespace_separates() -> None:
    assert parse_query("a\u00a0b\u3000c") == BoolQuery(should=(T("a"), T("b"), T("c")))


# --- phrases ------------------------------------------------------------------------------


def test_phrase_is_should_clause() -> None:
    assert parse_query('"new york" pizza') == BoolQuery(should=(P("new york"), T("pizza")))


def test_phrase_whitespace_is_collapsed() -> None:
    assert parse_query('"  new \t york "') == BoolQuery(should=(P("new york"),))


def test_required_and_excluded_phrases() -> None:
    assert parse_query('x +"a b" -"c d"') == BoolQuery(
        should=(T("x"),), must=(P("a b"),), must_not=(P("c d"),)
    )


def test_empty_and_punctuation_phrases_are_dropped() -> None:
    assert parse_query('"" x "?!"') == BoolQuery(should=(T("x"),))


def test_closing_quote_ends_the_clause() -> None:
    assert parse_query('"a b"c') == BoolQuery(should=(P("a b"), T("c")))
    assert parse_query('"a b"-c') == BoolQuery(should=(P("a b"),), must_not=(T("c"),))


def test_quote_inside_a_word_is_text() -> None:
    assert parse_query('15" laptop') == BoolQuery(should=(T('15"'), T("laptop")))


# --- fields -------------------------------------------------------------------------------


def test_field_term_and_phrase() -> None:
    assert parse_query('title:heron url:"example com" x') == BoolQuery(
        should=(T("heron", "title"), P("example com", "url"), T("x"))
    )


def test_field_name_is_case_insensitive_and_canonical() -> None:
    assert parse_query("Title:x") == BoolQuery(should=(T("x", "title"),))


def test_field_with_operators() -> None:
    assert parse_query('a +title:b -text:"c d"') == BoolQuery(
        should=(T("a"),), must=(T("b", "title"),), must_not=(P("c d", "text"),)
    )


def test_url_value_in_url_field() -> None:
    assert parse_query("url:https://x.com/a?b=1") == BoolQuery(should=(T("https://x.com/a?b=1", "url"),))


def test_custom_fields() -> None:
    q = parse_query("author:smith title:x", fields=frozenset({"author"}))
    assert q == BoolQuery(should=(T("smith", "author"), T("title:x")))


@pytest.mark.parametrize(
    "text",
    ["ratio 3:1", "meet at 10:30", "http://example.com/a", "https://x.org", "foo:bar", "std::vector", "a:"],
)
def test_unknown_prefix_is_ordinary_text(text: str) -> None:
    assert parse_query(text) == BoolQuery(should=tuple(T(w) for w in text.split()))


def test_unknown_prefix_with_quote_is_text() -> None:
    assert parse_query('error:"a b"') == BoolQuery(should=(T('error:"a'), T('b"')))


def test_punctuation_only_field_value_is_dropped() -> None:
    assert parse_query("title:!! x") == BoolQuery(should=(T("x"),))


# --- site: --------------------------------------------------------------------------------


def test_site_goes_to_filter() -> None:
    assert parse_query("birds site:example.com") == BoolQuery(
        should=(T("birds"),), filter=(SiteQuery("example.com"),)
    )


def test_site_with_path_and_normalisation() -> None:
    assert parse_query("x site:https://www.Nature.com/articles/") == BoolQuery(
        should=(T("x"),), filter=(SiteQuery("nature.com/articles"),)
    )


def test_site_tld_and_quoted_value() -> None:
    assert parse_query('x site:.gov site:"example.org"') == BoolQuery(
        should=(T("x"),), filter=(BoolQuery(should=(SiteQuery(".gov"), SiteQuery("example.org"))),)
    )


def test_multiple_sites_are_ored_in_one_nested_bool() -> None:
    q = parse_query("site:a.com x site:b.com +site:c.com site:a.com")
    assert q == BoolQuery(
        should=(T("x"),),
        filter=(BoolQuery(should=(SiteQuery("a.com"), SiteQuery("b.com"), SiteQuery("c.com"))),),
    )


def test_excluded_site() -> None:
    assert parse_query("x -site:spam.com") == BoolQuery(should=(T("x"),), must_not=(SiteQuery("spam.com"),))


def test_site_is_case_insensitive() -> None:
    assert parse_query("x SITE:Example.COM") == BoolQuery(
        should=(T("x"),), filter=(SiteQuery("example.com"),)
    )


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_query(text: str) -> None:
    err = parse_error(text)
    assert err.position == 0
    assert "empty query" in str(err)


@pytest.mark.parametrize("text", ["!!! ...", '""', "site:example.com", "title:?"])
def test_no_searchable_terms(text: str) -> None:
    err = parse_error(text)
    assert err.position == 0
    assert "no searchable terms" in str(err)


@pytest.mark.parametrize(("text", "pos"), [('"abc', 0), ('a "b c', 2), ('a +"b', 3), ('title:"x y', 6)])
def test_unterminated_quote_points_at_opening_quote(text: str, pos: int) -> None:
    err = parse_error(text)
    assert err.position == pos
    assert "unterminated quote" in str(err)
    assert err.query == text


@pytest.mark.parametrize(("text", "pos"), [("a -", 2), ("a +", 2), ("a b +  ", 4), ("-", 0)])
def test_lone_operator_at_end(text: str, pos: int) -> None:
    err = parse_error(text)
    assert err.position == pos
    assert "lone" in str(err)


@pytest.mark.parametrize(
    ("text", "pos"), [("a title:", 2), ("title: x", 0), ("a -url:", 2), ("x site:", 2), ("site: x.com", 0)]
)
def test_field_with_nothing_after_it(text: str, pos: int) -> None:
    err = parse_error(text)
    assert err.position == pos
    assert "has nothing after it" in str(err)


def test_invalid_site_value() -> None:
    err = parse_error("x site:bad_domain!")
    assert err.position == 2
    assert "invalid site" in str(err)


def test_query_too_long() -> None:
    err = parse_error("a" * 101, max_length=100)
    assert err.position == 100
    assert "the limit is 100" in str(err)
    assert parse_query("a" * 100, max_length=100) == BoolQuery(should=(T("a" * 100),))


@pytest.mark.parametrize(
    ("text", "pos"), [("-a -b", 0), ("  -a", 2), ("-a -site:x.com", 0), ('-"a b" !!', 0)]
)
def test_only_excluded_terms(text: str, pos: int) -> None:
    err = parse_error(text)
    assert err.position == pos
    assert "query has only excluded terms" in str(err)


def test_only_excluded_terms_with_site_filter() -> None:
    assert "only excluded" in str(parse_error("-a site:x.com"))


def test_error_message_has_pointer() -> None:
    err = parse_error('ab "cd')
    assert str(err).endswith('ab "cd\n     ^')


# --- format_query -------------------------------------------------------------------------


def test_format_query_round_trip() -> None:
    text = 'a "d e" title:f url:"g h" +b -c -site:x.com site:y.com site:z.org/p'
    q = parse_query(text)
    assert format_query(q) == text
    assert parse_query(format_query(q)) == q


def test_format_query_and_mode() -> None:
    q = parse_query("a b -c", default_operator="and")
    assert parse_query(format_query(q, default_operator="and"), default_operator="and") == q
    with pytest.raises(ValueError, match="should"):
        format_query(parse_query("a"), default_operator="and")


def test_format_query_rejects_unexpressible_nesting() -> None:
    with pytest.raises(ValueError):
        format_query(BoolQuery(should=(BoolQuery(should=(T("a"),)),)))
    with pytest.raises(ValueError):
        format_query(BoolQuery(should=(T("a"),), filter=(T("b"),)))
