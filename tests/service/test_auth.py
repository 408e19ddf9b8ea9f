"""Auth matrix: every route × every scope, missing/bad keys, open mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from heron.service.auth import authenticate, bearer_token
from heron.service.config import ApiKey

from .support import KEYS, auth, keyed_config

# (method, path, body, needed scope)
ROUTES: list[tuple[str, str, Any, str]] = [
    ("POST", "/search", {"query": "heron"}, "search"),
    ("POST", "/v1/search", {"query": "heron"}, "search"),
    ("GET", "/v1/indexes", None, "search"),
    ("GET", "/v1/indexes/t", None, "search"),
    ("GET", "/v1/indexes/t/documents/a", None, "search"),
    ("POST", "/v1/indexes/t/documents", b'{"id": "z", "text": "x"}\n', "write"),
    ("PUT", "/v1/indexes/t/documents/z", {"text": "x"}, "write"),
    ("DELETE", "/v1/indexes/t/documents/a", None, "write"),
    ("POST", "/v1/indexes/t/documents/delete", {"search_domain_filter": ["nowhere.example"]}, "write"),
    ("POST", "/v1/indexes/t/refresh", None, "write"),
    ("POST", "/v1/indexes", {"name": "fresh"}, "admin"),
    ("DELETE", "/v1/indexes/t", None, "admin"),
]
ALLOWED = {"search": {"search"}, "write": {"write"}, "admin": {"search", "write", "admin"}}


def call(c: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    if isinstance(body, bytes):
        return c.request(method, path, content=body, headers=headers)
    return c.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
@pytest.mark.parametrize("scope", sorted(KEYS))
def test_scope_matrix(make_client: Callable[..., TestClient], tmp_path: Path, route: tuple[str, str, Any, str],
                      scope: str) -> None:
    method, path, body, needed = route
    c = make_client(keyed_config(data_dir=str(tmp_path)))
    r = call(c, method, path, body, auth(scope))
    if needed in ALLOWED[scope]:
        assert r.status_code < 400, r.text
    else:
        assert r.status_code == 403, r.text
        assert r.json()["error"]["type"] == "permission_error"
        assert repr(needed) in r.json()["error"]["message"]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
@pytest.mark.parametrize("header", [None, "Bearer wrong-key-123", "Basic abc", "Bearer", KEYS["admin"]])
def test_missing_or_bad_key_is_401(make_client: Callable[..., TestClient], route: tuple[str, str, Any, str],
                                   header: str | None) -> None:
    c = make_client(keyed_config())
    method, path, body, _ = route
    r = call(c, method, path, body, {"Authorization": header} if header else {})
    assert r.status_code == 401
    e = r.json()["error"]
    assert e["type"] == "authentication_error" and r.headers["www-authenticate"] == "Bearer"
    for key in KEYS.values():
        assert key not in r.text


def test_auth_comes_before_body_validation(make_client: Callable[..., TestClient]) -> None:
    c = make_client(keyed_config())
    assert c.post("/search", content=b"{broken").status_code == 401


def test_health_and_metrics_need_no_key(make_client: Callable[..., TestClient]) -> None:
    c = make_client(keyed_config())
    for path in ("/healthz", "/readyz", "/metrics", "/v1/info", "/", "/admin", "/openapi.json"):
        assert c.get(path).status_code == 200, path


def test_open_mode_accepts_any_or_no_key(client: TestClient) -> None:
    assert client.post("/search", json={"query": "heron"}).status_code == 200
    assert client.post("/search", json={"query": "heron"}, headers={"Authorization": "Bearer x"}).status_code == 200


def test_authenticate_unit() -> None:
    keys = (ApiKey("a", "secret-aaaa", frozenset({"search"})), ApiKey("b", "secret-bbbb", frozenset({"admin"})))
    assert authenticate("Bearer secret-bbbb", keys).name == "b"  # type: ignore[union-attr]
    assert authenticate("bearer  secret-aaaa ", keys).name == "a"  # type: ignore[union-attr]
    assert authenticate("Bearer secret-aaa", keys) is None
    assert authenticate("Bearer sécret", keys) is None
    assert authenticate(None, ()) is not None
    assert bearer_token("Token x") is None


def test_api_key_repr_hides_secret() -> None:
    assert "secret" not in repr(ApiKey("a", "secret-aaaa"))


# snapshots and aliases: (method, path, body, needed scope), in an order that works for the admin key
ADMIN_ROUTES: list[tuple[str, str, Any, str]] = [
    ("PUT", "/v1/aliases/live", {"index": "disk"}, "admin"),
    ("GET", "/v1/aliases", None, "search"),
    ("POST", "/v1/snapshots", {"index": "disk", "snapshot": "s2"}, "admin"),
    ("GET", "/v1/snapshots", None, "admin"),
    ("POST", "/v1/snapshots/s1/restore", {"index": "restored"}, "admin"),
    ("DELETE", "/v1/snapshots/s1", None, "admin"),
    ("DELETE", "/v1/aliases/live", None, "admin"),
]


@pytest.mark.parametrize("scope", sorted(KEYS))
def test_scope_matrix_of_snapshot_and_alias_routes(make_client: Callable[..., TestClient], tmp_path: Path,
                                                   scope: str) -> None:
    """The admin routes that need an on-disk index and a snapshot repository, each called with
    each key: allowed → success, otherwise 403 (and nothing changes)."""
    c = make_client(keyed_config(data_dir=str(tmp_path / "data"), snapshot_repo=str(tmp_path / "repo")), {})
    admin = auth("admin")
    assert c.post("/v1/indexes", json={"name": "disk"}, headers=admin).status_code == 201
    assert c.post("/v1/indexes/disk/documents?refresh=true", content=b'{"id": "a", "text": "heron"}\n',
                  headers=admin).status_code == 200
    assert c.post("/v1/snapshots", json={"index": "disk", "snapshot": "s1"}, headers=admin).status_code == 201
    for method, path, body, needed in ADMIN_ROUTES:
        r = call(c, method, path, body, auth(scope))
        if needed in ALLOWED[scope]:
            assert r.status_code < 400, (method, path, r.text)
        else:
            assert r.status_code == 403, (method, path, r.text)
            assert repr(needed) in r.json()["error"]["message"]
    snapshots = {s["name"] for s in c.get("/v1/snapshots", headers=admin).json()["snapshots"]}
    assert snapshots == ({"s2"} if scope == "admin" else {"s1"})
