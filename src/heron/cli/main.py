"""``heron`` command group: registers subcommands and turns errors into clean exits.

Exit status: 0 ok, 1 unexpected error (a bug: the traceback is printed), 2 user error
(bad arguments, bad input, missing index, query syntax, any ``HeronError``) — shown as one
clean message without a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from heron import __version__
from heron.cli.alias_cmd import alias_group
from heron.cli.bench_cmd import bench_command
from heron.cli.check_cmd import check_command
from heron.cli.eval_cmd import eval_command
from heron.cli.index_cmd import index_command
from heron.cli.ingest_cmd import ingest_command
from heron.cli.inspect_cmd import inspect_command
from heron.cli.options import UserError
from heron.cli.search_cmd import search_command
from heron.cli.serve_cmd import serve_command
from heron.cli.snapshot_cmd import snapshot_group
from heron.errors import HeronError


class EnvironmentProblem(click.ClickException):
    """An environment problem (I/O error, permissions, disk full): exit status 1, no traceback."""

    exit_code = 1


class HeronGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # the reader of our output went away (e.g. `heron inspect idx | head`): stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except HeronError as e:
            raise UserError(str(e)) from None
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
            raise UserError(str(e)) from None
        except OSError as e:
            raise EnvironmentProblem(str(e)) from None


@click.group(cls=HeronGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="heron")
def cli() -> None:
    """heron: a self-hosted BM25 search engine.

    \b
    heron index my-index --input data/demo/corpus.jsonl.gz
    heron search my-index "how do birds navigate during migration"
    heron inspect my-index --term migration
    heron eval --dataset path/to/beir/scifact
    """


cli.add_command(index_command)
cli.add_command(search_command)
cli.add_command(eval_command)
cli.add_command(inspect_command)
cli.add_command(bench_command)
cli.add_command(check_command)
cli.add_command(snapshot_group)
cli.add_command(alias_group)
cli.add_command(serve_command)
cli.add_command(ingest_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="heron")


if __name__ == "__main__":  # pragma: no cover
    main()
