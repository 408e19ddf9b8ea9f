"""``heron index``: build (or append to) an index from JSON-lines files."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from heron.api import Index
from heron.cli.io import read_jsonl, resolve_input
from heron.cli.options import (
    UserError,
    build_settings,
    given_settings_options,
    progress_option,
    settings_options,
)
from heron.config import IndexSettings
from heron.document import Document, make_document
from heron.embed.onnx import RUNTIME_ENV, RUNTIMES, resolve_runtime
from heron.errors import DocumentError, HeronError
from heron.index.manifest import MANIFEST
from heron.index.writer import IndexWriter
from heron.storage.fs import FsDirectory

#: skipped lines reported one by one before the rest are only counted
MAX_WARNINGS = 10


class MalformedInputError(HeronError):
    """A malformed input line under ``--on-error fail`` (the batch is rolled back)."""


@dataclass
class IngestReport:
    """What one indexing run did."""

    added: int = 0
    skipped: int = 0
    first_error: str | None = None
    seconds: float = 0.0
    inputs: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.added / self.seconds if self.seconds > 0 else 0.0


def make_progress(enabled: bool | None, unit: str, desc: str, total: int | None = None) -> tqdm:
    disable = (not sys.stderr.isatty()) if enabled is None else not enabled
    return tqdm(total=total, unit=unit, unit_scale=total is None, desc=desc, file=sys.stderr, disable=disable,
                dynamic_ncols=True, leave=False)


def ingest(
    writer: IndexWriter,
    inputs: Sequence[Path],
    *,
    on_error: str = "skip",
    progress: bool | None = None,
    flush_every: int | None = None,
    workers: int = 1,
) -> IngestReport:
    """Add every document of ``inputs`` to ``writer`` (no commit).

    Malformed lines are skipped and counted (``on_error="skip"``), or raise
    :class:`MalformedInputError` naming ``file:line`` (``on_error="fail"``). With ``workers``
    > 1, lines are parsed and validated here and analysed in that many worker processes.
    """
    report = IngestReport(inputs=[str(p) for p in inputs])
    t0 = time.perf_counter()
    bar = make_progress(progress, " docs", "indexing")
    try:
        docs = _valid_documents(writer, inputs, on_error, report, bar)
        if workers > 1:
            writer.add_parallel(docs, processes=workers)
        else:
            pending = 0
            for doc in docs:
                writer.add(doc)
                pending += 1
                if flush_every is not None and pending >= flush_every:
                    writer.flush()
                    pending = 0
    finally:
        bar.close()
        report.seconds = time.perf_counter() - t0
    return report


def _valid_documents(
    writer: IndexWriter, inputs: Sequence[Path], on_error: str, report: IngestReport, bar: Any
) -> Iterator[Document]:
    for path in inputs:
        for line in read_jsonl(path):
            error = line.error and f"{line.source}: {line.error}"
            if line.obj is not None:
                try:
                    doc = make_document(line.obj, writer.settings, line.source)
                except DocumentError as e:
                    error = str(e)
                else:
                    report.added += 1
                    bar.update(1)
                    yield doc
                    continue
            assert error is not None
            if on_error == "fail":
                raise MalformedInputError(error)
            report.skipped += 1
            if report.first_error is None:
                report.first_error = error
            if report.skipped <= MAX_WARNINGS:
                bar.write(f"warning: skipped {error}", file=sys.stderr)
                if report.skipped == MAX_WARNINGS:
                    bar.write("warning: further malformed lines are counted but not shown", file=sys.stderr)


def _is_index(p: Path) -> bool:
    return (p / MANIFEST).is_file()


def _prepare_target(target: Path, overwrite: bool) -> bool:
    """Check that an index may be created at ``target``; returns whether an old index is replaced."""
    if target.exists() and not target.is_dir():
        raise UserError(f"{str(target)!r} exists and is not a directory")
    if not target.exists() or not any(target.iterdir()):
        return False
    if not _is_index(target):
        raise UserError(
            f"{str(target)!r} is a non-empty directory that is not a heron index; "
            "refusing to touch it (choose another path)"
        )
    if not overwrite:
        raise UserError(
            f"an index already exists at {str(target)!r}; pass --overwrite to replace it, "
            "or --append to add documents to it"
        )
    return True


@contextlib.contextmanager
def _staged(target: Path, replace_old: bool) -> Iterator[Path]:
    """Build into a sibling staging directory, then swap it in: failure leaves ``target`` as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{time.time_ns()}"
    staging = target.parent / f".{target.name}.heron-staging-{tag}"
    lock = FsDirectory(target).lock() if replace_old else contextlib.nullcontext()
    with lock:  # keeps another writer off the old index while we rebuild it
        try:
            yield staging
            if replace_old:
                old = target.parent / f".{target.name}.heron-old-{tag}"
                os.rename(target, old)
                os.rename(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                if target.exists():
                    target.rmdir()  # empty directory
                os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def fill(
    index: Index,
    inputs: Sequence[Path],
    *,
    on_error: str,
    progress: bool | None,
    force_merge: bool,
    flush_every: int | None = None,
    workers: int = 1,
) -> IngestReport:
    """Ingest ``inputs`` into ``index`` and commit (everything or, on error, nothing)."""
    with index.writer() as w:
        report = ingest(w, inputs, on_error=on_error, progress=progress, flush_every=flush_every, workers=workers)
        if force_merge:
            w.force_merge(1)
    return report


def create_index(
    target: Path,
    settings: IndexSettings,
    inputs: Sequence[Path],
    *,
    overwrite: bool = False,
    on_error: str = "skip",
    progress: bool | None = None,
    force_merge: bool = True,
    workers: int = 1,
) -> IngestReport:
    """Create a new index at ``target`` from ``inputs`` (atomically: all or nothing)."""
    replace_old = _prepare_target(target, overwrite)
    with _staged(target, replace_old) as staging:
        idx = Index.create(staging, settings)
        try:
            report = fill(idx, inputs, on_error=on_error, progress=progress, force_merge=force_merge,
                          workers=workers)
        finally:
            idx.close()
    return report


def print_summary(report: IngestReport, target: Path | None, index: Index) -> None:
    st = index.stats()
    click.echo(
        f"indexed {_plural(report.added, 'doc')} in {report.seconds:.2f} s ({report.rate:,.0f} docs/s)"
        + (f" into {target}" if target is not None else "")
    )
    click.echo(
        f"index: {_plural(st.doc_count, 'doc')}, {_plural(st.segment_count, 'segment')}, "
        f"{format_bytes(st.size_bytes)}"
    )
    if report.skipped:
        click.echo(
            f"skipped {_plural(report.skipped, 'malformed line')}; "
            f"first: {report.first_error}",
            err=True,
        )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def fail_message(e: MalformedInputError) -> str:
    return f"{e}\nnothing was committed (--on-error fail); fix that line, or pass --on-error skip to skip bad lines"


@click.command("index")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--input", "-i", "inputs", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="JSONL or JSONL.gz file, or a BEIR dataset directory (uses its corpus.jsonl[.gz]). Repeatable.")
@settings_options
@click.option("--on-error", type=click.Choice(["skip", "fail"]), default="skip", show_default=True,
              help="Malformed lines: skip them (counted, first shown) or stop and commit nothing.")
@click.option("--overwrite", is_flag=True, help="Replace an existing index at PATH (only once the new one is built).")
@click.option("--append", is_flag=True, help="Add to the existing index at PATH (documents with known ids replace).")
@click.option("--force-merge/--no-force-merge", default=True, show_default=True,
              help="Merge the index down to one segment at the end (fastest search).")
@click.option("--workers", "-j", type=click.IntRange(0, 256), default=1, show_default=True,
              help="Worker processes analysing documents in parallel (0 = one per CPU core).")
@click.option("--embed-runtime", type=click.Choice(RUNTIMES), default=None,
              help="Runtime that embeds passages (with vectors): onnxruntime (int8; the default), openvino "
                   "(bf16 on CPUs with AMX; pip install 'heron[openvino]') or auto (openvino where it is "
                   "installed and the CPU has AMX-bf16). Default: $HERON_EMBED_RUNTIME, else onnxruntime.")
@progress_option
def index_command(
    path: Path,
    inputs: tuple[Path, ...],
    on_error: str,
    overwrite: bool,
    append: bool,
    force_merge: bool,
    workers: int,
    embed_runtime: str | None,
    progress: bool | None,
    **settings_kw: Any,
) -> None:
    """Build an index at PATH from JSON-lines documents.

    Each line is a JSON object with "id" (or "_id"), "title", "text" and optionally "url",
    "date", "last_updated", "language" and "metadata". Example:

        heron index my-index --input data/demo/corpus.jsonl.gz
    """
    files = [resolve_input(p) for p in inputs]
    if embed_runtime is not None:
        resolve_runtime(embed_runtime)  # a missing package fails here, before any work
        os.environ[RUNTIME_ENV] = embed_runtime  # worker processes inherit it
    t0 = time.perf_counter()
    try:
        if append:
            if overwrite:
                raise UserError("--append and --overwrite exclude each other")
            buffer_docs = settings_kw.pop("buffer_docs", None)
            if settings_kw.pop("buffer_mb", None) is not None:
                raise UserError("--buffer-mb is an index setting, fixed when the index is created; "
                                "with --append, bound the buffer with --buffer-docs")
            given = given_settings_options(settings_kw)
            if given:
                raise UserError(
                    f"{', '.join(given)}: index settings are fixed when an index is created; "
                    "they cannot be changed with --append (rebuild with --overwrite instead)"
                )
            if not _is_index(path):
                raise UserError(f"no heron index at {str(path)!r} to append to; drop --append to create one")
            idx = Index.open(path)
            report = fill(idx, files, on_error=on_error, progress=progress, force_merge=force_merge,
                          flush_every=buffer_docs, workers=workers or (os.cpu_count() or 1))
        else:
            settings = build_settings(**settings_kw)
            report = create_index(path, settings, files, overwrite=overwrite, on_error=on_error,
                                  progress=progress, force_merge=force_merge,
                                  workers=workers or (os.cpu_count() or 1))
            idx = Index.open(path)
    except MalformedInputError as e:
        raise UserError(fail_message(e)) from None
    report.seconds = time.perf_counter() - t0
    if report.added == 0 and report.skipped == 0:
        click.echo("warning: the input contained no documents", err=True)
    with idx:
        print_summary(report, path, idx)
