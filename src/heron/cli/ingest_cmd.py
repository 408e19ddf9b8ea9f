"""``heron ingest``: WARC/ARC, HTML, JSONL, Parquet and BEIR sources into an index or a running server."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from heron.api import Index
from heron.cli.options import UserError, progress_option
from heron.index.manifest import MANIFEST
from heron.ingest.dedup import DEFAULT_THRESHOLD, Deduper
from heron.ingest.extract import EXTRACTORS
from heron.ingest.pipeline import (
    BulkSink,
    IngestOptions,
    IngestReport,
    ResumeState,
    Sink,
    WriterSink,
    run_ingest,
    seed_from_index,
)
from heron.ingest.readers import expand_sources, parse_mapping


def _state_path(target: str, given: Path | None) -> Path | None:
    if given is not None:
        return given
    if target.startswith(("http://", "https://")):
        return None
    p = Path(target)
    return p.parent / f".{p.name}.ingest-state.json"


def format_report(r: IngestReport) -> str:
    d = r.to_dict()
    lines = [
        f"ingested {d['written']:,} documents from {d['pages']:,} pages / {d['records']:,} records of "
        f"{d['sources']:,} sources in {d['seconds']:.1f} s ({d['pages_per_s']:,.1f} pages/s, {d['mb_per_s']:.2f} MB/s)",
        f"duplicates: {d['exact_duplicates']:,} exact (dropped), {d['near_duplicates']:,} near"
        + (f" ({d['near_duplicates_dropped']:,} dropped)" if d["near_duplicates_dropped"] else " (grouped, kept)"),
        f"dates: {d['date_coverage']:.0%} with a published date, {d['last_updated_coverage']:.0%} with last-updated",
    ]
    if d["languages"]:
        lines.append("languages: " + ", ".join(f"{k} {v:,}" for k, v in list(d["languages"].items())[:10]))
    if d["sources_already_done"]:
        lines.append(f"resumed: {d['sources_already_done']:,} sources already done were skipped")
    if r.skipped:
        lines.append(f"skipped {r.skipped_total:,} records:")
        for reason, n in r.skipped.most_common():
            lines.append(f"  {reason:<28} {n:>8,}   e.g. {r.skip_examples.get(reason, '')[:110]}")
    return "\n".join(lines)


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--index", "target", required=True,
              help="Index directory (created if missing) or a running server's index URL, "
                   "e.g. http://127.0.0.1:8000/v1/indexes/web (uses its bulk API).")
@click.option("--workers", "-j", type=click.IntRange(0, 256), default=0, show_default=True,
              help="Extraction worker processes (0 = one per CPU core).")
@click.option("--extractor", type=click.Choice(EXTRACTORS), default="heron", show_default=True,
              help="Main-content extractor (see benchmarks/ingest_extraction.py for quality and speed).")
@click.option("--field", "fields", multiple=True, metavar="TARGET=COLUMN",
              help="JSONL/Parquet field mapping, e.g. --field text=body --field html=raw_html. Repeatable.")
@click.option("--near-dup-threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=DEFAULT_THRESHOLD,
              show_default=True, help="Estimated Jaccard (MinHash) at which two documents are near-duplicates.")
@click.option("--drop-near-dups", is_flag=True, help="Drop near-duplicates instead of grouping them.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip source files a previous run fully committed (state file next to the index).")
@click.option("--state", "state_file", type=click.Path(path_type=Path), default=None,
              help="Resume state file (default: .<index>.ingest-state.json next to a local index).")
@click.option("--api-key", envvar="HERON_API_KEY", default=None, help="Bearer key for --index URL (env HERON_API_KEY).")
@click.option("--report-json", type=click.Path(path_type=Path), default=None, help="Also write the report as JSON.")
@progress_option
def ingest_command(
    sources: tuple[Path, ...], target: str, workers: int, extractor: str, fields: tuple[str, ...],
    near_dup_threshold: float, drop_near_dups: bool, resume: bool, state_file: Path | None, api_key: str | None,
    report_json: Path | None, progress: bool | None,
) -> None:
    """Ingest web crawls and data files into an index.

    SOURCES are WARC/ARC files (.warc, .warc.gz, .arc, .arc.gz), HTML files (.html, .htm, .html.gz),
    JSONL(.gz) or Parquet files, directories of them, or BEIR dataset directories. Pages are
    extracted to clean text (headings kept as "## ..." lines), given title, URL, dates, language and
    metadata (canonical URL, registrable domain, outlinks), exact duplicates are dropped and
    near-duplicates grouped. Broken records are skipped and counted by reason.

    \b
    heron ingest crawl/*.warc.gz pages/ --index web-index
    heron ingest export.parquet --field text=body --field id=doc_id --index web-index
    heron ingest crawl.warc.gz --index http://127.0.0.1:8000/v1/indexes/web
    """
    mapping = parse_mapping(fields)
    n_workers = workers or (os.cpu_count() or 1)
    options = IngestOptions(extractor=extractor, workers=n_workers, near_dup_threshold=near_dup_threshold,
                            drop_near_dups=drop_near_dups)
    state = ResumeState(_state_path(target, state_file)) if resume else None
    files = expand_sources(list(sources))
    if not files:
        raise UserError("no readable sources: the given directories contain no WARC/HTML/JSONL/Parquet files")
    deduper = Deduper(near_dup_threshold)
    index: Index | None = None
    sink: Sink
    if target.startswith(("http://", "https://")):
        if "/v1/indexes/" not in target:
            raise UserError(f"--index {target!r}: a server target must be the index URL, "
                            "e.g. http://127.0.0.1:8000/v1/indexes/NAME")
        sink = BulkSink(target, api_key)
    else:
        path = Path(target)
        if (path / MANIFEST).is_file():
            index = Index.open(path)
        elif path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UserError(f"{target!r} exists and is not a heron index; choose another --index path")
        else:
            index = Index.create(path)
            if state is not None and state.path is not None and state.path.exists():
                state.path.unlink()  # a new index: an old state file describes something else
                state = ResumeState(state.path)
        seed_from_index(deduper, index)
        sink = WriterSink(index.writer())
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    bar = tqdm(total=None, unit=" rec", desc="ingest", file=sys.stderr, disable=disable, dynamic_ncols=True,
               leave=False)
    last = [0.0, 0]

    def show(r: IngestReport) -> None:
        now = time.perf_counter()
        bar.update(r.records - last[1])
        last[1] = r.records
        if now - last[0] > 0.5:
            last[0] = now
            top = ", ".join(f"{k} {v}" for k, v in r.skipped.most_common(3))
            bar.set_postfix_str(f"{r.pages / max(r.seconds, 1e-9):.0f} pages/s, "
                                f"{r.bytes_in / 1e6 / max(r.seconds, 1e-9):.1f} MB/s, docs {r.written}, "
                                f"skipped {r.skipped_total}" + (f" ({top})" if top else ""))

    ok = False
    try:
        report = run_ingest(files, sink, options, mapping=mapping, state=state, deduper=deduper, progress=show)
        ok = True
    finally:
        bar.close()
        if not ok and isinstance(sink, WriterSink):
            sink.writer.rollback()
        sink.close()
        if index is not None:
            index.close()
    click.echo(format_report(report))
    if isinstance(sink, BulkSink) and sink.failed:
        click.echo(f"the server rejected {sink.failed:,} documents; first: {'; '.join(sink.errors[:3])}", err=True)
    if report_json is not None:
        report_json.write_text(json.dumps(report.to_dict(), indent=2), "utf-8")


