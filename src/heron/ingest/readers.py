"""Readers: WARC/ARC archives, HTML files and directories, JSONL(.gz), Parquet, BEIR corpora.

Each reader yields :class:`~heron.ingest.records.RawPage` (HTML to extract),
:class:`~heron.ingest.records.RawDoc` (fields given as data) or
:class:`~heron.ingest.records.Skip` (a record that is not a page, or is broken: counted with a
reason). A broken record never stops the run; a broken archive stops only that file, after
everything readable before the damage was yielded.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import io
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from heron.errors import ConfigError, HeronError
from heron.ingest.records import RawDoc, RawPage, Record, Skip

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet",)
#: target document fields a mapping may name (``html`` = a column holding raw HTML to extract)
MAPPABLE = ("id", "title", "text", "url", "date", "last_updated", "language", "html")
#: largest HTML payload considered (bigger ones are skipped as ``too-large``)
MAX_PAGE_BYTES = 8 * 1024 * 1024


class SourceError(HeronError):
    """A source cannot be read at all (unknown kind, missing file)."""


def source_kind(path: Path) -> str:
    """``warc``, ``html``, ``jsonl``, ``parquet``, ``beir`` or ``dir`` for ``path``; raises SourceError."""
    name = path.name.lower()
    if path.is_dir():
        if any((path / n).is_file() for n in ("corpus.jsonl", "corpus.jsonl.gz")):
            return "beir"
        return "dir"
    if not path.is_file():
        raise SourceError(f"source not found: {str(path)!r}")
    for kind, suffixes in (("warc", WARC_SUFFIXES), ("html", HTML_SUFFIXES), ("jsonl", JSONL_SUFFIXES),
                           ("parquet", PARQUET_SUFFIXES)):
        if name.endswith(suffixes):
            return kind
    raise SourceError(
        f"{str(path)!r}: unknown source type; heron ingest reads {', '.join(WARC_SUFFIXES + HTML_SUFFIXES)}, "
        f"{', '.join(JSONL_SUFFIXES)}, .parquet files, directories of them and BEIR dataset directories"
    )


def expand_sources(paths: list[Path]) -> list[Path]:
    """Files to read, in a stable order: directories expanded (recursively), BEIR dirs kept whole."""
    out: list[Path] = []
    for p in paths:
        kind = source_kind(p)
        if kind == "dir":
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.name.lower().endswith(
                    WARC_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES
                ):
                    out.append(f)
        else:
            out.append(p)
    return out


def read_source(path: Path, mapping: Mapping[str, str] | None = None) -> Iterator[Record]:
    """All records of one source file (or BEIR directory)."""
    kind = source_kind(path)
    if kind == "warc":
        yield from read_warc(path)
    elif kind == "html":
        yield from read_html_file(path)
    elif kind == "jsonl":
        yield from read_jsonl(path, mapping)
    elif kind == "parquet":
        yield from read_parquet(path, mapping)
    elif kind == "beir":
        corpus = path / "corpus.jsonl.gz"
        yield from read_jsonl(corpus if corpus.is_file() else path / "corpus.jsonl", mapping)
    else:
        for f in expand_sources([path]):
            yield from read_source(f, mapping)


# -- WARC / ARC ---------------------------------------------------------------------------------
def _remaining(stream: Any) -> int:
    """Bytes a warcio record stream still expected (> 0 after reading = truncated record)."""
    seen = 0
    while stream is not None and seen < 8:
        limit = getattr(stream, "limit", None)
        if isinstance(limit, int):
            return limit
        stream = getattr(stream, "stream", None)
        seen += 1
    return 0


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            return v.strip().strip("\"'").lower()
    return None


def _warc_date(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip()
    if len(v) == 14 and v.isdigit():  # ARC: YYYYMMDDhhmmss
        v = f"{v[:4]}-{v[4:6]}-{v[6:8]}T{v[8:10]}:{v[10:12]}:{v[12:14]}Z"
    return v


def _read_capped(stream: Any) -> bytes:
    # warcio's readers misbehave with one huge read(n): read in 64 KiB pieces
    parts: list[bytes] = []
    total = 0
    while total <= MAX_PAGE_BYTES:
        chunk = stream.read(65536)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def read_warc(path: Path) -> Iterator[Record]:
    """HTML ``response``/``resource`` records of a WARC or ARC file (gzip'ed or not)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    name = str(path)
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh, arc2warc=True)
        where = f"{name}@0"
        records = iter(it)
        try:
            while True:
                # warcio prints its warnings; capture them so they become counted skips
                noise = io.StringIO()
                prev_errors = it.err_count
                with contextlib.redirect_stderr(noise), contextlib.redirect_stdout(noise):
                    rec = next(records, None)
                if it.err_count > prev_errors:
                    yield Skip(where, "bad-record-boundary",
                               "record not followed by a blank line (invalid Content-Length?)")
                if rec is None:
                    break
                where = f"{name}@{it.offset}"
                rtype = rec.rec_type
                if rtype not in ("response", "resource"):
                    _read_capped(rec.raw_stream)
                    missing = _remaining(rec.raw_stream)
                    if missing > 0:
                        yield Skip(where, "truncated-record", f"{rtype} record: {missing} bytes missing")
                    else:
                        yield Skip(where, f"not-a-page:{rtype}")
                    continue
                uri = (rec.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
                date = _warc_date(rec.rec_headers.get_header("WARC-Date"))
                http = rec.http_headers if rtype == "response" else None
                status: int | None = None
                last_modified = None
                if http is not None:
                    try:
                        status = int(http.get_statuscode() or 0)
                    except ValueError:
                        yield Skip(where, "bad-http-header", f"status line {http.statusline!r}")
                        continue
                    ctype = http.get_header("Content-Type") or ""
                    last_modified = http.get_header("Last-Modified")
                else:
                    ctype = rec.rec_headers.get_header("Content-Type") or ""
                if rtype == "response" and http is None:
                    yield Skip(where, "bad-http-header", "response record without HTTP headers")
                    continue
                if status is not None and not 200 <= status < 300:
                    yield Skip(where, f"http-status:{status}")
                    continue
                mime = ctype.split(";")[0].strip().lower()
                if mime not in ("text/html", "application/xhtml+xml", ""):
                    yield Skip(where, "not-html", mime)
                    continue
                try:
                    body = _read_capped(rec.content_stream())
                except Exception as e:  # bad chunking / content-encoding: this record only
                    yield Skip(where, "bad-payload", f"{type(e).__name__}: {e}")
                    continue
                if _remaining(rec.raw_stream) > 0:
                    yield Skip(where, "truncated-record", f"{_remaining(rec.raw_stream)} bytes missing")
                    continue
                if len(body) > MAX_PAGE_BYTES:
                    yield Skip(where, "too-large")
                    continue
                if not body.strip():
                    yield Skip(where, "empty-payload")
                    continue
                if not mime and b"<" not in body[:2048]:
                    yield Skip(where, "not-html", "no content type and no markup")
                    continue
                yield RawPage(where, body, uri, _charset(ctype), last_modified, date, status)
        except ArchiveLoadFailed as e:
            yield Skip(where, "unreadable-archive", " ".join(str(e).split())[:200])
        except Exception as e:  # warcio raises many kinds (even AttributeError) on broken input
            yield Skip(where, "unreadable-archive", f"{type(e).__name__}: {e}"[:200])


# -- HTML files ---------------------------------------------------------------------------------
def read_html_file(path: Path) -> Iterator[Record]:
    name = str(path)
    try:
        if name.lower().endswith(".gz"):
            with gzip.open(path) as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        yield Skip(name, "unreadable-file", f"{type(e).__name__}: {e}")
        return
    if not raw.strip():
        yield Skip(name, "empty-payload")
        return
    if len(raw) > MAX_PAGE_BYTES:
        yield Skip(name, "too-large")
        return
    mtime = _dt.datetime.fromtimestamp(path.stat().st_mtime, tz=_dt.UTC).isoformat()
    yield RawPage(name, raw, "", None, None, mtime, None)


# -- data files ---------------------------------------------------------------------------------
def parse_mapping(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["id=doc_id", "text=body"]`` → ``{"id": "doc_id", "text": "body"}`` (target=source)."""
    out: dict[str, str] = {}
    for it in items:
        target, sep, col = it.partition("=")
        target, col = target.strip(), col.strip()
        if not sep or not target or not col:
            raise ConfigError(f"--field {it!r}: expected TARGET=COLUMN, e.g. --field text=body")
        if target not in MAPPABLE:
            raise ConfigError(f"--field {it!r}: unknown target {target!r}; choose from {', '.join(MAPPABLE)}")
        out[target] = col
    return out


def apply_mapping(row: Mapping[str, Any], mapping: Mapping[str, str] | None) -> dict[str, Any]:
    """A row with mapped columns renamed to document fields; other columns kept (→ metadata)."""
    if not mapping:
        return dict(row)
    out = {k: v for k, v in row.items() if k not in mapping.values()}
    for target, col in mapping.items():
        if col in row:
            out[target] = row[col]
    return out


def _row_record(source: str, row: Mapping[str, Any], mapping: Mapping[str, str] | None) -> Record:
    fields = apply_mapping(row, mapping)
    html = fields.pop("html", None)
    if html is not None:
        if not isinstance(html, str | bytes) or not html:
            return Skip(source, "empty-payload", "mapped html column is empty")
        body = html.encode("utf-8") if isinstance(html, str) else html
        page = RawPage(source, body, str(fields.get("url") or ""), "utf-8")
        return RawDoc(source, {**fields, "__page__": page})
    return RawDoc(source, fields)


def read_jsonl(path: Path, mapping: Mapping[str, str] | None = None) -> Iterator[Record]:
    name = str(path)
    opener = gzip.open if name.lower().endswith(".gz") else open
    n = 0
    try:
        with opener(path, "rb") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                src = f"{name}:{n}"
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    yield Skip(src, "bad-json", str(e))
                    continue
                if not isinstance(obj, dict):
                    yield Skip(src, "bad-json", f"expected an object, got {type(obj).__name__}")
                    continue
                yield _row_record(src, obj, mapping)
    except (OSError, EOFError, zlib.error) as e:
        yield Skip(f"{name}:{n + 1}", "unreadable-file", f"{type(e).__name__}: {e}")


def read_parquet(path: Path, mapping: Mapping[str, str] | None = None, batch_rows: int = 4096) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise SourceError(f"{str(path)!r}: reading Parquet needs pyarrow: pip install 'heron[ingest]'") from None

    name = str(path)
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid/OSError variants
        yield Skip(name, "unreadable-file", f"{type(e).__name__}: {e}"[:200])
        return
    n = 0
    for batch in pf.iter_batches(batch_size=batch_rows):
        for row in batch.to_pylist():
            n += 1
            clean = {k: (v.isoformat() if isinstance(v, _dt.date | _dt.datetime) else v) for k, v in row.items()}
            yield _row_record(f"{name}:row {n}", clean, mapping)
