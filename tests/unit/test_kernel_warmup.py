"""``kernels.warmup()`` compiles every specialisation that indexing and searching use: after it, a
build (buffer, flush, merge) of an on-disk index and its first searches compile nothing. A
kernel compiled at first use instead costs seconds inside a timed build or a first query (the
benchmark's first build after a code change paid 3.2 s for two such kernels)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from heron import kernels

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from numba.core.registry import CPUDispatcher
    import heron
    from heron.kernels import compiled

    compiled.warmup()
    disp = {n: f for n, f in vars(compiled).items() if isinstance(f, CPUDispatcher)}
    before = {n: len(f.signatures) for n, f in disp.items()}
    idx = heron.Index.create(sys.argv[1], heron.IndexSettings.flat(writer_buffer_docs=40))
    words = "heron bird wading grey river fish reef island night sky".split()
    with idx.writer() as w:
        w.add_many([{"id": f"d{i}", "title": words[i % 10], "text": " ".join(words[: 1 + i % 10]) + " caf\\u00e9"}
                    for i in range(200)])
        w.add({"id": "one", "title": "a single add", "text": "heron"})
        w.force_merge(1)
    idx = heron.Index.open(sys.argv[1])
    for q in ("heron", "grey heron bird", "heron bird wading grey river fish reef island night sky"):
        for k in (1, 10, 100):
            idx.search(q, k=k, fields=False)
            idx.search(q, k=k)
    print(json.dumps({n: [str(s) for s in f.signatures[before[n]:]] for n, f in disp.items()
                      if len(f.signatures) > before[n]}))
    """
)


@pytest.mark.skipif(kernels.backend() != "numba", reason="the reference backend compiles nothing")
def test_nothing_compiles_after_warmup(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "idx")], capture_output=True, text=True,
                         check=True, timeout=600)
    compiled_late = json.loads(out.stdout.strip().splitlines()[-1])
    assert compiled_late == {}, f"kernels compiled after warmup (add these signatures to warmup): {compiled_late}"
