"""Query-biased, passage-level snippets: pure functions over plain text and tokens.

::

    from heron.analysis import get_analyzer
    from heron.snippets import build_snippet, query_term_weights

    a = get_analyzer("english_search")
    snip = build_snippet(text, a, query_term_weights(a.terms(query)), max_tokens=256)
    snip.text, snip.highlights           # "...", ((12, 17), ...)

Stages, one module each (whoosh's highlight design): :mod:`~heron.snippets.fragmenter`
(text → passages), :mod:`~heron.snippets.scoring` (rank passages),
:mod:`~heron.snippets.fast` (the same scores
without a Python step per word: what the service runs), :mod:`~heron.snippets.render` (select under a budget, assemble, highlight ranges, HTML at
the edge), :mod:`~heron.snippets.tokens` (the documented ~4 characters/token counter).
"""

from __future__ import annotations

from collections.abc import Iterable

from heron.snippets.fast import ChunkMatcher, score_text_fast
from heron.snippets.fragmenter import DEFAULT_PASSAGE_CHARS, Passage, split_passages
from heron.snippets.render import EMPTY, PassageScorer, Snippet, build_snippet, to_html
from heron.snippets.scoring import ScoredPassage, TextAnalyzer, score_passages
from heron.snippets.tokens import CHARS_PER_TOKEN, chars_for_tokens, count_tokens, share_budget


def query_term_weights(terms: Iterable[str]) -> dict[str, float]:
    """Equal weight 1.0 for each distinct analyzed query term."""
    return dict.fromkeys(terms, 1.0)


__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_PASSAGE_CHARS",
    "EMPTY",
    "ChunkMatcher",
    "Passage",
    "PassageScorer",
    "ScoredPassage",
    "Snippet",
    "TextAnalyzer",
    "build_snippet",
    "chars_for_tokens",
    "count_tokens",
    "query_term_weights",
    "score_passages",
    "score_text_fast",
    "share_budget",
    "split_passages",
    "to_html",
]
