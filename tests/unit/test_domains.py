"""Unit tests for heron.search.domains (Perplexity ``search_domain_filter`` semantics)."""

from __future__ import annotations

import pytest

from heron.errors import FilterError
from heron.search.domains import (
    DomainFilter,
    DomainPattern,
    normalize_url_path,
    parse_domain_filter,
    parse_domain_pattern,
    url_domain,
)


def allows(entries: list[str], url: str) -> bool:
    f = parse_domain_filter(entries)
    return f.matches(url_domain(url), url)


# --- url_domain / normalize_url_path ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.Example.COM/path?q=1#f", "example.com"),
        ("http://example.com:8080/", "example.com"),
        ("https://a.b.example.com", "a.b.example.com"),
        ("https://example.com./x", "example.com"),
        ("example.com/no-scheme", "example.com"),
        ("https://user:pw@Host.org/x", "host.org"),
        ("https://bücher.de/", "xn--bcher-kva.de"),
        ("https://www.com/", "www.com"),
        ("https://WWW.sub.example.com", "sub.example.com"),
        ("http://[::1]:80/x", "::1"),
        ("", ""),
        ("   ", ""),
        ("https://", ""),
        ("https://exa mple.com/", ""),
        ("http://[bad/", ""),
        ("https://a..b/", ""),
        ("mailto:", ""),
        ("mailto:someone@example.com", ""),
        ("urn:isbn:0451450523", ""),
        ("localhost:8080/x", "localhost"),
    ],
)
def test_url_domain(url: str, domain: str) -> None:
    assert url_domain(url) == domain


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.Nature.com/Articles/x?y=1#z", "nature.com/Articles/x"),
        ("https://nature.com", "nature.com"),
        ("https://nature.com/", "nature.com/"),
        ("nature.com/a", "nature.com/a"),
        ("", ""),
        ("https:///nohost", ""),
    ],
)
def test_normalize_url_path(url: str, expected: str) -> None:
    assert normalize_url_path(url) == expected


# --- entry normalisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "pattern"),
    [
        ("example.com", DomainPattern("example.com")),
        ("Example.COM", DomainPattern("example.com")),
        ("  example.com  ", DomainPattern("example.com")),
        ("https://www.nature.com/", DomainPattern("nature.com")),
        ("//www.nature.com", DomainPattern("nature.com")),
        ("example.com.", DomainPattern("example.com")),
        ("example.com:443", DomainPattern("example.com")),
        ("nature.com/articles", DomainPattern("nature.com", "/articles")),
        ("nature.com/Articles///", DomainPattern("nature.com", "/articles")),
        ("https://nature.com/articles/?x=1#top", DomainPattern("nature.com", "/articles")),
        (".gov", DomainPattern("gov", tld=True)),
        (".co.uk", DomainPattern("co.uk", tld=True)),
        ("gov", DomainPattern("gov")),
        ("bücher.de", DomainPattern("xn--bcher-kva.de")),
    ],
)
def test_parse_domain_pattern(entry: str, pattern: DomainPattern) -> None:
    assert parse_domain_pattern(entry) == pattern


def test_pattern_str_is_canonical_and_reparses() -> None:
    for entry in ["example.com", "nature.com/articles", ".gov", "bücher.de/x"]:
        p = parse_domain_pattern(entry)
        assert parse_domain_pattern(str(p)) == p
    assert str(parse_domain_pattern("https://www.nature.com/articles/")) == "nature.com/articles"
    assert str(parse_domain_pattern(".gov")) == ".gov"


# --- matching -----------------------------------------------------------------------------


def test_domain_matches_itself_and_subdomains_only() -> None:
    f = parse_domain_filter(["example.com"])
    assert f.matches("example.com")
    assert f.matches("a.example.com")
    assert f.matches("a.b.example.com")
    assert not f.matches("badexample.com")
    assert not f.matches("example.com.evil.org")
    assert not f.matches("example.org")
    assert not f.matches("")


def test_matching_is_case_insensitive() -> None:
    assert parse_domain_filter(["EXAMPLE.com"]).matches("Sub.Example.Com")


def test_www_entry_matches_bare_domain() -> None:
    assert allows(["https://www.nature.com/"], "https://nature.com/x")
    assert allows(["www.nature.com"], "https://www.nature.com/x")


def test_path_prefix_at_segment_boundary() -> None:
    entries = ["nature.com/articles"]
    assert allows(entries, "https://www.nature.com/articles")
    assert allows(entries, "https://nature.com/articles/")
    assert allows(entries, "https://nature.com/articles/s41586-024?x=1")
    assert allows(entries, "https://sub.nature.com/articles/x")
    assert allows(entries, "https://nature.com/Articles/x")  # paths compare case-insensitively
    assert not allows(entries, "https://nature.com/articles2")
    assert not allows(entries, "https://nature.com/news/articles")
    assert not allows(entries, "https://nature.com/")
    assert not allows(entries, "https://othernature.com/articles")


