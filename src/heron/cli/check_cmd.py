"""``heron check PATH``: verify every checksum of an index and report."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from heron.cli.options import UserError
from heron.index.check import check_index
from heron.index.manifest import MANIFEST


@click.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def check_command(path: Path, as_json: bool) -> None:
    """Verify the manifest, every segment / stored-document / deletes file and the write-ahead
    log of the index at PATH. Exit status 0 when intact, 2 when anything is damaged."""
    if not (path / MANIFEST).is_file():
        raise UserError(f"no heron index at {str(path)!r} (no {MANIFEST})")
    r = check_index(path)
    if as_json:
        click.echo(orjson.dumps({"path": r.path, "ok": r.ok, "problems": r.problems, "warnings": r.warnings,
                                 "generation": r.generation, "docs": r.doc_count, "wal_pending": r.wal_pending,
                                 "files": [{"name": n, "kind": k, "bytes": b} for n, k, b in r.files]}).decode())
    else:
        for name, kind, size in r.files:
            click.echo(f"ok      {name:<28} {kind:<10} {size:>12,} bytes")
        for w in r.warnings:
            click.echo(f"warning {w}")
        for pr in r.problems:
            click.echo(f"DAMAGED {pr}")
        click.echo(f"{'OK' if r.ok else 'DAMAGED'}: {len(r.files)} files verified, {len(r.problems)} problems, "
                   f"generation {r.generation}, {r.doc_count:,} docs, {r.wal_pending} log records after the commit")
    if not r.ok:
        raise SystemExit(2)
