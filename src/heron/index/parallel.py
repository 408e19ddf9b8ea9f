"""Parallel segment building: worker processes analyse and invert disjoint chunks of
documents into their own segments; the writer then registers them (deduplicating ids,
last one wins) and commits as usual. Analysis is CPU-bound Python, so processes — not
threads — are what uses every core."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from heron.config import IndexSettings
from heron.document import Document, make_document
from heron.embed.onnx import is_registered, resolve_runtime
from heron.index.gcpause import gc_paused
from heron.index.segment import write_segment
from heron.index.segment_writer import SegmentBuilder
from heron.storage.fs import FsDirectory


def build_segment(path: str, settings_dict: dict[str, Any], name: str, docs: list[Any]) -> dict[str, Any]:
    """Worker: validate, analyse and write ``docs`` as segment ``name``; returns its summary."""
    settings = IndexSettings.from_dict(settings_dict)
    with gc_paused():  # a forked worker: a full collection would also copy the parent's pages
        builder = SegmentBuilder(settings)
        for d in docs:
            builder.add(d if isinstance(d, Document) else make_document(d, settings))
        data = builder.build()
        kinds = {f.name: str(f.type) for f in settings.filter_fields}
        info = write_segment(FsDirectory(path), name, data, len(settings.text_fields), settings.store_documents,
                             kinds)
    return {"name": name, "doc_count": data.doc_count, "sum_len": info["sum_len"], "bytes": info["bytes"],
            "ids": data.ids}


def _context(settings: IndexSettings) -> Any:
    """fork where there is one (workers start at once and inherit registered embedders), but spawn
    when passages are embedded with OpenVINO: its thread pool is not safe to fork once used."""
    if "fork" not in mp.get_all_start_methods():
        return mp.get_context()
    vs = settings.vectors
    if vs is not None and not is_registered(vs.model) and resolve_runtime() == "openvino":
        return mp.get_context("spawn")
    return mp.get_context("fork")


def chunked(docs: Iterable[Document | Mapping[str, Any]], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for d in docs:
        chunk.append(d)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_parallel(
    path: str,
    settings: IndexSettings,
    names: Iterator[str],
    docs: Iterable[Document | Mapping[str, Any]],
    processes: int,
    chunk_docs: int,
) -> list[dict[str, Any]]:
    """Build segments from ``docs`` with ``processes`` workers; results in input order."""
    ctx = _context(settings)
    sd = settings.to_dict()
    results: list[Future[dict[str, Any]]] = []
    with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as ex:
        pending: list[Future[dict[str, Any]]] = []
        for chunk in chunked(docs, chunk_docs):
            fut = ex.submit(build_segment, path, sd, next(names), chunk)
            results.append(fut)
            pending.append(fut)
            # bound memory: at most 2 chunks in flight per worker
            if len(pending) >= 2 * processes:
                pending.pop(0).result()
        return [f.result() for f in results]
