"""Unicode edge cases in queries and documents: a clear 4xx or a normal answer, never a 5xx,
and a rejected document is not written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("query", ["グレー heron", "🐦 heron 🐦", "héron\u0301", "\u202eheron", "heron\u0000cat",
                                   "\ufeffheron", "ﬁsh", "Ⅻ"])
def test_odd_but_valid_queries_answer(client: TestClient, query: str) -> None:
    r = client.post("/search", json={"query": query})
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["results"], list)


@pytest.mark.parametrize("raw", [
    b'{"query": "\\ud800"}',            # a lone surrogate escape
    b'{"query": "a\\udc00b"}',
    b'{"query": "\xff\xfe heron"}',      # not UTF-8
    b'{"query": "\xc3"}',                # truncated UTF-8 sequence
])
def test_broken_text_in_queries_is_4xx(client: TestClient, raw: bytes) -> None:
    r = client.post("/search", content=raw, headers=JSON)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["message"]


def test_broken_text_in_documents_is_not_written(client: TestClient) -> None:
    before = client.get("/v1/indexes/t").json()["doc_count"]
    bulk = (b'{"id": "u1", "title": "ok", "text": "fine \xf0\x9f\x90\xa6 text"}\n'
            b'{"id": "u2", "title": "bad", "text": "lone \\ud800 surrogate"}\n'
            b'{"id": "u3", "title": "bad", "text": "not utf8 \xff"}\n')
    r = client.post("/v1/indexes/t/documents?refresh=true", content=bulk,
                    headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 1 and out["failed"] == 2 and [e["line"] for e in out["errors"]] == [2, 3]
    assert client.get("/v1/indexes/t").json()["doc_count"] == before + 1
    assert client.get("/v1/indexes/t/documents/u2").status_code == 404
    r = client.put("/v1/indexes/t/documents/u4", content=b'{"title": "x", "text": "\\udfff"}', headers=JSON)
    assert 400 <= r.status_code < 500, r.text
