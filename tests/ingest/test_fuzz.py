"""Fuzz the HTML and WARC paths: arbitrary bytes never crash them, every record comes out as a
page/document or a counted skip (hypothesis, bounded: ~10 s in CI)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heron.ingest.pipeline import process_batch
from heron.ingest.readers import read_warc
from heron.ingest.records import RawPage, Skip

TAGS = ["<html>", "</html>", "<body>", "<p>", "</p>", "<h1>", "</h1>", "<h2>", "<div class='comments'>", "</div>",
        "<script>", "</script>", "<meta charset='koi8-r'>", "<a href='http://x/'>", "</a>", "&amp;", "&#0;",
        "<!--", "-->", "<title>", "</title>", "<time datetime='2019-01-01'>", "<![CDATA[", "\x00", "\ufffd"]
html_like = st.lists(st.one_of(st.sampled_from(TAGS), st.text(max_size=40)), max_size=60).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(html_like.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=2000)),
       charset=st.sampled_from([None, "utf-8", "latin-1", "shift_jis", "bogus-charset"]),
       url=st.sampled_from(["", "http://example.com/2019/01/02/x", "not a url", "http://[::1"]))
def test_process_page_never_crashes(body: bytes, charset: str | None, url: str) -> None:
    out = process_batch([RawPage("fuzz", body, url, charset)], "heron")
    assert len(out) == 1
    got = out[0]
    if isinstance(got, Skip):
        assert got.reason and got.reason != "extraction-error", got
    else:
        assert isinstance(got["text"], str) and got["text"].strip() and isinstance(got["id"], str)


@pytest.fixture(scope="module")
def warc_bytes(shared_data: Path) -> bytes:
    return gzip.decompress((shared_data / "web/warc/valid/warcio__example.warc.gz").read_bytes())


@pytest.mark.data
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 10_000), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                   max_size=8), gz=st.booleans())
def test_mutated_warc_never_crashes(warc_bytes: bytes, tmp_path_factory: pytest.TempPathFactory, cut: int,
                                    flips: list[tuple[int, int]], gz: bool) -> None:
    data = bytearray(warc_bytes[: max(1, cut % (len(warc_bytes) + 1))])
    for pos, val in flips:
        if data:
            data[pos % len(data)] = val
    raw = gzip.compress(bytes(data)) if gz else bytes(data)
    p = tmp_path_factory.mktemp("fuzz") / ("x.warc.gz" if gz else "x.warc")
    p.write_bytes(raw)
    recs = list(read_warc(p))
    pages = [r for r in recs if isinstance(r, RawPage)]
    assert all(r.body for r in pages)
    for out in process_batch(pages, "heron"):
        assert not isinstance(out, Skip) or out.reason != "extraction-error", out
