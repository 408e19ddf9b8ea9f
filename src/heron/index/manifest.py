"""The manifest: the list of live segments plus the index settings, swapped atomically on commit.

``manifest.json`` holds ``{"format", "crc", "body"}``; ``crc`` is the CRC32 of the canonical
JSON of ``body``. A commit writes every new segment file first (each fsync'ed), then the
manifest through write-temp + fsync + rename, so a crash at any point leaves either the old
or the new manifest, both pointing at complete files.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from heron.config import IndexSettings
from heron.errors import CorruptIndexError, IncompatibleFormatError, IndexNotFoundError
from heron.storage.directory import Directory

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True, slots=True)
class SegmentMeta:
    """What the manifest records about one segment."""

    name: str
    doc_count: int
    sum_len: tuple[int, ...]
    del_gen: int = 0
    del_count: int = 0
    size_bytes: int = 0

    @property
    def live_count(self) -> int:
        return self.doc_count - self.del_count

    @property
    def del_file(self) -> str | None:
        return f"{self.name}.{self.del_gen}.del" if self.del_gen else None

    def files(self, stored: bool) -> list[str]:
        out = [f"{self.name}.seg"]
        if stored:
            out.append(f"{self.name}.doc")
        if self.del_file:
            out.append(self.del_file)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "doc_count": self.doc_count,
            "sum_len": list(self.sum_len),
            "del_gen": self.del_gen,
            "del_count": self.del_count,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentMeta:
        return cls(
            name=d["name"],
            doc_count=int(d["doc_count"]),
            sum_len=tuple(int(x) for x in d["sum_len"]),
            del_gen=int(d.get("del_gen", 0)),
            del_count=int(d.get("del_count", 0)),
            size_bytes=int(d.get("size_bytes", 0)),
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    settings: IndexSettings
    segments: tuple[SegmentMeta, ...] = ()
    generation: int = 0
    next_segment: int = 1
    user_data: dict[str, Any] = field(default_factory=dict)

    def with_segments(self, segments: tuple[SegmentMeta, ...], next_segment: int) -> Manifest:
        return replace(self, segments=segments, generation=self.generation + 1, next_segment=next_segment)

    @property
    def doc_count(self) -> int:
        return sum(s.live_count for s in self.segments)

    def referenced_files(self) -> set[str]:
        out = {MANIFEST}
        for s in self.segments:
            out.update(s.files(self.settings.store_documents))
            if self.settings.vectors is not None:
                out.add(f"{s.name}.vec")
        return out

    def to_bytes(self) -> bytes:
        body = {
            "settings": self.settings.to_dict(),
            "segments": [s.to_dict() for s in self.segments],
            "generation": self.generation,
            "next_segment": self.next_segment,
            "user_data": self.user_data,
        }
        canon = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        return orjson.dumps(
            {"format": MANIFEST_FORMAT, "crc": zlib.crc32(canon), "body": body},
            option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
        )

    def write(self, directory: Directory) -> None:
        directory.write_atomic(MANIFEST, self.to_bytes())

    @classmethod
    def read(cls, directory: Directory) -> Manifest:
        where = directory.describe(MANIFEST)
        if not directory.exists(MANIFEST):
            raise IndexNotFoundError(f"no heron index at {where!r} (manifest missing); create one with Index.create")
        raw = bytes(directory.open_input(MANIFEST))
        try:
            doc = orjson.loads(raw)
            fmt = int(doc["format"])
            body = doc["body"]
            crc = int(doc["crc"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise CorruptIndexError(where, f"unreadable manifest ({e})") from None
        if fmt != MANIFEST_FORMAT:
            raise IncompatibleFormatError(where, fmt, MANIFEST_FORMAT)
        if zlib.crc32(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)) != crc:
            raise CorruptIndexError(where, "manifest checksum mismatch")
        if orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) != raw:
            # the checksum covers the body; the rest of the bytes must be exactly as written
            raise CorruptIndexError(where, "manifest bytes differ from what heron wrote (damaged formatting)")
        return cls(
            settings=IndexSettings.from_dict(body["settings"]),
            segments=tuple(SegmentMeta.from_dict(s) for s in body["segments"]),
            generation=int(body["generation"]),
            next_segment=int(body["next_segment"]),
            user_data=dict(body.get("user_data", {})),
        )
