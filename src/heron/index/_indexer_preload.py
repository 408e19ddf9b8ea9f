"""Imported once by the forkserver that indexer processes fork from (see
:mod:`heron.index.process_writer`): loads the kernels a writer needs to analyse, build, refresh
and merge segments, so every forked indexer starts warm instead of paying ~1 s of JIT-cache
loading on its first refresh. Not meant for other imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from heron.api import Index


def _warm() -> None:
    import tempfile

    from heron.api import Index

    with tempfile.TemporaryDirectory(prefix="heron-warm-") as tmp:  # on disk: memory-mapped arrays
        _build(Index.create(tmp + "/i"))


def _build(idx: Index) -> None:
    for i in range(2):
        with idx.writer() as w:
            w.add_many([{"id": f"w{i}-{j}", "title": "warm", "text": f"warm up the indexer kernels {j}"}
                        for j in range(3)])
    with idx.writer() as w:
        w.delete("w0-1")
        w.force_merge(1)
    idx.search("warm kernels", k=3)


_warm()
