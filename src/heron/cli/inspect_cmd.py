"""``heron inspect``: what an index holds (settings, segments, field statistics, files, terms)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from heron.analysis import get_analyzer
from heron.api import Index
from heron.cli.index_cmd import format_bytes
from heron.cli.options import describe_settings
from heron.index.reader import Searcher


def term_stats(searcher: Searcher, word: str) -> list[dict[str, Any]]:
    """Per text field: the analyzed terms of ``word`` and their document frequencies.

    Frequencies count documents in every segment, deleted ones included until a merge
    removes them (the same statistics BM25 scoring uses).
    """
    out = []
    for i, f in enumerate(searcher.settings.text_fields):
        terms = get_analyzer(f.analyzer).terms(word)
        out.append({
            "field": f.name,
            "terms": [{"term": t, "doc_freq": searcher.stats.doc_freq(t, i)} for t in terms],
        })
    return out


def gather(idx: Index, words: tuple[str, ...]) -> dict[str, Any]:
    st = idx.stats()
    s = idx.searcher()
    files = {name: idx.directory.size(name) for name in idx.directory.list()}
    return {
        "generation": st.generation,
        "docs": st.doc_count,
        "deleted": st.deleted_count,
        "size_bytes": st.size_bytes,
        "settings": idx.settings.to_dict(),
        "segments": st.segments,
        "fields": st.fields,
        "files": files,
        "terms": {w: term_stats(s, w) for w in words},
    }


@click.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--term", "terms", multiple=True, metavar="WORD",
              help="Show per-field document frequencies of WORD (analyzed like the field). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
def inspect_command(path: Path, terms: tuple[str, ...], as_json: bool) -> None:
    """Show the settings, segments, field statistics and files of the index at PATH."""
    with Index.open(path) as idx:
        info = gather(idx, terms)
        settings = idx.settings
    if as_json:
        click.echo(orjson.dumps(info).decode("utf-8"))
        return
    click.echo(f"index {path}  (generation {info['generation']})")
    click.echo(f"  docs: {info['docs']:,} live, {info['deleted']:,} deleted; size {format_bytes(info['size_bytes'])}")
    click.echo(f"  settings: {describe_settings(settings)}")
    for f in settings.text_fields:
        p = settings.field_params(f)
        analyzer = f.analyzer if isinstance(f.analyzer, str) else orjson.dumps(f.analyzer).decode()
        click.echo(f"    text field {f.name}: analyzer {analyzer}, weight {f.weight:g}, k1={p.k1:g} b={p.b:g}, "
                   f"stored={'yes' if f.stored else 'no'}")
    for ff in settings.filter_fields:
        click.echo(f"    filter field {ff.name}: {ff.type}")
    click.echo(f"    documents stored: {'yes' if settings.store_documents else 'no'}; "
               f"writer buffer {settings.writer_buffer_docs:,} docs or {settings.writer_buffer_mb:,} MiB")
    click.echo(f"segments ({len(info['segments'])}):")
    click.echo(f"  {'name':<10} {'docs':>10} {'deleted':>9} {'bytes':>12}")
    for seg in info["segments"]:
        click.echo(f"  {seg['name']:<10} {seg['doc_count']:>10,} {seg['del_count']:>9,} {seg['size_bytes']:>12,}")
    click.echo("fields:")
    for name, fs in info["fields"].items():
        click.echo(f"  {name:<10} total length {int(fs['total_length']):>14,}   avgdl {fs['avgdl']:.2f}")
    click.echo("files:")
    for name, size in info["files"].items():
        click.echo(f"  {name:<24} {size:>12,}")
    for word, rows in info["terms"].items():
        click.echo(f"term {word!r}:")
        for row in rows:
            if not row["terms"]:
                click.echo(f"  {row['field']:<10} (no index term: stopword or no letters/digits)")
            for t in row["terms"]:
                click.echo(f"  {row['field']:<10} {t['term']!r:<20} doc freq {t['doc_freq']:,}")