def test_path_pattern_without_url_does_not_match() -> None:
    allow = parse_domain_filter(["nature.com/articles"])
    deny = parse_domain_filter(["-nature.com/articles"])
    assert allow.needs_url and deny.needs_url
    assert not allow.matches("nature.com")
    assert deny.matches("nature.com")


def test_tld_entries() -> None:
    for entries in ([".gov"], ["gov"]):
        assert allows(entries, "https://www.nasa.gov/x")
        assert allows(entries, "https://data.census.gov")
        assert not allows(entries, "https://gov.uk")
        assert not allows(entries, "https://example.govt.nz")


def test_deny_list() -> None:
    f = parse_domain_filter(["-pinterest.com", "-quora.com"])
    assert f.deny and not f.allow
    assert not f.matches("pinterest.com")
    assert not f.matches("www.quora.com".removeprefix("www."))
    assert not f.matches("uk.pinterest.com")
    assert f.matches("example.com")
    assert f.matches("")


def test_deny_path() -> None:
    f = parse_domain_filter(["-example.com/private"])
    assert not f.matches("example.com", "https://example.com/private/a")
    assert f.matches("example.com", "https://example.com/public")


def test_allow_list_any_match() -> None:
    f = parse_domain_filter(["a.com", "b.org/x"])
    assert f.matches("a.com")
    assert f.matches("b.org", "https://b.org/x/y")
    assert not f.matches("b.org", "https://b.org/y")
    assert not f.matches("c.net")


def test_domain_derived_from_url_when_missing() -> None:
    assert parse_domain_filter(["a.com"]).matches("", "https://www.a.com/x")


def test_empty_filter_passes_everything() -> None:
    f = parse_domain_filter([])
    assert f == DomainFilter()
    assert f.is_empty
    assert not f.needs_url
    assert f.matches("anything.com")
    assert f.matches("")


def test_needs_url() -> None:
    assert not parse_domain_filter(["a.com", "b.com"]).needs_url
    assert parse_domain_filter(["a.com", "b.com/x"]).needs_url


def test_duplicate_entries_are_merged() -> None:
    assert parse_domain_filter(["a.com", "https://www.a.com/", "A.com."]).allow == (DomainPattern("a.com"),)


def test_from_site() -> None:
    f = DomainFilter.from_site("nature.com/articles")
    assert f == DomainFilter(allow=(DomainPattern("nature.com", "/articles"),))
    assert f.matches("nature.com", "https://nature.com/articles/1")
    with pytest.raises(FilterError):
        DomainFilter.from_site("not a domain")


# --- errors -------------------------------------------------------------------------------


def filter_error(entries: list[str], **kwargs: int) -> str:
    with pytest.raises(FilterError) as info:
        parse_domain_filter(entries, **kwargs)
    return str(info.value)


def test_mixing_allow_and_deny() -> None:
    msg = filter_error(["a.com", "b.com", "-c.com"])
    assert "entry 2 ('-c.com')" in msg
    assert "entry 0 ('a.com')" in msg
    assert "cannot be mixed" in msg
    assert "'-'" in msg
    assert "entry 1 ('a.com')" in filter_error(["-b.com", "a.com"])


def test_too_many_entries() -> None:
    msg = filter_error([f"d{i}.com" for i in range(21)])
    assert "21 entries" in msg
    assert "at most 20" in msg
    assert "entry 20 ('d20.com')" in msg
    assert "at most 3" in filter_error(["a.com", "b.com", "c.com", "d.com"], max_entries=3)
    assert len(parse_domain_filter([f"d{i}.com" for i in range(20)]).allow) == 20


@pytest.mark.parametrize("entry", ["", "   ", "-"])
def test_empty_entry(entry: str) -> None:
    msg = filter_error(["a.com", entry] if entry != "-" else ["-a.com", entry])
    assert "entry 1" in msg
    assert "is empty" in msg
    assert "such as 'example.com'" in msg  # says how to fix


def test_entry_too_long() -> None:
    entry = "a" * 50 + "." + "b" * 203
    assert len(entry) == 254
    msg = filter_error([entry])
    assert "entry 0" in msg
    assert "254 characters" in msg
    assert "limit is 253" in msg


@pytest.mark.parametrize(
    "entry",
    [
        "exa mple.com",
        "example.com/a b",
        "bad_domain!",
        "a..b",
        "user@example.com",
        "example.com:http",
        "..gov",
    ],
)
def test_not_a_hostname(entry: str) -> None:
    msg = filter_error(["ok.com", entry])
    assert f"entry 1 ({entry!r})" in msg
    assert "such as 'example.com'" in msg


def test_non_string_entries() -> None:
    with pytest.raises(FilterError, match="not a string"):
        parse_domain_filter(["a.com", 3])  # type: ignore[list-item]
    with pytest.raises(FilterError, match="list of strings"):
        parse_domain_filter("example.com")


def test_parse_domain_pattern_error_names_entry() -> None:
    with pytest.raises(FilterError, match=r"'bad domain'.*whitespace"):
        parse_domain_pattern("bad domain")
