"""Token counting for content budgets (``max_tokens``, ``max_tokens_per_page``).

heron does not ship a model tokenizer, so budgets are counted with a documented
approximation: **one token per 4 characters** (rounded up), the usual rule of thumb for
English text under BPE tokenizers (OpenAI's tiktoken averages ~4 chars/token on English
prose). It over-counts code-free English slightly and under-counts CJK text (about one
token per character there), so treat budgets as approximate, like Perplexity's own.
"""

from __future__ import annotations

#: characters per token of the approximation
CHARS_PER_TOKEN = 4


def count_tokens(text: str) -> int:
    """Approximate token count of ``text``: ``ceil(len(text) / 4)``."""
    return -(-len(text) // CHARS_PER_TOKEN)


def chars_for_tokens(tokens: int) -> int:
    """The most characters that still count as at most ``tokens`` tokens."""
    return max(0, tokens) * CHARS_PER_TOKEN


def share_budget(total: int, per_item: int, remaining_items: int) -> int:
    """Tokens to allot to the next item: its fair share of ``total``, capped at ``per_item``.

    Items are served in rank order and each one's unused allotment flows on to the later
    ones, so short documents leave room for long ones (water filling).
    """
    if remaining_items <= 0 or total <= 0:
        return 0
    return max(0, min(per_item, total // remaining_items))
