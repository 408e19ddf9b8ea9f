"""Reading and writing TREC run files, and BEIR qrels / queries files.

* Run file (``trec_eval`` format), one line per retrieved document::

      <query id> Q0 <doc id> <rank> <score> <tag>

* BEIR qrels: a TSV with the header ``query-id corpus-id score`` and one judged pair a line.
  Classic TREC qrels (``<query id> 0 <doc id> <grade>``, whitespace separated) are read too.
* BEIR queries: JSON lines (optionally gzip'ed) ``{"_id": ..., "text": ...}``.

Malformed input raises :class:`EvalDataError` naming ``file:line``.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import orjson

from heron.errors import HeronError

__all__ = ["EvalDataError", "read_qrels", "read_queries", "read_run", "write_run"]

PathLike = str | os.PathLike[str]


class EvalDataError(HeronError, ValueError):
    """An evaluation file (run, qrels, queries, BEIR layout) is missing or malformed."""


def _open_text(path: PathLike) -> IO[str]:
    p = Path(path)
    if not p.is_file():
        raise EvalDataError(f"file not found: {str(p)!r}")
    if p.name.endswith(".gz"):
        return gzip.open(p, "rt", encoding="utf-8")
    return open(p, encoding="utf-8")


def _lines(path: PathLike) -> Iterator[tuple[int, str]]:
    try:
        with _open_text(path) as f:
            for n, line in enumerate(f, 1):
                yield n, line.rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise EvalDataError(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    except (EOFError, gzip.BadGzipFile) as e:
        raise EvalDataError(f"{path}: damaged gzip file ({e})") from None


def write_run(path: PathLike, run: Mapping[str, Mapping[str, float]], tag: str = "heron") -> int:
    """Write ``run`` (query id -> doc id -> score) as a TREC run file; returns lines written.

    Within a query, documents are written by score descending; equal scores keep the
    mapping's order (heron's rank order when the run came from :func:`heron.eval.runner.run_queries`).
    Scores are written with full precision so re-reading a run evaluates identically.
    """
    if not tag or any(c.isspace() for c in tag):
        raise EvalDataError(f"run tag must be one word, got {tag!r}")
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for qid, docs in run.items():
            _check_token(qid, "query id")
            order = sorted(docs.items(), key=lambda x: -x[1])
            for rank, (doc, score) in enumerate(order, 1):
                _check_token(doc, "doc id")
                f.write(f"{qid} Q0 {doc} {rank} {score!r} {tag}\n")
                n += 1
    return n


def _check_token(value: str, what: str) -> None:
    if not value or any(c.isspace() for c in value):
        raise EvalDataError(f"{what} {value!r} cannot be written to a TREC run file (empty or has whitespace)")


def read_run(path: PathLike) -> dict[str, dict[str, float]]:
    """Read a TREC run file into query id -> doc id -> score (the rank column is ignored)."""
    run: dict[str, dict[str, float]] = {}
    for n, line in _lines(path):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 6:
            raise EvalDataError(
                f"{path}:{n}: expected 6 columns 'qid Q0 docid rank score tag', got {len(parts)}: {line[:80]!r}"
            )
        qid, _q0, doc, _rank, score_s, _tag = parts
        try:
            score = float(score_s)
        except ValueError:
            raise EvalDataError(f"{path}:{n}: score {score_s!r} is not a number") from None
        if not math.isfinite(score):
            raise EvalDataError(f"{path}:{n}: score {score_s!r} is not finite")
        docs = run.setdefault(qid, {})
        if doc in docs:
            raise EvalDataError(f"{path}:{n}: document {doc!r} listed twice for query {qid!r}")
        docs[doc] = score
    return run


def read_qrels(path: PathLike) -> dict[str, dict[str, int]]:
    """Read qrels (BEIR TSV with header, or TREC ``qid 0 docid grade``) into qid -> doc -> grade."""
    qrels: dict[str, dict[str, int]] = {}
    for n, line in _lines(path):
        if not line.strip():
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        parts = [p.strip() for p in parts]
        if n == 1 and parts and parts[0].lower() in ("query-id", "query_id", "qid", "query"):
            continue  # header
        if len(parts) == 4:
            qid, _iter, doc, grade_s = parts
        elif len(parts) == 3:
            qid, doc, grade_s = parts
        else:
            raise EvalDataError(
                f"{path}:{n}: expected 'query-id<TAB>corpus-id<TAB>score' (or TREC 'qid 0 docid grade'), "
                f"got {line[:80]!r}"
            )
        try:
            grade = int(grade_s)
        except ValueError:
            try:
                grade_f = float(grade_s)
            except ValueError:
                raise EvalDataError(f"{path}:{n}: relevance {grade_s!r} is not an integer") from None
            if not grade_f.is_integer():
                raise EvalDataError(f"{path}:{n}: relevance {grade_s!r} is not an integer") from None
            grade = int(grade_f)
        qrels.setdefault(qid, {})[doc] = grade
    return qrels


def read_queries(path: PathLike) -> dict[str, str]:
    """Read BEIR queries (JSON lines with ``_id``/``id`` and ``text``) into qid -> text."""
    queries: dict[str, str] = {}
    for n, line in _lines(path):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise EvalDataError(f"{path}:{n}: invalid JSON ({e})") from None
        if not isinstance(obj, dict):
            raise EvalDataError(f"{path}:{n}: expected a JSON object, got {type(obj).__name__}")
        qid = obj.get("_id", obj.get("id"))
        text = obj.get("text")
        if qid is None or not isinstance(text, str):
            raise EvalDataError(f"{path}:{n}: a query needs '_id' and a string 'text'")
        queries[str(qid)] = text
    return queries
