from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from heron.ingest.metadata import detect_language, identify_language, page_meta, parse_any_date, url_date

HEAD = """<html lang="en-GB"><head><title>Grey heron | Birds</title>
<link rel="canonical" href="https://birds.example.org/heron">
<meta property="article:published_time" content="2019-11-18T07:45:00-05:00">
<meta property="article:modified_time" content="2019-11-20T10:00:00Z">
<meta name="description" content="All about herons">
</head><body><h1>Grey heron</h1><p>Text <a href="/local">in</a> <a href="https://other.example.com/x">out</a>
<a href="#top">top</a> <a href="mailto:x@y.z">mail</a> <a href="//cdn.example.net/y">cdn</a></p></body></html>"""


def test_meta_tags() -> None:
    m = page_meta(HEAD, "https://birds.example.org/heron?x=1", title="Grey heron | Birds", h1="Grey heron")
    assert m.published == "2019-11-18" and m.date_source == "meta:article:published_time"
    assert m.modified == "2019-11-20"
    assert m.canonical_url == "https://birds.example.org/heron"
    assert m.html_lang == "en" and m.description == "All about herons"
    assert m.outlinks == 3 and m.outlinks_external == 2


def test_json_ld_time_and_url_dates() -> None:
    ld = """<html><head><script type="application/ld+json">{"@graph": [{"@type": "NewsArticle",
    "datePublished": "2018-05-04", "dateModified": "2018-06-01T10:00:00+02:00"}]}</script></head><body></body></html>"""
    m = page_meta(ld, "https://x.example/")
    assert (m.published, m.modified, m.date_source) == ("2018-05-04", "2018-06-01", "json-ld")
    t = page_meta('<html><body><time datetime="2017-02-03T04:05">x</time></body></html>', "")
    assert (t.published, t.date_source) == ("2017-02-03", "time")
    u = page_meta("<html><body>no dates</body></html>", "https://news.example.com/2019/11/18/story-title/")
    assert (u.published, u.date_source) == ("2019-11-18", "url")
    assert page_meta("<html><body>nothing</body></html>", "https://example.com/about").published is None


@pytest.mark.parametrize(("raw", "want"), [
    ("2019-11-18", "2019-11-18"),
    ("2019-11-18T07:45:00Z", "2019-11-18"),
    ("2019-11-18 07:45:00", "2019-11-18"),
    ("Fri, 09 Aug 2013 23:54:35 GMT", "2013-08-09"),
    ("20170306040206", "2017-03-06"),
    ("1970-01-01", None),  # before the web
    ("3019-01-01", None),  # the future
    ("yesterday", None),
    ("", None),
])
def test_parse_any_date(raw: str, want: str | None) -> None:
    assert parse_any_date(raw) == want


def test_date_after_crawl_is_rejected() -> None:
    assert parse_any_date("2020-01-05", latest=dt.date(2020, 1, 1)) is None


def test_url_date() -> None:
    assert url_date("https://a.example/2019/11/18/x") == "2019-11-18"
    assert url_date("https://a.example/2019/11/x.html") == "2019-11-01"
    assert url_date("https://a.example/2019/13/45/x") is None
    assert url_date("https://a.example/p/12345678") is None


@pytest.mark.parametrize(("text", "lang"), [
    ("The grey heron is a long-legged wading bird of the heron family, native throughout Europe.", "en"),
    ("Der Graureiher ist ein Vogel aus der Familie der Reiher und in ganz Europa verbreitet.", "de"),
    ("Le héron cendré est une espèce d'oiseaux échassiers de la famille des ardéidés.", "fr"),
    ("La garza real es una especie de ave pelecaniforme de la familia Ardeidae.", "es"),
])
def test_language(text: str, lang: str) -> None:
    got, prob = detect_language(text)
    assert got == lang and prob > 0.5


def test_language_of_too_little_text() -> None:
    assert detect_language("ok") == ("", 0.0)


@pytest.mark.parametrize(("text", "lang"), [
    ("The grey heron is a long-legged wading bird of the heron family, native throughout Europe.", "en"),
    ("Der Graureiher ist ein Vogel aus der Familie der Reiher und in ganz Europa verbreitet.", "de"),
    ("Le héron cendré est une espèce d'oiseaux échassiers de la famille des ardéidés.", "fr"),
])
def test_identify_language_fast_path(text: str, lang: str) -> None:
    assert identify_language(text) == (lang, None)  # the fast detector, stable on both views: no probability
    assert identify_language(text, html_lang=lang) == (lang, None)


def test_identify_language_falls_back_to_py3langid() -> None:
    text = "The grey heron is a long-legged wading bird of the heron family, native throughout Europe."
    lang, prob = identify_language(text, html_lang="de")  # the markup disagrees: py3langid decides
    assert lang == "en" and prob is not None and prob > 0.5
    assert identify_language("ok") == ("", 0.0)


@pytest.mark.data
def test_identify_language_agrees_with_py3langid_on_the_samples(shared_data: Path) -> None:
    """On every page of the shared samples the fast path gives py3langid's answer."""
    from resiliparse.parse.html import HTMLTree

    from heron.ingest.extract import extract_text
    from heron.ingest.readers import expand_sources, read_source
    from heron.ingest.records import RawPage

    texts = []
    for f in expand_sources([shared_data / "web/warc/valid", shared_data / "web/html"]):
        for rec in read_source(f):
            if isinstance(rec, RawPage):
                text = extract_text(HTMLTree.parse_from_bytes(rec.body, "utf-8"), "heron")
                if len(text) >= 200:
                    texts.append(text)
    assert len(texts) > 150
    fast = sum(identify_language(t)[1] is None for t in texts)
    assert [identify_language(t)[0] for t in texts] == [detect_language(t)[0] for t in texts]
    assert fast >= 0.9 * len(texts)
