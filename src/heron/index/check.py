"""``check_index``: verify every checksum of an on-disk index (what ``heron check`` runs).

Checks the manifest (checksum and exact bytes), every file the manifest references — each
segment's files, stored documents, live-doc bitmaps and any other per-segment file a newer
heron adds, all verified through the container format's CRC whatever their kind — opens every
segment (structure and live-doc sizes), and reads the write-ahead log (header and record
checksums, sequence numbers; a torn tail is reported, not an error). Files that nothing
references are listed as warnings. Read-only: it takes no lock and changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from heron.errors import CorruptIndexError, HeronError, IncompatibleFormatError
from heron.index.manifest import MANIFEST, Manifest
from heron.index.segment import SegmentReader, read_live_docs
from heron.index.wal import is_wal_file, read_log
from heron.storage.container import verify_container
from heron.storage.fs import FsDirectory


@dataclass
class CheckReport:
    """What ``check_index`` found: ``ok`` is False when anything is damaged."""

    path: str
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (name, kind, bytes)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    doc_count: int = 0
    generation: int = -1
    wal_pending: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_index(path: str | os.PathLike[str]) -> CheckReport:
    p = Path(path)
    d = FsDirectory(p)
    report = CheckReport(str(p))
    try:
        manifest = Manifest.read(d)
    except (CorruptIndexError, IncompatibleFormatError) as e:
        report.problems.append(str(e))
        return report
    report.generation = manifest.generation
    report.doc_count = manifest.doc_count
    report.files.append((MANIFEST, "manifest", d.size(MANIFEST)))
    referenced = manifest.referenced_files()
    for name in sorted(referenced - {MANIFEST}):
        try:
            kind = verify_container(d, name)
            report.files.append((name, kind, d.size(name)))
        except (CorruptIndexError, IncompatibleFormatError) as e:
            report.problems.append(str(e))
    if report.ok:  # structure: every segment opens, live-doc bitmaps match their segment
        for m in manifest.segments:
            try:
                r = SegmentReader(d, m.name, manifest.settings.store_documents)
                if r.doc_count != m.doc_count:
                    report.problems.append(f"segment {m.name}: {r.doc_count} documents, manifest says {m.doc_count}")
                if m.del_file:
                    live = read_live_docs(d, m.del_file, m.doc_count)
                    if int(m.doc_count - live.sum()) != m.del_count:
                        report.problems.append(f"{d.describe(m.del_file)}: {int(m.doc_count - live.sum())} deletes, "
                                               f"manifest says {m.del_count}")
            except HeronError as e:
                report.problems.append(str(e))
    try:
        files = read_log(p)
        committed = int(manifest.user_data.get("wal_seq", 0))
        for f in files:
            report.files.append((f.name, "wal", f.size))
            report.wal_pending += sum(1 for r in f.records if r.seq > committed)
            if f.torn:
                report.warnings.append(f"{p / f.name}: torn tail ({f.torn}); dropped at the next open")
    except (CorruptIndexError, IncompatibleFormatError) as e:
        report.problems.append(str(e))
    for name in d.list():
        if name not in referenced and not is_wal_file(name) and name != "write.lock":
            report.warnings.append(f"{p / name}: not referenced by the manifest (left by a crashed writer; "
                                   "the next writer removes it)")
    return report
