"""API-key authentication: ``Authorization: Bearer <key>``, scopes search/write/admin.

* Keys come from the configuration only; a key is never logged or echoed.
* The presented token is compared with **every** configured key with
  :func:`hmac.compare_digest` (no early exit), so timing reveals neither a key nor which
  one matched.
* With no key configured the service is open: every request is allowed with all scopes
  (the Perplexity SDK insists on sending some key; any value is accepted).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from heron.service.config import SCOPES, ApiKey


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's configured name (``anonymous`` when open) and its scopes."""

    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


ANONYMOUS = Principal("anonymous", frozenset(SCOPES))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def authenticate(authorization: str | None, keys: tuple[ApiKey, ...]) -> Principal | None:
    """The principal for the header, ``ANONYMOUS`` when no keys are configured, else None."""
    if not keys:
        return ANONYMOUS
    token = bearer_token(authorization)
    if token is None:
        return None
    presented = token.encode("utf-8", "surrogateescape")
    found: ApiKey | None = None
    for k in keys:
        if hmac.compare_digest(presented, k.key.encode("utf-8")):
            found = k
    return None if found is None else Principal(found.name, found.scopes)
