"""``heron snapshot create|list|restore|delete``: back up an index's last commit to a directory or
S3 (incremental, checksum-verified) and restore it into a new index."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from heron.cli.index_cmd import format_bytes
from heron.snapshots import (
    create_snapshot,
    delete_snapshot,
    list_snapshots,
    open_repository,
    restore_snapshot,
)

_REPO_HELP = ("Repository: a directory, file:///path or s3://bucket/prefix (S3 credentials, region and "
              "endpoint from the standard AWS chain, e.g. AWS_PROFILE, AWS_ENDPOINT_URL). Env: HERON_SNAPSHOT_REPO.")


def repo_option(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option("--endpoint-url", default=None, help="S3 endpoint (overrides the AWS chain).")(f)
    return click.option("--repo", "repo_uri", required=True, envvar="HERON_SNAPSHOT_REPO", help=_REPO_HELP)(f)


@click.group("snapshot")
def snapshot_group() -> None:
    """Snapshots of indexes: create, list, restore, delete.

    \b
    heron snapshot create my-index --repo s3://backups/heron --name nightly-1
    heron snapshot list --repo s3://backups/heron
    heron snapshot restore nightly-1 restored-index --repo s3://backups/heron
    """


@snapshot_group.command("create")
@click.argument("path", type=click.Path(path_type=Path))
@repo_option
@click.option("--name", default=None, help="Snapshot name (default: snap-<UTC timestamp>).")
def create_cmd(path: Path, repo_uri: str, endpoint_url: str | None, name: str | None) -> None:
    """Snapshot the last commit of the index at PATH (only files the repository lacks are uploaded)."""
    info = create_snapshot(path, open_repository(repo_uri, endpoint_url), name)
    click.echo(f"snapshot {info.name}: generation {info.generation}, {info.doc_count:,} docs, {len(info.files)} files "
               f"({format_bytes(info.size_bytes)}); uploaded {info.uploaded_files} files "
               f"({format_bytes(info.uploaded_bytes)})")


@snapshot_group.command("list")
@repo_option
@click.option("--json", "as_json", is_flag=True)
def list_cmd(repo_uri: str, endpoint_url: str | None, as_json: bool) -> None:
    """List the snapshots in the repository, oldest first."""
    snaps = list_snapshots(open_repository(repo_uri, endpoint_url))
    if as_json:
        click.echo(orjson.dumps([s.to_dict() for s in snaps]).decode())
        return
    for s in snaps:
        click.echo(f"{s.name:<32} {s.created}  generation {s.generation:>6}  {s.doc_count:>12,} docs  "
                   f"{format_bytes(s.size_bytes):>10}")
    if not snaps:
        click.echo("no snapshots")


@snapshot_group.command("restore")
@click.argument("name")
@click.argument("target", type=click.Path(path_type=Path))
@repo_option
def restore_cmd(name: str, target: Path, repo_uri: str, endpoint_url: str | None) -> None:
    """Restore snapshot NAME into a new index at TARGET (verifying every checksum)."""
    info = restore_snapshot(open_repository(repo_uri, endpoint_url), name, target)
    click.echo(f"restored {info.name} into {target}: {info.doc_count:,} docs, {len(info.files)} files verified")


@snapshot_group.command("delete")
@click.argument("name")
@repo_option
def delete_cmd(name: str, repo_uri: str, endpoint_url: str | None) -> None:
    """Delete snapshot NAME and the files no other snapshot uses."""
    n = delete_snapshot(open_repository(repo_uri, endpoint_url), name)
    click.echo(f"deleted snapshot {name} ({n} files no longer used)")
