"""The ingest pipeline: sources → records → (workers) extraction → dedup → index or bulk API.

The parent process reads records (WARC/HTML/JSONL/Parquet readers are I/O + light parsing)
and sends batches to ``workers`` processes, which decode, parse (resiliparse), extract main
content and metadata, detect the language and compute the dedup signature. Before forking them
the parent loads what every page needs once (:func:`warm_up`), so the workers share it. Results come back
in input order; the parent drops exact duplicates, groups near-duplicates, validates with
:func:`heron.document.make_document` and writes through :class:`~heron.index.writer.IndexWriter`
(or a :class:`BulkSink` for a running server). A source file is marked done in the state file
only after a commit that contains all of its documents, so ``--resume`` skips exactly those.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import itertools
import json
import multiprocessing as mp
import os
import re
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from heron.document import MAX_ID_LEN, Document, make_document
from heron.errors import DocumentError, HeronError
from heron.ingest.dedup import (
    DEFAULT_THRESHOLD,
    Deduper,
    content_hash,
    decode_signature,
    encode_signature,
    minhash,
)
from heron.ingest.extract import EXTRACTORS, extract_text
from heron.ingest.metadata import identify_language, page_meta, parse_any_date
from heron.ingest.readers import expand_sources, read_source
from heron.ingest.records import RawDoc, RawPage, Record, Skip
from heron.ingest.urls import normalize_url, registrable_domain

#: share of U+FFFD replacement characters above which a page counts as undecodable
MAX_REPLACEMENT_SHARE = 0.05
MIN_TEXT_CHARS = 25
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
#: every byte but the ones ``_CONTROL`` matches: ``body.translate(None, _NOT_CONTROL)`` keeps only those
_NOT_CONTROL = bytes(b for b in range(256) if not (b <= 0x08 or 0x0E <= b <= 0x1F))


def _too_binary(text: str) -> bool:
    """More than 1% control characters in the first 64K characters: binary data, not text."""
    head = text[:65536]
    return len(_CONTROL.findall(head)) > 0.01 * max(1, len(head))


class IngestError(HeronError):
    """The ingest run cannot go on (unreachable server, unusable target, bad options)."""


@dataclass(frozen=True, slots=True)
class IngestOptions:
    extractor: str = "heron"
    workers: int = 1
    near_dup_threshold: float = DEFAULT_THRESHOLD
    drop_near_dups: bool = False
    batch_records: int = 16
    commit_every_s: float = 60.0
    commit_every_docs: int = 20_000


@dataclass
class IngestReport:
    """Counts of one run (JSON-serialisable via :meth:`to_dict`)."""

    sources: int = 0
    sources_skipped_done: int = 0
    records: int = 0
    pages: int = 0
    bytes_in: int = 0
    written: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    near_dups_dropped: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skip_examples: dict[str, str] = field(default_factory=dict)
    languages: Counter[str] = field(default_factory=Counter)
    with_date: int = 0
    with_last_updated: int = 0
    seconds: float = 0.0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        s = self.seconds or 1e-9
        return {
            "sources": self.sources, "sources_already_done": self.sources_skipped_done, "records": self.records,
            "pages": self.pages, "mb_in": round(self.bytes_in / 1e6, 3), "written": self.written,
            "exact_duplicates": self.exact_duplicates, "near_duplicates": self.near_duplicates,
            "near_duplicates_dropped": self.near_dups_dropped, "skipped": dict(self.skipped.most_common()),
            "skip_examples": self.skip_examples, "languages": dict(self.languages.most_common()),
            "date_coverage": round(self.with_date / self.written, 4) if self.written else 0.0,
            "last_updated_coverage": round(self.with_last_updated / self.written, 4) if self.written else 0.0,
            "seconds": round(self.seconds, 3), "pages_per_s": round(self.pages / s, 1),
            "mb_per_s": round(self.bytes_in / 1e6 / s, 3),
        }

    def skip(self, sk: Skip) -> None:
        self.skipped[sk.reason] += 1
        self.skip_examples.setdefault(sk.reason, f"{sk.source}: {sk.detail}" if sk.detail else sk.source)


# -- worker side --------------------------------------------------------------------------------
def _decode(page: RawPage) -> str | None:
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    if page.charset in (None, "utf-8", "utf8"):
        try:  # most of the web: strict UTF-8 is one fast C call, no detection needed
            text = page.body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:  # control bytes are ASCII in UTF-8: none in the body means none in the text (one C call)
            clean = not page.body.translate(None, _NOT_CONTROL)
            return text if clean or not _too_binary(text) else None
    enc = page.charset
    if enc:
        try:
            codecs.lookup(enc)
        except LookupError:  # an unknown charset label: detect instead
            enc = None
    enc = enc or str(detect_encoding(page.body) or "utf-8")
    text = str(bytes_to_str(page.body, enc, fallback_encodings=("utf-8", "cp1252")))
    if text.count("\ufffd") > MAX_REPLACEMENT_SHARE * max(1, len(text)):
        return None
    return None if _too_binary(text) else text


def _doc_id(url: str, source: str) -> str:
    ident = url or source
    if len(ident) <= MAX_ID_LEN:
        return ident
    import hashlib

    return "sha1:" + hashlib.sha1(ident.encode("utf-8")).hexdigest()


def _pick_title(meta_title: str, h1: str) -> str:
    if h1 and meta_title and " ".join(h1.lower().split()) in meta_title.lower():
        return h1
    return meta_title or h1


def process_page(page: RawPage, extractor: str) -> dict[str, Any] | Skip:
    """RawPage → document fields (with dedup signature), or a Skip with the reason."""
    from resiliparse.parse.html import HTMLTree

    text_html = _decode(page)
    if text_html is None:
        return Skip(page.source, "undecodable", f"more than {MAX_REPLACEMENT_SHARE:.0%} undecodable bytes")
    try:
        tree = HTMLTree.parse(text_html)
    except Exception as e:  # resiliparse raises its own HTMLParserException
        return Skip(page.source, "unparsable-html", str(e)[:200])
    if tree.document is None:
        return Skip(page.source, "unparsable-html", "empty DOM")
    crawl = parse_any_date(page.crawl_date or "")
    latest = _dt.date.fromisoformat(crawl) + _dt.timedelta(days=1) if crawl else None
    body_el = tree.body
    h1_el = body_el.query_selector("h1") if body_el is not None else None
    meta = page_meta(text_html, page.url, latest, tree.title or "", (h1_el.text or "") if h1_el is not None else "")
    title = _pick_title(meta.title, meta.h1)
    body = extract_text(text_html if extractor == "trafilatura" else tree, extractor, meta.h1 or title)
    if len(body.strip()) < MIN_TEXT_CHARS:
        return Skip(page.source, "no-main-content", f"{len(body.strip())} characters of text")
    url = normalize_url(page.url) or normalize_url(urljoin_safe(page.url, meta.canonical_url))
    canonical = normalize_url(urljoin_safe(page.url, meta.canonical_url)) if meta.canonical_url else ""
    lang, prob = identify_language(body, meta.html_lang)
    if meta.html_lang and (not lang or (prob is not None and prob < 0.5)):  # little or ambiguous text: the markup
        lang, prob = meta.html_lang, 0.0
    last_updated = meta.modified
    if last_updated is None and page.last_modified:
        last_updated = parse_any_date(page.last_modified, latest)
    md: dict[str, Any] = {
        "source": page.source,
        "outlinks": meta.outlinks,
        "outlinks_external": meta.outlinks_external,
        "content_hash": content_hash(body),
        "minhash": encode_signature(minhash(body)),
    }
    if canonical:
        md["canonical_url"] = canonical
    if url:
        md["registrable_domain"] = registrable_domain(url)
    if crawl:
        md["crawl_date"] = crawl
    if meta.date_source:
        md["date_source"] = meta.date_source
    if meta.description:
        md["description"] = meta.description
    if prob:
        md["language_confidence"] = round(prob, 3)
    if meta.html_lang:
        md["html_lang"] = meta.html_lang
    return {
        "id": _doc_id(url or canonical, page.source), "title": title, "text": body, "url": url or canonical,
        "date": meta.published, "last_updated": last_updated, "language": lang, "metadata": md,
    }


def urljoin_safe(base: str, href: str) -> str:
    from urllib.parse import urljoin

    try:
        return urljoin(base, href) if base else href
    except ValueError:
        return href


def process_rawdoc(rd: RawDoc, extractor: str) -> dict[str, Any] | Skip:
    fields = dict(rd.fields)
    page = fields.pop("__page__", None)
    if isinstance(page, RawPage):
        got = process_page(page, extractor)
        if isinstance(got, Skip):
            return got
        for k, v in fields.items():
            if k in ("id", "title", "url", "date", "last_updated", "language") and v not in (None, ""):
                got[k] = v
            elif k not in got:
                got["metadata"].setdefault(k, v)
        return got
    md_in = fields.get("metadata") or {}
    if not isinstance(md_in, Mapping):
        return fields  # make_document reports the bad metadata with its source
    md = {**md_in, "source": rd.source}
    text = fields.get("text")
    if isinstance(text, str) and text:
        md.setdefault("content_hash", content_hash(text))
        md.setdefault("minhash", encode_signature(minhash(text)))
    url = fields.get("url")
    if isinstance(url, str) and url and (dom := registrable_domain(url)):
        md.setdefault("registrable_domain", dom)
    fields["metadata"] = md
    return fields


def process_batch(batch: list[RawPage | RawDoc], extractor: str) -> list[dict[str, Any] | Skip]:
    out: list[dict[str, Any] | Skip] = []
    for r in batch:
        try:
            got = process_page(r, extractor) if isinstance(r, RawPage) else process_rawdoc(r, extractor)
            if not isinstance(got, Skip):
                got["__source__"] = r.source
            out.append(got)
        except Exception as e:  # one bad record never stops the run
            out.append(Skip(r.source, "extraction-error", f"{type(e).__name__}: {e}"[:200]))
    return out


# -- sinks --------------------------------------------------------------------------------------
class Sink(Protocol):
    settings: Any

    def add(self, doc: Document) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


class WriterSink:
    """Writes through an :class:`~heron.index.writer.IndexWriter` (commit = durable)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.settings = writer.settings

    def add(self, doc: Document) -> None:
        self.writer.add(doc)

    def commit(self) -> None:
        self.writer.commit()

    def close(self) -> None:
        self.writer.close()


