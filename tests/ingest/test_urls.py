from __future__ import annotations

import pytest

from heron.ingest.urls import normalize_url, registrable_domain


@pytest.mark.parametrize(("raw", "want"), [
    ("HTTP://Example.COM:80/a/b?x=1#frag", "http://example.com/a/b?x=1"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/x", "https://example.com:8443/x"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/p?utm_source=tw&id=7&fbclid=abc&utm_medium=x", "https://example.com/p?id=7"),
    ("https://example.com/p?gclid=1", "https://example.com/p"),
    ("<http://example.com/>", "http://example.com/"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://example.com/a%20b", "https://example.com/a%20b"),
    ("https://example.com/dir/", "https://example.com/dir/"),
    ("http://example.com.", "http://example.com/"),
    ("", ""),
    ("not a url", ""),
    ("http://[::1]:80/x", "http://[::1]/x"),
    ("http://example.com:99999/", ""),
])
def test_normalize_url(raw: str, want: str) -> None:
    assert normalize_url(raw) == want


def test_normalize_is_idempotent() -> None:
    for u in ("HTTP://A.example.com:80/x/../y?utm_campaign=1&b=2#f", "https://example.org"):
        once = normalize_url(u)
        assert normalize_url(once) == once


@pytest.mark.parametrize(("raw", "want"), [
    ("https://www.news.bbc.co.uk/x", "bbc.co.uk"),
    ("forums.example.com", "example.com"),
    ("http://example.com.au", "example.com.au"),
    ("https://sub.domain.example.org:8080/p", "example.org"),
    ("http://192.168.0.1/x", "192.168.0.1"),
    ("http://localhost:8000/", "localhost"),
    ("", ""),
])
def test_registrable_domain(raw: str, want: str) -> None:
    assert registrable_domain(raw) == want
