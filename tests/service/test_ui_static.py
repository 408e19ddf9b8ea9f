"""The web UI's pages and assets are served by the app itself (no CDN, strict CSP)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from heron.service.routes.ui import STATIC_DIR

from .support import KEYS, auth, keyed_config


def test_pages_served_with_csp(client: TestClient) -> None:
    for path, title in (("/", "heron search"), ("/admin", "heron admin")):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert f"<title>{title}</title>" in r.text
        assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_assets_are_local_and_served(client: TestClient) -> None:
    referenced: set[str] = set()
    for page in ("index.html", "admin.html"):
        html = (STATIC_DIR / page).read_text()
        assert "http://" not in html and "https://" not in html  # nothing from elsewhere
        referenced |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    assert {"/static/heron.css", "/static/common.js", "/static/search.js", "/static/admin.js"} <= referenced
    for path in referenced:
        r = client.get(path)
        assert r.status_code == 200 and r.content, path
    for js in STATIC_DIR.glob("*.js"):
        src = js.read_text()
        assert "innerHTML" not in src, f"{js.name}: build DOM nodes (textContent) instead of HTML strings"
        assert not re.search(r"fetch\(\s*[\"']https?://", src)


def test_pages_not_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/admin" not in paths and "/v1/info" in paths


def test_ui_and_info_need_no_key_but_search_does(make_client: Callable[..., TestClient]) -> None:
    """The pages load without a key (the user pastes one into the page); the data behind them
    still needs it."""
    c = make_client(keyed_config())
    for path in ("/", "/admin", "/static/search.js", "/v1/info", "/healthz", "/readyz", "/metrics"):
        assert c.get(path).status_code == 200, path
    info = c.get("/v1/info").json()
    assert info["auth_required"] is True
    assert not any(k in c.get("/v1/info").text for k in KEYS.values())
    assert c.post("/v1/search", json={"query": "heron"}).status_code == 401
    assert c.post("/v1/search", json={"query": "heron"}, headers=auth("search")).status_code == 200
