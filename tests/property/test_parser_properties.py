"""Property tests for the query parser and the domain filter."""

from __future__ import annotations

import string

from hypothesis import assume, example, given
from hypothesis import strategies as st

from heron.errors import FilterError, QueryParseError
from heron.search.domains import normalize_url_path, parse_domain_filter, parse_domain_pattern, url_domain
from heron.search.parser import DEFAULT_FIELDS, format_query, has_syntax, parse_query
from heron.search.query import BoolQuery, PhraseQuery, Query, SiteQuery, TermQuery

# Text rich in the characters the grammar cares about, plus arbitrary Unicode.
_SYNTAX = st.sampled_from([*' \t\n"+-:./', "site:", "title:", "url:", "text:", "http://", "www.", "\u00a0"])
query_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.one_of(_SYNTAX, st.text(string.ascii_letters + string.digits, min_size=1, max_size=6)), max_size=15
    ).map("".join),
)


def parse_or_none(text: str, **kwargs: str) -> Query | None:
    try:
        return parse_query(text, **kwargs)  # type: ignore[arg-type]
    except QueryParseError:
        return None


def walk(q: Query) -> list[Query]:
    out: list[Query] = [q]
    if isinstance(q, BoolQuery):
        for clause in q.should + q.must + q.must_not + q.filter:
            out += walk(clause)
    return out


@given(query_text)
@example('"unterminated')
@example("title:")
@example("-")
@example("site:bad!domain x")
@example("x site:xn--")
def test_parser_raises_only_query_parse_error(text: str) -> None:
    for op in ("or", "and"):
        try:
            parse_query(text, default_operator=op)
        except QueryParseError as exc:
            assert 0 <= exc.position <= len(text)
            assert exc.query.startswith(text[: exc.position])


@given(query_text)
def test_parse_is_deterministic(text: str) -> None:
    assert parse_or_none(text) == parse_or_none(text)


@given(query_text)
def test_ast_invariants(text: str) -> None:
    q = parse_or_none(text)
    if q is None:
        return
    assert isinstance(q, BoolQuery)
    assert q.should or q.must  # at least one positive clause
    for node in walk(q):
        if isinstance(node, TermQuery):
            assert node.text
            assert not any(c.isspace() for c in node.text)
            assert any(c.isalnum() for c in node.text)
        elif isinstance(node, PhraseQuery):
            assert node.text == " ".join(node.text.split()) != ""
        elif isinstance(node, SiteQuery):
            assert node.domain == node.domain.lower()


@given(query_text, st.sampled_from(["or", "and"]))
def test_format_then_parse_round_trips(text: str, op: str) -> None:
    q = parse_or_none(text, default_operator=op)
    if q is None:
        return
    assert parse_query(format_query(q, default_operator=op), default_operator=op) == q


def _is_plain_term(word: str) -> bool:
    """A word that parses as one bare TermQuery with exactly this text."""
    if not word or word[0] in '+-"' or any(c.isspace() for c in word):
        return False
    if not any(c.isalnum() for c in word):
        return False
    name, colon, _ = word.partition(":")
    return not (colon and '"' not in name and name.lower() in DEFAULT_FIELDS | {"site"})


plain_term = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
    _is_plain_term
)


@given(st.lists(plain_term, min_size=1, max_size=8), st.sampled_from(["or", "and"]))
@example(["state-of-the-art", "3:1", "http://x.org", '15"'], "or")
def test_rendered_bare_terms_reparse_to_same_ast(words: list[str], op: str) -> None:
    terms = tuple(TermQuery(w) for w in words)
    ast = BoolQuery(should=terms) if op == "or" else BoolQuery(must=terms)
    assert parse_query(" ".join(words), default_operator=op) == ast


# --- domains ------------------------------------------------------------------------------

label = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,19}", fullmatch=True)
domain = st.lists(label, min_size=1, max_size=4).map(".".join)


@given(domain, st.lists(label, min_size=1, max_size=3).map(".".join), st.booleans())
def test_subdomain_of_allowed_domain_passes(base: str, sub: str, with_url: bool) -> None:
    f = parse_domain_filter([base])
    host = f"{sub}.{base}"
    assert f.matches(host)
    if with_url:
        url = f"https://{host}/some/path"
        assert f.matches(url_domain(url), url)
    assert not parse_domain_filter(["-" + base]).matches(host)


@given(st.text(max_size=20))
@example("bad")
@example("www")
@example("")
@example("a.")
def test_prefix_without_dot_never_matches(prefix: str) -> None:
    assume(not prefix.endswith("."))
    f = parse_domain_filter(["example.com"])
    assert f.matches(prefix + "example.com") == (prefix == "")


@given(domain, domain)
def test_deny_is_the_complement_of_allow(entry: str, host: str) -> None:
    allow = parse_domain_filter([entry])
    deny = parse_domain_filter(["-" + entry])
    assert allow.matches(host) != deny.matches(host)


url_text = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(["https://", "http://", "//", "", "mailto:"]), st.text(max_size=30)).map(
        "".join
    ),
)


@given(url_text)
@example("http://[bad/")
@example("https://ex\uff03ample.com/")
@example("https://\u3002\u3002/")
def test_url_helpers_never_raise(url: str) -> None:
    domain = url_domain(url)
    assert domain == domain.strip().lower()
    assert not domain.startswith("www.") or "." not in domain[4:]
    path = normalize_url_path(url)
    assert path.startswith(domain)
    assert parse_domain_filter(["example.com/a"]).matches(domain, url) in (True, False)


@given(st.lists(st.text(max_size=20), max_size=5))
def test_filter_parse_raises_only_filter_error(entries: list[str]) -> None:
    try:
        f = parse_domain_filter(entries)
    except FilterError as exc:
        assert "entry" in str(exc)
        return
    for pattern in f.allow + f.deny:
        assert parse_domain_pattern(str(pattern)) == pattern


@given(query_text)
@example("0-dimensional biomaterials (SIDS) 10:30 5\" state-of-the-art")
@example("TITLE:x")
@example("a\u00a0-b")
@example("()")
def test_text_without_syntax_parses_to_its_searchable_words(text: str) -> None:
    """The searcher's shortcut: text ``has_syntax`` calls plain is the bag of its words — the
    parser gives exactly the optional terms of its searchable words (or no searchable term)."""
    if has_syntax(text):
        return
    words = tuple(TermQuery(w) for w in text.split() if any(c.isalnum() for c in w))
    q = parse_or_none(text)
    if q is None:
        assert not words
    else:
        assert q == BoolQuery(should=words)
