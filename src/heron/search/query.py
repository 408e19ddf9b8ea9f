"""Immutable, index-free query AST.

The parser (``heron.search.parser``) turns a query string into these nodes; the
weight stage binds them to a searcher and its collection statistics. Terms here are
*raw* (un-analyzed) text: analysis happens when the query is bound to an index, because
the analyzer is a per-field index setting.

Shapes:

* ``TermQuery(text, field=None)`` — one word; ``field=None`` means all default text fields.
* ``PhraseQuery(text, field=None)`` — words that must appear consecutively.
* ``BoolQuery(should, must, must_not, filter)`` — ``should`` clauses are ranked OR;
  ``must`` clauses are required and scored; ``must_not`` excludes; ``filter`` restricts
  without scoring (e.g. ``site:``).
* ``SiteQuery(domain)`` — restrict to a domain or URL path prefix (Perplexity semantics).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TermQuery:
    """A single (un-analyzed) word, optionally restricted to one field."""

    text: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class PhraseQuery:
    """Words that must occur consecutively (after analysis) in one field."""

    text: str
    field: str | None = None


@dataclass(frozen=True, slots=True)
class SiteQuery:
    """Restrict results to a domain (and its subdomains) or a URL path prefix."""

    domain: str


@dataclass(frozen=True, slots=True)
class BoolQuery:
    """Boolean combination. An empty ``should`` with non-empty ``must`` is a pure AND."""

    should: tuple[Query, ...] = field(default_factory=tuple)
    must: tuple[Query, ...] = field(default_factory=tuple)
    must_not: tuple[Query, ...] = field(default_factory=tuple)
    filter: tuple[Query, ...] = field(default_factory=tuple)


Query = TermQuery | PhraseQuery | SiteQuery | BoolQuery
