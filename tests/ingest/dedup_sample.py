"""A labelled near-duplicate sample built from real pages (the article-extraction benchmark's
ground-truth texts): light edits of a page are its near-duplicates; heavy rewrites and other
pages are not."""

from __future__ import annotations

import random

LIGHT = ("typos", "drop_paragraph", "boilerplate", "typos+boilerplate", "swap_paragraphs")


def _paras(text: str) -> list[str]:
    return [p for p in text.split("\n") if p.strip()]


def light_edit(text: str, kind: str, rng: random.Random) -> str:
    paras = _paras(text)
    if "typos" in kind:  # change ~3% of the words
        words = " ".join(paras).split(" ")
        for i in rng.sample(range(len(words)), max(1, len(words) // 33)):
            words[i] = words[i][::-1] + "x"
        paras = [" ".join(words)]
    if kind == "drop_paragraph" and len(paras) >= 4:
        paras.pop(rng.randrange(1, len(paras)))
    if "boilerplate" in kind:
        paras = ["Updated: 12 March 2020", *paras, "Subscribe to our newsletter for more stories like this."]
    if kind == "swap_paragraphs" and len(paras) >= 3:
        i = rng.randrange(len(paras) - 1)
        paras[i], paras[i + 1] = paras[i + 1], paras[i]
    return "\n".join(paras)


def heavy_edit(text: str, rng: random.Random, other: str) -> str:
    """A third of this page followed by a third of another one: related to both, a near-duplicate of neither."""
    words, more = text.split(), other.split()
    start = rng.randrange(max(1, len(words) * 2 // 3))
    return " ".join(words[start : start + len(words) // 3] + more[: len(more) // 3])


def build(texts: dict[str, str], seed: int = 7) -> tuple[list[tuple[str, str, str | None]], dict[str, str]]:
    """(copy id, copy text, expected canonical or None) for each derived copy; originals by id."""
    rng = random.Random(seed)
    ids = sorted(k for k, t in texts.items() if len(t.split()) >= 150)
    copies: list[tuple[str, str, str | None]] = []
    for n, k in enumerate(ids):
        kind = LIGHT[n % len(LIGHT)]
        copies.append((f"{k}~{kind}", light_edit(texts[k], kind, rng), k))
        if n % 2 == 0:
            other = texts[ids[(n + 7) % len(ids)]]
            copies.append((f"{k}~heavy", heavy_edit(texts[k], rng, other), None))
    return copies, {k: texts[k] for k in ids}
