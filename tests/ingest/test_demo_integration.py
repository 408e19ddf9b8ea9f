"""The demo of issue 6: ingest the shared WARC + HTML samples, search them through the
Perplexity-compatible API with real titles, URLs, dates and domain filters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import heron
from heron.cli.main import cli
from heron.service import ServiceConfig, create_app

pytestmark = pytest.mark.data


def _search(c: TestClient, **body: Any) -> list[dict[str, Any]]:
    r = c.post("/search", json=body)
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def test_report_counts_every_kind_of_skip(web_index: tuple[Path, str]) -> None:
    _, output = web_index
    assert "ingested" in output and "skipped" in output
    for reason in ("unreadable-archive", "truncated-record", "bad-record-boundary", "not-html", "http-status:302"):
        assert reason in output


def test_search_through_the_api(web_index: tuple[Path, str]) -> None:
    path, _ = web_index
    with heron.Index.open(path) as idx:
        assert idx.stats().doc_count > 190
        app = create_app(ServiceConfig(warmup=False), {"web": idx})
        with TestClient(app) as c:
            hits = _search(c, query="WeWork layoffs attorney general", max_results=5)
            assert hits, "no hits"
            top = hits[0]
            assert "WeWork" in top["title"] and top["url"].startswith("https://")
            assert top["date"] and top["date"].startswith("2019-11")
            assert top["snippet"]
            # domain allow-list: only iana.org pages (from the WARC captures)
            iana = _search(c, query="domain names root zone", max_results=10, search_domain_filter=["iana.org"])
            assert iana and all("iana.org" in h["url"] for h in iana)
            assert any("Internet Assigned Numbers Authority" in h["title"] or "IANA" in h["title"] for h in iana)
            # deny-list removes them
            deny = _search(c, query="domain names root zone", max_results=10, search_domain_filter=["-iana.org"])
            assert all("iana.org" not in h["url"] for h in deny)
            # date filter: nothing published before 2019 among the WeWork hits
            recent = _search(c, query="WeWork", max_results=10, search_after_date_filter="11/01/2019")
            assert recent and all(h["date"] is None or h["date"] >= "2019-11-01" for h in recent)


def test_documents_carry_metadata(web_index: tuple[Path, str]) -> None:
    path, _ = web_index
    with heron.Index.open(path) as idx:
        doc = idx.search("WeWork NYAG investigating", k=1)[0]
        stored = idx.get(doc.id)
        assert stored is not None
        md = stored["metadata"]
        assert md["registrable_domain"] and md["registrable_domain"] in stored["url"]
        assert md["outlinks"] > 0 and isinstance(md["content_hash"], str)
        assert stored["language"] == "en"


def test_resume_skips_committed_sources(web_index: tuple[Path, str], web_data: Path, tmp_path: Path) -> None:
    path, _ = web_index
    report = tmp_path / "r.json"
    res = CliRunner().invoke(cli, ["ingest", str(web_data / "warc"), "--index", str(path), "--no-progress",
                                   "--report-json", str(report)])
    assert res.exit_code == 0, res.output
    r = json.loads(report.read_text())
    assert r["sources"] == 0 and r["sources_already_done"] == 22 and r["written"] == 0


def test_bulk_api_target(web_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--index URL posts NDJSON to the server's bulk endpoint (here: the app behind a TestClient)."""
    import urllib.request

    from heron.ingest.pipeline import BulkSink

    idx = heron.Index.create(tmp_path / "srv")
    app = create_app(ServiceConfig(warmup=False), {"web": idx})
    with TestClient(app) as c:

        class _Resp:
            def __init__(self, body: bytes) -> None:
                self.body = body

            def read(self) -> bytes:
                return self.body

            def __enter__(self) -> _Resp:
                return self

            def __exit__(self, *a: object) -> None:
                return None

        def fake_urlopen(req: urllib.request.Request, timeout: float = 0) -> _Resp:
            url = req.full_url.replace("http://heron.test", "")
            r = c.post(url, content=req.data, headers=dict(req.header_items()))
            assert r.status_code == 200, r.text
            return _Resp(r.content)

        monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
        sink = BulkSink("http://heron.test/v1/indexes/web", batch_docs=5)
        from heron.ingest import IngestOptions, run_ingest

        rep = run_ingest([web_data / "warc" / "valid" / "pywb__iana.warc.gz"], sink, IngestOptions())
        assert rep.written >= 15 and sink.failed == 0
        hits = c.post("/search", json={"query": "IANA", "max_results": 3}).json()["results"]
        assert hits and "iana.org" in hits[0]["url"]


def test_worker_processes_give_the_same_documents(web_data: Path, tmp_path: Path) -> None:
    """Two forked workers (warmed up in the parent) and the in-process path produce the same documents."""
    import shutil

    from heron.config import IndexSettings
    from heron.ingest import IngestOptions, run_ingest

    src = tmp_path / "src"
    src.mkdir()
    for f in sorted((web_data / "html/article-extraction-benchmark/html").iterdir())[:40]:
        shutil.copy(f, src / f.name)
    shutil.copy(web_data / "warc/valid/pywb__iana.warc.gz", src)

    class ListSink:
        settings = IndexSettings()

        def __init__(self) -> None:
            self.docs: list[dict[str, Any]] = []

        def add(self, doc: heron.Document) -> None:
            self.docs.append(doc.to_stored())

        def commit(self) -> None:
            return None

        def close(self) -> None:
            return None

    one, two = ListSink(), ListSink()
    r1 = run_ingest([src], one, IngestOptions(workers=1))
    r2 = run_ingest([src], two, IngestOptions(workers=2))
    assert r1.written == r2.written > 45 and r1.skipped == r2.skipped
    assert one.docs == two.docs
