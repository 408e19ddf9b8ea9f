"""``heron alias set|remove|list``: edit the aliases of a service data directory (a running
``heron serve --data-dir`` picks changes up at its next refresh)."""

from __future__ import annotations

from pathlib import Path

import click

from heron.cli.options import UserError
from heron.service.aliases import ALIASES_FILE, AliasStore


def _store(data_dir: Path) -> AliasStore:
    if not data_dir.is_dir():
        raise UserError(f"data directory {str(data_dir)!r} does not exist")
    return AliasStore(data_dir / ALIASES_FILE)


@click.group("alias")
def alias_group() -> None:
    """Index aliases (search an alias; swap it to a rebuilt index atomically).

    \b
    heron alias set products products-v2 --data-dir /var/lib/heron
    heron alias list --data-dir /var/lib/heron
    """


@alias_group.command("set")
@click.argument("alias")
@click.argument("index")
@click.option("--data-dir", type=click.Path(path_type=Path), required=True, envvar="HERON_DATA_DIR")
def set_cmd(alias: str, index: str, data_dir: Path) -> None:
    """Point ALIAS at INDEX (an index under the data directory), replacing its old target atomically."""
    if not (data_dir / index).is_dir():
        raise UserError(f"no index {index!r} under {str(data_dir)!r}")
    if (data_dir / alias).is_dir():
        raise UserError(f"{alias!r} is an index name; an alias needs a name of its own")
    old = _store(data_dir).set(alias, index)
    click.echo(f"{alias} -> {index}" + (f" (was {old})" if old else ""))


@alias_group.command("remove")
@click.argument("alias")
@click.option("--data-dir", type=click.Path(path_type=Path), required=True, envvar="HERON_DATA_DIR")
def remove_cmd(alias: str, data_dir: Path) -> None:
    """Remove ALIAS."""
    if not _store(data_dir).remove(alias):
        raise UserError(f"no alias {alias!r}")
    click.echo(f"removed {alias}")


@alias_group.command("list")
@click.option("--data-dir", type=click.Path(path_type=Path), required=True, envvar="HERON_DATA_DIR")
def list_cmd(data_dir: Path) -> None:
    """List the aliases."""
    for a, i in sorted(_store(data_dir).items().items()):
        click.echo(f"{a} -> {i}")
