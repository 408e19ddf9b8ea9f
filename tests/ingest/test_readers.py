from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from heron.errors import ConfigError
from heron.ingest.readers import SourceError, expand_sources, parse_mapping, read_source
from heron.ingest.records import RawDoc, RawPage, Skip

MALFORMED_REASONS = {
    "pywb__missing-status-text.warc": {"http-status:302"},
    "warcio__bad.arc": {"bad-http-header", "http-status:0"},
    "warcio__example-bad-non-chunked.warc.gz": {"unreadable-archive"},
    "warcio__example-space-in-target-uri.warc.gz": {"not-html"},
    "warcio__example-trunc.warc": {"bad-record-boundary"},
    "warcio__example-wget-bad-target-uri.warc.gz": {"not-html"},
    "warcio__example-wrong-chunks.warc.gz": {"truncated-record", "unreadable-archive"},
}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(MALFORMED_REASONS))
def test_every_malformed_sample_is_a_counted_skip(shared_data: Path, name: str) -> None:
    recs = list(read_source(shared_data / "web/warc/malformed" / name))
    reasons = Counter(r.reason for r in recs if isinstance(r, Skip))
    assert MALFORMED_REASONS[name] <= set(reasons), reasons
    for r in recs:
        if isinstance(r, RawPage):  # what does come through is whole HTML
            assert b"</html>" in r.body.lower()


@pytest.mark.data
def test_valid_warcs(shared_data: Path) -> None:
    files = expand_sources([shared_data / "web/warc/valid"])
    assert len(files) == 15 and not any(f.suffix == ".cdxj" for f in files)
    iana = list(read_source(shared_data / "web/warc/valid/pywb__iana.warc.gz"))
    pages = [r for r in iana if isinstance(r, RawPage)]
    # 20 text/html responses: 16 pages (200) and 4 redirects (302, skipped with that reason)
    assert len(iana) == 343 and len(pages) == 16
    assert sum(isinstance(r, Skip) and r.reason == "http-status:302" for r in iana) == 4
    assert all(p.url.startswith("http") and p.crawl_date and p.status == 200 for p in pages)
    arc = [r for r in read_source(shared_data / "web/warc/valid/pywb__example.arc.gz") if isinstance(r, RawPage)]
    assert len(arc) == 1 and arc[0].url == "http://example.com/" and arc[0].crawl_date.startswith("2014-")
    chunked = [r for r in read_source(shared_data / "web/warc/valid/warcio__example-iana.org-chunked.warc")
               if isinstance(r, RawPage)]
    assert len(chunked) == 1 and chunked[0].body.lstrip().lower().startswith(b"<!doctype html")


@pytest.mark.data
def test_html_files_and_beir(shared_data: Path) -> None:
    html_dir = shared_data / "web/html/article-extraction-benchmark/html"
    first = next(read_source(sorted(html_dir.iterdir())[0]))
    assert isinstance(first, RawPage) and b"<html" in first.body.lower()
    beir = read_source(shared_data / "beir/scifact")
    doc = next(beir)
    assert isinstance(doc, RawDoc) and doc.fields["_id"] and doc.fields["text"]


def test_jsonl_with_mapping(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl.gz"
    rows = [{"doc_id": "1", "body": "Herons wade.", "link": "https://a.example/1", "extra": 5},
            {"doc_id": "2", "raw": "<html><body><p>Herons wade in shallow water all year round.</p></body></html>"}]
    with gzip.open(p, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write("{broken\n[1, 2]\n\n")
    recs = list(read_source(p, parse_mapping(["id=doc_id", "text=body", "url=link", "html=raw"])))
    assert isinstance(recs[0], RawDoc) and recs[0].fields == {"id": "1", "text": "Herons wade.",
                                                            "url": "https://a.example/1", "extra": 5}
    assert isinstance(recs[1], RawDoc) and isinstance(recs[1].fields["__page__"], RawPage)
    assert [r.reason for r in recs[2:] if isinstance(r, Skip)] == ["bad-json", "bad-json"]
    assert recs[2].source.endswith(":3")


def test_parquet_with_mapping(tmp_path: Path) -> None:
    import datetime as dt

    p = tmp_path / "x.parquet"
    pq.write_table(pa.table({"key": ["a", "b"], "content": ["one text", "two text"],
                             "when": [dt.date(2020, 1, 2), dt.date(2021, 3, 4)]}), p)
    recs = list(read_source(p, parse_mapping(["id=key", "text=content", "date=when"])))
    assert [r.fields for r in recs if isinstance(r, RawDoc)] == [
        {"id": "a", "text": "one text", "date": "2020-01-02"}, {"id": "b", "text": "two text", "date": "2021-03-04"}]
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    assert [r.reason for r in read_source(bad) if isinstance(r, Skip)] == ["unreadable-file"]


def test_mapping_errors_and_unknown_sources(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TARGET=COLUMN"):
        parse_mapping(["text"])
    with pytest.raises(ConfigError, match="unknown target"):
        parse_mapping(["body=text"])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceError, match="unknown source type"):
        list(read_source(tmp_path / "notes.txt"))
    with pytest.raises(SourceError, match="not found"):
        list(read_source(tmp_path / "missing.warc"))


def test_truncated_gzip_html_is_a_skip(tmp_path: Path) -> None:
    p = tmp_path / "page.html.gz"
    p.write_bytes(gzip.compress(b"<html><body>" + b"x" * 5000 + b"</body></html>")[:60])
    assert [r.reason for r in read_source(p) if isinstance(r, Skip)] == ["unreadable-file"]
