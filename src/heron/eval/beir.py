"""BEIR dataset directories::

    <dataset>/corpus.jsonl[.gz]     {"_id", "title", "text", "metadata"} per line
    <dataset>/queries.jsonl[.gz]    {"_id", "text"} per line
    <dataset>/qrels/<split>.tsv     query-id <TAB> corpus-id <TAB> score (with a header line)
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from heron.eval.trec import EvalDataError, read_qrels, read_queries

__all__ = ["BeirDataset", "find_jsonl", "load_beir"]


def find_jsonl(directory: Path, stem: str) -> Path | None:
    """``<stem>.jsonl.gz`` or ``<stem>.jsonl`` inside ``directory``, if present."""
    for name in (f"{stem}.jsonl.gz", f"{stem}.jsonl"):
        p = directory / name
        if p.is_file():
            return p
    return None


@dataclass(frozen=True, slots=True)
class BeirDataset:
    """A BEIR-layout dataset on disk (files are read lazily)."""

    root: Path
    corpus_path: Path
    queries_path: Path

    @property
    def name(self) -> str:
        return self.root.name

    def splits(self) -> list[str]:
        """Names of the available qrels splits (``test``, ``train``, ...)."""
        d = self.root / "qrels"
        return sorted(p.stem for p in d.glob("*.tsv")) if d.is_dir() else []

    def qrels_path(self, split: str = "test") -> Path:
        p = self.root / "qrels" / f"{split}.tsv"
        if not p.is_file():
            have = ", ".join(self.splits()) or "none"
            raise EvalDataError(f"no qrels for split {split!r} in {str(self.root)!r} (expected {p}; splits: {have})")
        return p

    def qrels(self, split: str = "test") -> dict[str, dict[str, int]]:
        return read_qrels(self.qrels_path(split))

    def queries(self) -> dict[str, str]:
        return read_queries(self.queries_path)

    def corpus(self) -> Iterator[dict[str, Any]]:
        """Corpus documents as JSON objects (``_id`` kept; heron accepts it as the id)."""
        opener = gzip.open if self.corpus_path.name.endswith(".gz") else open
        with opener(self.corpus_path, "rb") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    raise EvalDataError(f"{self.corpus_path}:{n}: invalid JSON ({e})") from None
                if not isinstance(obj, dict):
                    raise EvalDataError(f"{self.corpus_path}:{n}: expected a JSON object")
                yield obj


def load_beir(root: str | os.PathLike[str]) -> BeirDataset:
    """Check a BEIR directory's layout and return a :class:`BeirDataset`."""
    r = Path(root)
    if not r.is_dir():
        raise EvalDataError(f"dataset directory not found: {str(r)!r}")
    corpus = find_jsonl(r, "corpus")
    queries = find_jsonl(r, "queries")
    missing = [n for n, p in (("corpus.jsonl[.gz]", corpus), ("queries.jsonl[.gz]", queries)) if p is None]
    if missing or corpus is None or queries is None:
        raise EvalDataError(
            f"{str(r)!r} is not a BEIR dataset: missing {', '.join(missing)} "
            "(expected corpus.jsonl[.gz], queries.jsonl[.gz] and qrels/<split>.tsv)"
        )
    return BeirDataset(r, corpus, queries)
