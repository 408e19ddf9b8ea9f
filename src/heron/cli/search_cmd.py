"""``heron search``: query an index from the terminal (readable or JSON-lines output)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import orjson

from heron.api import Index
from heron.cli.options import build_filters, filter_options
from heron.search.results import Explanation, Hit

PREVIEW_CHARS = 200
_WS = re.compile(r"\s+")


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """``text`` on one line, cut at a word boundary near ``limit`` characters."""
    t = _WS.sub(" ", text).strip()
    if len(t) <= limit:
        return t
    cut = t[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def explanation_dict(e: Explanation) -> dict[str, Any]:
    return {"score": e.score, "contributions": [asdict(c) for c in e.contributions], "description": e.describe()}


def hit_dict(rank: int, h: Hit) -> dict[str, Any]:
    d: dict[str, Any] = {"rank": rank, "id": h.id, "score": h.score}
    for k, v in (h.fields or {}).items():
        if k != "id":
            d[k] = v
    if h.explanation is not None:
        d["explanation"] = explanation_dict(h.explanation)
    return d


def print_hit(rank: int, h: Hit, explain: bool) -> None:
    title = h.title or "(no title)"
    click.echo(f"{rank:>3}. {h.score:8.4f}  {click.style(h.id, fg='cyan')}  {click.style(title, bold=True)}")
    if h.url:
        click.echo(f"     {h.url}")
    if h.text:
        click.echo(f"     {preview(h.text)}")
    if explain and h.explanation is not None:
        for line in h.explanation.describe().splitlines():
            click.echo(f"       {line}")
    click.echo()


@click.command("search")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("query", nargs=-1, required=True)
@click.option("-k", "k", type=click.IntRange(min=0), default=10, show_default=True, help="Number of results.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Results to skip (paging).")
@click.option("--and", "and_", is_flag=True, help="Require every word (default: rank by any word).")
@click.option("--explain", is_flag=True, help="Show how each score was computed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per hit.")
@click.option("--algorithm", type=click.Choice(["auto", "maxscore", "exhaustive"]), default="auto", hidden=True)
@filter_options
def search_command(
    path: Path,
    query: tuple[str, ...],
    k: int,
    offset: int,
    and_: bool,
    explain: bool,
    as_json: bool,
    algorithm: str,
    domains: tuple[str, ...],
    after: str | None,
    before: str | None,
    languages: tuple[str, ...],
) -> None:
    """Search the index at PATH for QUERY.

    Query syntax: words (ranked OR, or all required with --and), "exact phrases",
    +required, -excluded, title:word, site:example.com. Put -- before a query that
    starts with '-':  heron search my-index -- "-cats birds"
    """
    text = " ".join(query)
    filters = build_filters(domains, after, before, languages)
    with Index.open(path) as idx:
        t0 = time.perf_counter()
        searcher = idx.searcher()
        hits = searcher.search(
            text, k, offset=offset, filters=filters, operator="and" if and_ else "or", explain=explain,
            algorithm=algorithm,
        )
        ms = (time.perf_counter() - t0) * 1000
        if as_json:
            for i, h in enumerate(hits, offset + 1):
                click.echo(orjson.dumps(hit_dict(i, h)).decode("utf-8"))
            return
        if not hits:
            click.echo(f"no results for {text!r} ({searcher.doc_count():,} docs searched, {ms:.1f} ms)")
            return
        for i, h in enumerate(hits, offset + 1):
            print_hit(i, h, explain)
        click.echo(f"{len(hits)} result{'s' if len(hits) != 1 else ''} in {ms:.1f} ms "
                   f"({searcher.doc_count():,} docs)")
