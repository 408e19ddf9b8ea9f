"""URL normalisation and registrable domains (public suffix list bundled with ``tldextract``).

``normalize_url`` makes equal pages compare equal: scheme and host lowercased, IDNA host,
default ports dropped, empty path → ``/``, dot segments resolved, fragment dropped, tracking
parameters (``utm_*``, ``fbclid``, ``gclid``, …) removed, the remaining query kept in order.
``registrable_domain`` is the domain a site owner registered (``news.bbc.co.uk`` →
``bbc.co.uk``), from the public suffix list snapshot shipped inside tldextract — never fetched.
"""

from __future__ import annotations

import functools
import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(
    r"^(?:utm_\w*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|_ga|_gl|igshid|"
    r"ref_src|ref_url|cmpid|ncid|sr_share|spm|share|__twitter_impression)$",
    re.I,
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"


def normalize_url(url: str) -> str:
    """Canonical form of an http(s) URL (``""`` for an empty or unparsable one)."""
    url = url.strip().strip("<>").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return ""
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = parts.path or "/"
    if "." in path:
        trailing = path.endswith("/")
        path = posixpath.normpath(path)
        path = "/" if path in (".", "//") else path
        if trailing and not path.endswith("/"):
            path += "/"
    path = quote(unquote(path), safe=_SAFE_PATH)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


@functools.lru_cache(maxsize=1)
def _extractor() -> object:
    import tldextract

    # suffix_list_urls=() and no cache dir: the snapshot bundled in the package, no network
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registrable_domain(host_or_url: str) -> str:
    """``example.co.uk`` for ``https://www.news.example.co.uk/x``; the host itself for IPs/unknown."""
    s = host_or_url.strip()
    if "://" not in s:
        s = "http://" + s
    try:
        host = (urlsplit(s).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""
    if not host:
        return ""
    ext = _extractor()(host)  # type: ignore[operator]
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return host
