"""Crash safety: a writer process killed at any point of a commit leaves the last committed
state readable and intact; the next writer cleans up the partial files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import heron

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import heron
    from heron.index import manifest, segment
    from heron.storage import fs

    where = sys.argv[2]
    idx = heron.Index.open(sys.argv[1])
    if where == "segment-write":      # die while a segment file is half written
        real = fs._FsOutput.write
        def write(self, data):
            real(self, data[: len(data) // 2])
            os._exit(9)
        fs._FsOutput.write = write
    elif where == "before-manifest":  # segment files complete, manifest not yet swapped
        manifest.Manifest.write = lambda self, d: os._exit(9)
    elif where == "manifest-rename":  # new manifest written to its temporary name only
        real_close = fs._FsOutput.close
        def close(self):
            if self.name == "manifest.json":
                self._f.flush(); os.fsync(self._f.fileno()); os._exit(9)
            real_close(self)
        fs._FsOutput.close = close
    with idx.writer() as w:
        for i in range(50):
            w.add({"id": f"new{i}", "text": f"crash test document number {i} heron"})
        w.delete("a")
    """
)


@pytest.mark.parametrize("where", ["segment-write", "before-manifest", "manifest-rename"])
def test_killed_commit_keeps_previous_state(tmp_path: Path, tiny_docs: list[dict[str, object]], where: str) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer() as w:
        for d in tiny_docs:
            w.add(d)
    before = sorted(h.id for h in idx.search("heron cat bird reef graureiher", k=50))
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(p), where], capture_output=True, text=True, timeout=120)
    assert r.returncode == 9, r.stderr
    again = heron.Index.open(p)
    assert sorted(h.id for h in again.search("heron cat bird reef graureiher", k=50)) == before
    assert again.search("crash") == []
    assert again.stats().doc_count == len(tiny_docs)
    with again.writer() as w:  # the next writer removes what the dead one left behind
        w.add({"id": "after", "text": "recovered heron"})
    files = set(os.listdir(p))
    assert not any(f.endswith(".tmp") for f in files)
    assert {f for f in files if f.endswith((".seg", ".doc", ".del"))} <= again.searcher().manifest.referenced_files()
    assert "after" in [h.id for h in heron.Index.open(p).search("recovered")]
