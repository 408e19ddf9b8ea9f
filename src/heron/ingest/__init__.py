"""heron ingest: web crawls (WARC/ARC, HTML) and data files (JSONL, Parquet, BEIR) into clean,
deduplicated documents with the metadata heron's filters use.

    from heron.ingest import IngestOptions, WriterSink, run_ingest
    with heron.Index.create("web") as idx, idx.writer() as w:
        report = run_ingest([Path("crawl.warc.gz")], WriterSink(w), IngestOptions(workers=2))

See ``pipeline.py`` for the flow and ``heron ingest --help`` for the command line.
"""

from heron.ingest.dedup import Deduper, content_hash, minhash
from heron.ingest.extract import EXTRACTORS, extract_text
from heron.ingest.pipeline import (
    BulkSink,
    IngestError,
    IngestOptions,
    IngestReport,
    ResumeState,
    WriterSink,
    process_page,
    run_ingest,
    seed_from_index,
)
from heron.ingest.readers import SourceError, read_source
from heron.ingest.records import RawDoc, RawPage, Skip
from heron.ingest.urls import normalize_url, registrable_domain

__all__ = [
    "EXTRACTORS",
    "BulkSink",
    "Deduper",
    "IngestError",
    "IngestOptions",
    "IngestReport",
    "RawDoc",
    "RawPage",
    "ResumeState",
    "Skip",
    "SourceError",
    "WriterSink",
    "content_hash",
    "extract_text",
    "minhash",
    "normalize_url",
    "process_page",
    "read_source",
    "registrable_domain",
    "run_ingest",
    "seed_from_index",
]
