"""Domain filtering with Perplexity ``search_domain_filter`` semantics.

A filter is a list of entries, either all *allow* entries or all *deny* entries
(``"-example.com"``); mixing the two in one list is an error. Entry forms:

* ``"example.com"`` — the host and every subdomain (``a.b.example.com``), never a
  lookalike such as ``badexample.com``.
* ``"nature.com/articles"`` — as above, and the URL path must start with ``/articles``
  at a segment boundary (``/articles``, ``/articles/x``; not ``/articles2``).
* ``".gov"`` — TLD/suffix style: any host ending in ``.gov``. (A bare single label such
  as ``"gov"`` behaves the same; both forms match the suffix itself and any host under it.)

Entries are normalised: surrounding whitespace, a scheme (``https://``), a port, a
query/fragment, a leading ``www.``, trailing dots and trailing slashes are removed;
hosts are lowercased and IDNA-encoded (``bücher.de`` → ``xn--bcher-kva.de``). Path
prefixes are compared case-insensitively, like hosts.

Documents are matched on their derived ``domain`` (:func:`url_domain`) and, only when a
pattern carries a path prefix (:attr:`DomainFilter.needs_url`), on their URL path.
A deny filter passes every document that matches no deny pattern; an allow filter
passes documents that match at least one allow pattern; an empty filter passes all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from heron.errors import FilterError

__all__ = [
    "DomainFilter",
    "DomainPattern",
    "normalize_url_path",
    "parse_domain_filter",
    "parse_domain_pattern",
    "url_domain",
]

MAX_ENTRY_LENGTH = 253
"""Longest accepted filter entry (the DNS limit on a host name)."""

_HOST = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*\Z")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_HOSTLESS_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:(?!//|\d)")  # mailto:, urn:, data:
_FIX = (
    "use a bare domain such as 'example.com', a suffix such as '.gov', "
    "or a domain with a path prefix such as 'nature.com/articles'"
)


class _BadEntry(Exception):
    """Internal: why one entry is not a valid domain pattern."""


def _normalize_host(host: str) -> str:
    """Lowercase, IDNA-encode, validate and strip ``www.`` from a host; "" if invalid."""
    h = host.lower().rstrip(".")
    if not h:
        return ""
    if not h.isascii():
        try:
            h = h.encode("idna").decode("ascii").lower()
        except (UnicodeError, ValueError):
            return ""
    if len(h) > MAX_ENTRY_LENGTH or not _HOST.match(h):
        return ""
    if h.startswith("www.") and "." in h[4:]:
        h = h[4:]
    return h


def _split_url(url: str) -> tuple[str, str]:
    """Return ``(hostname, path)`` of a URL (scheme optional); ``("", "")`` if unparsable."""
    s = url.strip()
    if not s:
        return "", ""
    if not _SCHEME.match(s) and not s.startswith("//"):
        if _HOSTLESS_SCHEME.match(s):
            return "", ""
        s = "//" + s
    try:
        parts = urlsplit(s)
        host = parts.hostname or ""
    except ValueError:
        return "", ""
    return host, parts.path


def url_domain(url: str) -> str:
    """The derived ``domain`` of a document URL.

    The host lowercased and IDNA-encoded, without port, trailing dot or a leading
    ``www.``; ``""`` when there is no URL or its host is not a valid host name.
    IPv6 literals are returned as written (lowercased, without brackets).
    """
    host, _ = _split_url(url)
    if ":" in host:  # IPv6 literal: urlsplit already removed the brackets
        return host.lower()
    return _normalize_host(host)


def normalize_url_path(url: str) -> str:
    """``host/path`` form of a URL used for path-prefix matching.

    The host as :func:`url_domain` gives it, followed by the path as written (no
    scheme, query or fragment); ``""`` when the URL has no valid host.
    """
    host, path = _split_url(url)
    domain = host.lower() if ":" in host else _normalize_host(host)
    return domain + path if domain else ""


@dataclass(frozen=True)
class DomainPattern:
    """One normalised filter entry.

    ``host`` is lowercase and IDNA-encoded; ``path`` is ``""`` or a lowercase prefix
    such as ``"/articles"`` (leading slash, no trailing slash); ``tld`` records a
    suffix entry written with a leading dot (``".gov"`` → ``host="gov", tld=True``).
    """

    host: str
    path: str = ""
    tld: bool = False

    def __str__(self) -> str:
        """The canonical entry text; parsing it gives this pattern back."""
        return ("." if self.tld else "") + self.host + self.path

    def matches_host(self, domain: str) -> bool:
        """Whether ``domain`` (already normalised, lowercase) is the host or under it."""
        return domain == self.host or domain.endswith("." + self.host)

    def matches(self, domain: str, path: str | None = None) -> bool:
        """Whether a document with this ``domain`` and lowercase URL ``path`` matches.

        A pattern with a path prefix never matches when ``path`` is ``None`` (unknown).
        """
        if not self.matches_host(domain):
            return False
        if not self.path:
            return True
        if path is None:
            return False
        return path == self.path or path.startswith(self.path + "/")


def _parse_pattern(entry: str) -> DomainPattern:
    """Parse one entry (without a deny ``-``); raises :class:`_BadEntry` with a reason."""
    s = entry.strip()
    if not s:
        raise _BadEntry("is empty")
    if len(s) > MAX_ENTRY_LENGTH:
        raise _BadEntry(f"is {len(s)} characters long; the limit is {MAX_ENTRY_LENGTH}")
    if any(c.isspace() for c in s):
        raise _BadEntry("contains whitespace")
    m = _SCHEME.match(s)
    if m:
        s = s[m.end() :]
    elif s.startswith("//"):
        s = s[2:]
    for sep in "?#":
        s = s.split(sep, 1)[0]
    host, slash, rest = s.partition("/")
    tld = host.startswith(".")
    if tld:
        host = host[1:]
    if "@" in host:
        raise _BadEntry("contains user credentials ('@')")
    if ":" in host:
        host, _, port = host.rpartition(":")
        if not port.isdigit():
            raise _BadEntry("has an invalid port or is not a host name")
    normalized = _normalize_host(host)
    if not normalized:
        raise _BadEntry("is not a valid host name")
    path = ("/" + rest).rstrip("/").lower() if slash else ""
    return DomainPattern(normalized, path, tld)


def parse_domain_pattern(entry: str) -> DomainPattern:
    """Parse one allow-style entry (e.g. a ``site:`` value); raises :class:`FilterError`."""
    try:
        return _parse_pattern(entry)
    except _BadEntry as exc:
        raise FilterError(f"invalid domain {entry!r}: it {exc}; {_FIX}") from None


@dataclass(frozen=True)
class DomainFilter:
    """A parsed ``search_domain_filter``: allow patterns, deny patterns, or neither."""

    allow: tuple[DomainPattern, ...] = ()
    deny: tuple[DomainPattern, ...] = ()

    @classmethod
    def from_site(cls, domain: str) -> DomainFilter:
        """An allow filter for one ``site:`` value (e.g. a ``SiteQuery.domain``)."""
        return cls(allow=(parse_domain_pattern(domain),))

    @property
    def is_empty(self) -> bool:
        """True when the filter passes every document."""
        return not self.allow and not self.deny

    @property
    def needs_url(self) -> bool:
        """True when any pattern has a path prefix, so matching needs the document URL."""
        return any(p.path for p in self.allow) or any(p.path for p in self.deny)

    def matches(self, domain: str, url: str = "") -> bool:
        """Whether a document with derived ``domain`` (and ``url``) passes the filter.

        ``domain`` should come from :func:`url_domain`; when it is empty it is derived
        from ``url``. ``url`` is only consulted for path-prefix patterns; without it
        those patterns match nothing (an allow filter rejects, a deny filter passes).
        """
        if not self.allow and not self.deny:
            return True
        domain = domain.lower() if domain else url_domain(url)
        path: str | None = None
        if url and self.needs_url:
            path = _split_url(url)[1].lower()
        if any(p.matches(domain, path) for p in self.deny):
            return False
        if self.allow:
            return any(p.matches(domain, path) for p in self.allow)
        return True


def parse_domain_filter(entries: Sequence[str], *, max_entries: int = 20) -> DomainFilter:
    """Parse a ``search_domain_filter`` list; raises :class:`FilterError`.

    Errors name the entry and its 0-based index: a non-string or empty entry, one over
    253 characters, one that is not a host name (spaces, bad characters), more than
    ``max_entries`` entries, or allow and deny (``-``) entries mixed in one list.
    """
    if isinstance(entries, str):
        raise FilterError(
            f"search_domain_filter must be a list of strings, got the string {entries!r}; wrap it in a list"
        )
    if len(entries) > max_entries:
        raise FilterError(
            f"search_domain_filter has {len(entries)} entries; at most {max_entries} are allowed "
            f"(entry {max_entries} ({entries[max_entries]!r}) is the first over the limit): remove entries"
        )
    allow: list[DomainPattern] = []
    deny: list[DomainPattern] = []
    first_mode: tuple[int, str, bool] | None = None  # (index, entry, is_deny) of entry 0
    for index, entry in enumerate(entries):
        where = f"search_domain_filter entry {index} ({entry!r})"
        if not isinstance(entry, str):
            raise FilterError(f"{where} is a {type(entry).__name__}, not a string; give domains as strings")
        text = entry.strip()
        is_deny = text.startswith("-")
        if is_deny:
            text = text[1:]
        if first_mode is None:
            first_mode = (index, entry, is_deny)
        elif first_mode[2] != is_deny:
            kinds = ("an allow", "a deny")
            raise FilterError(
                f"{where} is {kinds[is_deny]} entry but entry {first_mode[0]} ({first_mode[1]!r}) is "
                f"{kinds[first_mode[2]]} entry; allow and deny entries cannot be mixed: use either "
                "only domains to allow or only '-'-prefixed domains to deny"
            )
        try:
            pattern = _parse_pattern(text)
        except _BadEntry as exc:
            raise FilterError(f"{where} {exc}; {_FIX}") from None
        target = deny if is_deny else allow
        if pattern not in target:
            target.append(pattern)
    return DomainFilter(allow=tuple(allow), deny=tuple(deny))