class BulkSink:
    """POSTs NDJSON batches to a running server's ``/v1/indexes/{name}/documents``."""

    def __init__(self, base_url: str, api_key: str | None = None, batch_docs: int = 500, timeout_s: float = 120.0):
        from heron.config import IndexSettings

        self.url = base_url.rstrip("/") + "/documents"
        self.api_key = api_key
        self.batch_docs = batch_docs
        self.timeout_s = timeout_s
        self.settings = IndexSettings()
        self._buf: list[bytes] = []
        self.failed = 0
        self.errors: list[str] = []

    def add(self, doc: Document) -> None:
        self._buf.append(orjson.dumps(doc.to_stored()))
        if len(self._buf) >= self.batch_docs:
            self._send(refresh=False)

    def _send(self, refresh: bool) -> None:
        if not self._buf and not refresh:
            return
        body = b"\n".join(self._buf) + b"\n"
        req = urllib.request.Request(self.url + ("?refresh=true" if refresh else ""), data=body, method="POST",
                                     headers={"content-type": "application/x-ndjson"})
        if self.api_key:
            req.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace")
            raise IngestError(f"bulk upsert to {self.url} failed: HTTP {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            raise IngestError(f"cannot reach {self.url}: {e}; is `heron serve` running there?") from None
        self.failed += int(answer.get("failed", 0))
        self.errors.extend(str(x.get("message")) for x in answer.get("errors", [])[:10])
        self._buf = []

    def commit(self) -> None:
        self._send(refresh=True)

    def close(self) -> None:
        self._buf = []


# -- resume state -------------------------------------------------------------------------------
class ResumeState:
    """Which source files are fully committed (by absolute path, size and mtime)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        if path is not None and path.is_file():
            try:
                self.done = dict(json.loads(path.read_text("utf-8")).get("done", {}))
            except (ValueError, OSError) as e:
                raise IngestError(f"resume state {str(path)!r} is unreadable ({e}); delete it to start over") from None

    @staticmethod
    def key(p: Path) -> tuple[str, dict[str, Any]]:
        st = p.stat()
        return str(p.resolve()), {"size": st.st_size, "mtime_ns": st.st_mtime_ns}

    def is_done(self, p: Path) -> bool:
        k, v = self.key(p)
        return self.done.get(k) == v

    def mark(self, paths: Iterable[Path]) -> None:
        for p in paths:
            k, v = self.key(p)
            self.done[k] = v
        if self.path is not None:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps({"version": 1, "done": self.done}, indent=1), "utf-8")
            os.replace(tmp, self.path)


# -- the run ------------------------------------------------------------------------------------
def seed_from_index(deduper: Deduper, index: Any) -> int:
    """Register the documents already in ``index`` (their stored content hash / MinHash)."""
    n = 0
    s = index.searcher()
    for v in s.segments:
        r = v.reader
        for d, ext_id in enumerate(r.all_ids()):
            if v.live is not None and not v.live[d]:
                continue
            md = r.stored(d).get("metadata") or {}
            sig = decode_signature(md.get("minhash", "")) if isinstance(md.get("minhash"), str) else None
            ch = md.get("content_hash")
            if sig is not None and isinstance(ch, str):
                deduper.add(ext_id, ch, sig, md.get("near_dup_of"))
                n += 1
    return n


def _records(sources: list[Path], mapping: Mapping[str, str] | None, report: IngestReport,
             on_source_end: Callable[[Path], None]) -> Iterator[tuple[Path, Record]]:
    for src in sources:
        report.sources += 1
        for rec in read_source(src, mapping):
            yield src, rec
        on_source_end(src)


def run_ingest(
    sources: list[Path],
    sink: Sink,
    options: IngestOptions,
    *,
    mapping: Mapping[str, str] | None = None,
    state: ResumeState | None = None,
    deduper: Deduper | None = None,
    progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest ``sources`` into ``sink``; commits at the end (and periodically)."""
    if options.extractor not in EXTRACTORS:
        raise IngestError(f"unknown extractor {options.extractor!r}; choose one of {', '.join(EXTRACTORS)}")
    report = IngestReport()
    t0 = time.perf_counter()
    files = expand_sources(sources)
    if state is not None:
        todo = [f for f in files if not state.is_done(f)]
        report.sources_skipped_done = len(files) - len(todo)
        files = todo
    dd = deduper or Deduper(options.near_dup_threshold)
    ended: list[Path] = []  # sources whose records have all been read (not yet committed)
    pending_docs = 0
    last_commit = time.perf_counter()

    def batches() -> Iterator[tuple[list[Path], list[RawPage | RawDoc], list[Skip]]]:
        batch: list[RawPage | RawDoc] = []
        skips: list[Skip] = []
        done_here: list[Path] = []
        for _src, rec in _records(files, mapping, report, done_here.append):
            report.records += 1
            if isinstance(rec, Skip):
                skips.append(rec)
            else:
                if isinstance(rec, RawPage):
                    report.pages += 1
                    report.bytes_in += len(rec.body)
                batch.append(rec)
            # a batch spans source files (one-page HTML files would otherwise be one task each); the
            # sources it lists as done had all their records in this batch or an earlier one
            if len(batch) >= options.batch_records or len(skips) >= 256:
                yield list(done_here), batch, skips
                batch, skips = [], []
                done_here.clear()
        yield list(done_here), batch, skips

    def results() -> Iterator[tuple[list[Path], list[dict[str, Any] | Skip], list[Skip]]]:
        if options.workers <= 1:
            for done, b, sk in batches():
                yield done, process_batch(b, options.extractor), sk
            return
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        todo = batches()
        first = next(todo, None)
        if first is None:
            return
        if ctx.get_start_method() == "fork" and any(_is_page(r) for r in first[1]):
            warm_up()  # once here, shared by the forked workers, instead of once in every worker
        with ctx.Pool(options.workers) as pool:
            meta: list[tuple[list[Path], list[Skip]]] = []

            def feed() -> Iterator[list[RawPage | RawDoc]]:
                for done, b, sk in itertools.chain([first], todo):
                    meta.append((done, sk))
                    yield b

            for i, out in enumerate(pool.imap(_pool_task(options.extractor), feed(), chunksize=1)):
                done, sk = meta[i]
                meta[i] = ([], [])
                yield done, out, sk

    try:
        for done, outs, skips in results():
            for sk in skips:
                report.skip(sk)
            for item in outs:
                if isinstance(item, Skip):
                    report.skip(item)
                    continue
                if _accept(item, dd, sink, report, options):
                    pending_docs += 1
            ended.extend(done)
            now = time.perf_counter()
            if ended and (pending_docs >= options.commit_every_docs or now - last_commit >= options.commit_every_s):
                sink.commit()
                if state is not None:
                    state.mark(ended)
                ended, pending_docs, last_commit = [], 0, now
            if progress is not None:
                report.seconds = time.perf_counter() - t0
                progress(report)
        sink.commit()
        if state is not None and ended:
            state.mark(ended)
    finally:
        report.seconds = time.perf_counter() - t0
    return report


def _is_page(r: RawPage | RawDoc) -> bool:
    return isinstance(r, RawPage) or isinstance(r.fields.get("__page__"), RawPage)


def warm_up() -> None:
    """Load what page processing needs — resiliparse, the public suffix list, py3langid's model
    (~1 s of LZMA) — so that forked workers share it rather than each loading its own."""
    from resiliparse.extract.html2text import extract_plain_text  # noqa: F401
    from resiliparse.parse.encoding import bytes_to_str  # noqa: F401
    from resiliparse.parse.html import HTMLTree  # noqa: F401
    from resiliparse.parse.lang import detect_fast  # noqa: F401

    from heron.ingest.metadata import detect_language

    registrable_domain("www.example.co.uk")
    detect_language("The grey heron is a long-legged wading bird of the heron family.")


class _pool_task:
    def __init__(self, extractor: str) -> None:
        self.extractor = extractor

    def __call__(self, batch: list[RawPage | RawDoc]) -> list[dict[str, Any] | Skip]:
        return process_batch(batch, self.extractor)


def _accept(item: dict[str, Any], dd: Deduper, sink: Sink, report: IngestReport, options: IngestOptions) -> bool:
    src = str(item.pop("__source__", ""))
    try:
        doc = make_document(item, sink.settings, src or None)
    except DocumentError as e:
        report.skip(Skip(src, "bad-document", str(e).removeprefix(f"{src}: ")))
        return False
    md = doc.metadata
    sig = decode_signature(md["minhash"]) if isinstance(md.get("minhash"), str) else None
    ch = md.get("content_hash")
    if sig is not None and isinstance(ch, str):
        v = dd.check(doc.id, ch, sig)
        if v.kind == "exact":
            report.exact_duplicates += 1
            return False
        if v.kind == "near":
            report.near_duplicates += 1
            if options.drop_near_dups:
                report.near_dups_dropped += 1
                return False
            md["near_dup_of"] = v.of
            md["near_dup_similarity"] = round(v.similarity, 3)
    sink.add(doc)
    report.written += 1
    report.languages[doc.language or "unknown"] += 1
    report.with_date += doc.date is not None
    report.with_last_updated += doc.last_updated is not None
    return True
