#!/usr/bin/env python3
"""Regenerate ``data/demo/corpus.jsonl.gz`` from the shared English Wikipedia passage sample.

Usage (from the repository root; stdlib only)::

    python data/demo/make_demo_corpus.py                      # reads ../shared/data/large/...
    python data/demo/make_demo_corpus.py --source FILE --out data/demo/corpus.jsonl.gz

Selection (deterministic: same source file → byte-identical output):

1. *Topic passages*: every passage that mentions animal/bird words together with
   ``migrat*`` / ``navigat*`` (so the demo query "how do birds navigate during migration"
   has relevant passages to find), plus the first passage of each such article.
2. *Random fill*: the remaining article ids are shuffled with ``random.Random(SEED)`` and
   the first ``--per-article`` passages of each are taken until ``--size`` passages in all.

Text clean-up: HTML entities left by WikiExtractor are unescaped, ``<ref>...</ref>`` and other
tags removed, whitespace collapsed.

Output: JSON lines ``{"id", "title", "text", "url", "language": "en"}`` in source-file
order, gzip'ed with a zero timestamp and no embedded file name.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import random
import re
import sys
from pathlib import Path
from urllib.parse import quote

SEED = 20240601
DEFAULT_SIZE = 4000
DEFAULT_PER_ARTICLE = 2

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "large" / "enwiki-sample-passages.jsonl.gz"
DEFAULT_OUT = REPO / "data" / "demo" / "corpus.jsonl.gz"

_ANIMAL = re.compile(
    r"\b(birds?|avian|ornitholog\w*|waterfowl|geese|ducks?|storks?|swallows?|warblers?|fish|salmon|"
    r"eels?|whales?|turtles?|butterfl\w*|animals?|species|squid)\b",
    re.IGNORECASE,
)
_MOVE = re.compile(r"\b(migrat\w*|navigat\w*)", re.IGNORECASE)
_REF = re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Undo the HTML escaping WikiExtractor left (``&amp;``, ``&lt;ref&gt;``), drop tags and ``<ref>``s."""
    t = html.unescape(text)
    t = _REF.sub("", t)
    t = _TAG.sub(" ", t)
    return _SPACE.sub(" ", t).strip()


def wikipedia_url(title: str) -> str:
    """``https://en.wikipedia.org/wiki/<Title_with_underscores>`` (percent-encoded like Wikipedia)."""
    return "https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe="_(),'!:;*@$-.~/")


def article_of(passage_id: str) -> str:
    return passage_id.rsplit("-", 1)[0]


def window_of(passage_id: str) -> int:
    return int(passage_id.rsplit("-", 1)[1])


def select(records: list[dict[str, object]], size: int, per_article: int, seed: int) -> set[str]:
    """Ids of the chosen passages."""
    chosen: set[str] = set()
    topical_articles: set[str] = set()
    for r in records:
        text = f"{r['title']} {r['text']}"
        if _ANIMAL.search(text) and _MOVE.search(text):
            chosen.add(str(r["_id"]))
            topical_articles.add(article_of(str(r["_id"])))
    by_article: dict[str, list[str]] = {}
    for r in records:
        by_article.setdefault(article_of(str(r["_id"])), []).append(str(r["_id"]))
    for a in topical_articles:
        chosen.add(min(by_article[a], key=window_of))
    rest = sorted(a for a in by_article if a not in topical_articles)
    random.Random(seed).shuffle(rest)
    for a in rest:
        if len(chosen) >= size:
            break
        ids = sorted(by_article[a], key=window_of)[:per_article]
        chosen.update(ids[: size - len(chosen)])
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--size", type=int, default=DEFAULT_SIZE)
    ap.add_argument("--per-article", type=int, default=DEFAULT_PER_ARTICLE)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    if not args.source.is_file():
        print(f"source not found: {args.source} (see shared/data/README.md)", file=sys.stderr)
        return 2
    with gzip.open(args.source, "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    chosen = select(records, args.size, args.per_article, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(args.out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        for r in records:
            if r["_id"] not in chosen:
                continue
            doc = {
                "id": r["_id"],
                "title": clean(str(r["title"])),
                "text": clean(str(r["text"])),
                "url": wikipedia_url(str(r["title"])),
                "language": "en",
            }
            gz.write((json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
            n += 1
    print(f"wrote {n} passages to {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
