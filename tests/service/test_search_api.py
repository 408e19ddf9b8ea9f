"""POST /search and /v1/search: Perplexity wire compatibility (docs/API.md) and extensions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from heron.service import ServiceConfig

from .support import DOCS, build_index


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [r["doc_id"] for r in results]


def ok(c: TestClient, body: dict[str, Any], path: str = "/search") -> dict[str, Any]:
    r = c.post(path, json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def err(c: TestClient, body: Any, status: int = 400, path: str = "/search") -> dict[str, Any]:
    r = c.post(path, json=body) if not isinstance(body, bytes) else c.post(path, content=body)
    assert r.status_code == status, r.text
    e: dict[str, Any] = r.json()["error"]
    assert set(e) >= {"message", "type", "code"} and e["code"] == status
    assert "Traceback" not in e["message"]
    return e


@pytest.mark.parametrize("path", ["/search", "/v1/search"])
def test_single_query_response_shape(client: TestClient, path: str) -> None:
    out = ok(client, {"query": "heron"}, path)
    assert set(out) == {"id", "results"}
    assert len(out["id"]) == 36
    assert ids(out["results"])[0] in ("a", "d")
    r = out["results"][0]
    assert set(r) >= {"title", "url", "snippet", "date", "last_updated", "score", "doc_id", "highlights"}
    assert isinstance(r["title"], str) and isinstance(r["url"], str) and isinstance(r["snippet"], str)
    a = next(x for x in out["results"] if x["doc_id"] == "a")
    assert a["date"] == "2020-05-01" and a["last_updated"] == "2024-01-10"
    d = next(x for x in out["results"] if x["doc_id"] == "d")
    assert d["last_updated"] is None
    for x in out["results"]:
        for s, e in x["highlights"]:
            assert x["snippet"][s:e].lower().startswith("heron")


def test_multi_query_gives_list_of_lists_in_order(client: TestClient) -> None:
    out = ok(client, {"query": ["cat", "heron", "zebra"], "max_results": 1})
    assert [ids(x) for x in out["results"]] == [["c"], [ids(out["results"][1])[0]], []]
    assert ids(out["results"][1])[0] in ("a", "d")


def test_max_results_and_offset(make_client: Callable[..., TestClient]) -> None:
    c = make_client(indexes={"t": build_index([{"id": str(i), "text": "heron " * (i + 1)} for i in range(30)])})
    assert len(ok(c, {"query": "heron"})["results"]) == 10
    top = ids(ok(c, {"query": "heron", "max_results": 20})["results"])
    assert len(top) == 20
    assert ids(ok(c, {"query": "heron", "max_results": 5, "offset": 5})["results"]) == top[5:10]


def test_server_time_only_when_asked(client: TestClient) -> None:
    out = ok(client, {"query": "heron", "display_server_time": True})
    t = dt.datetime.fromisoformat(out["server_time"])
    assert abs((dt.datetime.now(dt.UTC) - t).total_seconds()) < 60
    assert "server_time" not in ok(client, {"query": "heron", "display_server_time": False})


def test_unknown_and_null_fields_are_ignored(client: TestClient) -> None:
    out = ok(client, {"query": "heron", "some_future_field": {"x": 1}, "max_results": None, "country": "US",
                      "search_mode": "web", "search_type": "fast", "search_context_size": "low"})
    assert out["results"]


def test_domain_allow_and_deny(client: TestClient) -> None:
    assert set(ids(ok(client, {"query": "heron", "search_domain_filter": ["wikipedia.org"]})["results"])) == {"a"}
    deny = ids(ok(client, {"query": "heron", "search_domain_filter": ["-wikipedia.org"]})["results"])
    assert "a" not in deny and "d" in deny
    e = err(client, {"query": "heron", "search_domain_filter": ["a.com", "-b.com"]})
    assert e["param"] == "search_domain_filter" and "mixed" in e["message"]


def test_domain_limits(client: TestClient) -> None:
    e = err(client, {"query": "x", "search_domain_filter": [f"d{i}.com" for i in range(21)]})
    assert e["param"] == "search_domain_filter"
    e = err(client, {"query": "x", "search_domain_filter": ["a" * 254 + ".com"]})
    assert e["param"] == "search_domain_filter"


def test_language_filter(client: TestClient) -> None:
    out = ok(client, {"query": "heron graureiher reiher", "search_language_filter": ["de"]})
    assert ids(out["results"]) == ["e"]
    assert err(client, {"query": "x", "search_language_filter": ["english"]})["param"] == "search_language_filter"
    assert err(client, {"query": "x", "search_language_filter": ["en"] * 11})["param"] == "search_language_filter"


def test_date_filters_use_us_format(client: TestClient) -> None:
    out = ok(client, {"query": "heron", "search_after_date_filter": "1/1/2021"})
    assert ids(out["results"]) == ["d"]
    out = ok(client, {"query": "heron", "search_before_date_filter": "12/31/2020"})
    assert ids(out["results"]) == ["a"]
    out = ok(client, {"query": "heron", "last_updated_after_filter": "1/1/2024",
                      "last_updated_before_filter": "1/31/2024"})
    assert ids(out["results"]) == ["a"]
    e = err(client, {"query": "heron", "search_after_date_filter": "13/45/2024"})
    assert e["param"] == "search_after_date_filter" and "%m/%d/%Y" in e["message"]
    e = err(client, {"query": "heron", "search_after_date_filter": "1/1/2024", "search_before_date_filter": "1/1/2020"})
    assert "later than" in e["message"]


def test_recency_filter_is_relative_to_now(make_client: Callable[..., TestClient]) -> None:
    today = dt.datetime.now(dt.UTC).date()
    docs = [
        {"id": "new", "text": "heron news", "date": (today - dt.timedelta(days=2)).isoformat()},
        {"id": "old", "text": "heron history", "date": (today - dt.timedelta(days=200)).isoformat()},
        {"id": "undated", "text": "heron"},
    ]
    c = make_client(indexes={"t": build_index(docs)})
    assert ids(ok(c, {"query": "heron", "search_recency_filter": "week"})["results"]) == ["new"]
    assert set(ids(ok(c, {"query": "heron", "search_recency_filter": "year"})["results"])) == {"new", "old"}
    assert ids(ok(c, {"query": "heron", "search_recency_filter": "day"})["results"]) == []
    assert err(c, {"query": "heron", "search_recency_filter": "decade"})["param"] == "search_recency_filter"


def test_metadata_filters_extension(client: TestClient) -> None:
    assert set(ids(ok(client, {"query": "heron", "filters": {"topic": "places"}})["results"])) == {"d"}
    assert set(ids(ok(client, {"query": "heron", "filters": {"year": {"lte": 2020}}})["results"])) == {"a"}
    assert set(ids(ok(client, {"query": "heron", "filters": {"topic": ["birds", "places"]}})["results"])) == {"a", "d"}
    assert "undeclared" in err(client, {"query": "heron", "filters": {"nope": "x"}})["message"]
    assert err(client, {"query": "heron", "filters": {"year": {"between": 1}}})["param"] == "filters"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"query": 5}, "query"),
        ({"query": ""}, "query"),
        ({"query": ["a"] * 6}, "query"),
        ({"query": []}, "query"),
        ({"query": ["ok", 3]}, "query"),
        ({}, "query"),
        ({"query": "x", "max_results": 0}, "max_results"),
        ({"query": "x", "max_results": 21}, "max_results"),
        ({"query": "x", "max_results": "10"}, "max_results"),
        ({"query": "x", "max_results": 2.5}, "max_results"),
        ({"query": "x", "max_tokens": 0}, "max_tokens"),
        ({"query": "x", "max_tokens_per_page": 1_000_001}, "max_tokens_per_page"),
        ({"query": "x", "search_context_size": "huge"}, "search_context_size"),
        ({"query": "x", "display_server_time": "yes"}, "display_server_time"),
        ({"query": "x", "search_domain_filter": "nature.com"}, "search_domain_filter"),
        ({"query": "x", "offset": -1}, "offset"),
        ({"query": "x", "operator": "xor"}, "operator"),
    ],
)
def test_invalid_fields_are_400_and_named(client: TestClient, body: dict[str, Any], param: str) -> None:
    e = err(client, body)
    assert e["param"] == param, e
    assert e["message"].startswith(param)
    assert e["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [(b"{", "not valid JSON"), (b"", "empty"), (b"[1, 2]", "JSON object"), (b'"heron"', "JSON object"),
     (b"\xff\xfe", "not valid JSON")],
)
def test_malformed_bodies(client: TestClient, raw: bytes, needle: str) -> None:
    assert needle in err(client, raw)["message"]


def test_query_syntax_error_reports_position(client: TestClient) -> None:
    e = err(client, {"query": 'heron "unterminated'})
    assert e["param"] == "query" and e["position"] == 6
    assert "position 6" in e["message"]


def test_mode_extension(client: TestClient) -> None:
    assert ok(client, {"query": "heron", "mode": "lexical"})["results"]
    e = err(client, {"query": "heron", "mode": "fuzzy"})
    assert e["param"] == "mode" and "not yet supported" in e["message"]


def test_explain_extension(client: TestClient) -> None:
    r = ok(client, {"query": "heron", "explain": True, "max_results": 1})["results"][0]
    assert r["explanation"]["score"] == pytest.approx(r["score"])
    assert r["explanation"]["contributions"][0]["term"] == "heron"
    assert "explanation" not in ok(client, {"query": "heron", "max_results": 1})["results"][0]


def test_operator_extension(client: TestClient) -> None:
    assert set(ids(ok(client, {"query": "heron island", "operator": "and"})["results"])) == {"d"}


def test_token_budgets(make_client: Callable[..., TestClient]) -> None:
    long = " ".join(f"Sentence {i} mentions the heron once." for i in range(400))
    c = make_client(indexes={"t": build_index([{"id": str(i), "text": long} for i in range(5)])})
    res = ok(c, {"query": "heron", "max_tokens_per_page": 50})["results"]
    assert all(0 < len(r["snippet"]) <= 200 for r in res)
    res = ok(c, {"query": "heron", "max_tokens": 120, "max_tokens_per_page": 1000})["results"]
    assert sum(-(-len(r["snippet"]) // 4) for r in res) <= 120
    assert all(r["snippet"] for r in res)
    default = ok(c, {"query": "heron", "max_results": 1})["results"][0]["snippet"]
    low = ok(c, {"query": "heron", "max_results": 1, "search_context_size": "low"})["results"][0]["snippet"]
    assert len(low) <= 256 * 4 < len(default) <= 1024 * 4


def test_index_extension_and_unknown_index(make_client: Callable[..., TestClient]) -> None:
    other = build_index([{"id": "z", "text": "heron elsewhere"}])
    c = make_client(ServiceConfig(warmup=False), indexes={"t": build_index(), "other": other})
    assert ids(ok(c, {"query": "heron", "index": "other"})["results"]) == ["z"]
    assert "z" not in ids(ok(c, {"query": "heron"})["results"])  # first index is the default
    e = err(c, {"query": "heron", "index": "missing"}, 404)
    assert "missing" in e["message"] and e["type"] == "not_found_error"


def test_no_index_served_is_404(make_client: Callable[..., TestClient]) -> None:
    c = make_client(indexes={})
    assert "no index" in err(c, {"query": "heron"}, 404)["message"]


def test_retry_hint_headers(client: TestClient) -> None:
    r = client.post("/search", json={"query": 5})
    assert r.headers["x-should-retry"] == "false"


def test_documents_snippet_headings_survive(client: TestClient) -> None:
    r = ok(client, {"query": "migrate", "max_results": 1, "max_tokens_per_page": 30})["results"][0]
    assert r["doc_id"] in {d["id"] for d in DOCS}
    if r["doc_id"] == "a":
        assert r["snippet"].startswith("## Behaviour")


def test_deadline_is_504(make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from heron.service import fastpath as search_route

    c = make_client(ServiceConfig(warmup=False, request_timeout_s=0.05, inline_search_ms=0))

    def slow(*a: Any, **k: Any) -> Any:
        time.sleep(0.3)
        return []

    monkeypatch.setattr(search_route, "run_queries", slow)
    e = err(c, {"query": "heron"}, 504)
    assert "deadline" in e["message"]

