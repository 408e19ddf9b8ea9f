"""``heron bench``: run the repository's benchmark harness (``benchmarks/run.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from heron.cli.options import UserError


def find_bench_script() -> Path | None:
    """``benchmarks/run.py`` of the source checkout: above the working directory or this package."""
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for d in (start, *start.parents):
            p = d / "benchmarks" / "run.py"
            if p.is_file():
                return p
    return None


@click.command(
    "bench",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_command(args: tuple[str, ...]) -> None:
    """Run benchmarks/run.py of the source checkout, passing ARGS through (try: heron bench --help)."""
    script = find_bench_script()
    if script is None:
        raise UserError(
            "benchmarks/run.py not found: the benchmark harness ships with the source repository, not the "
            "installed package. In a checkout, run `make bench` (arguments via BENCH_ARGS='...')."
        )
    rc = subprocess.call([sys.executable, str(script), *args], cwd=script.parent.parent)
    sys.exit(rc)
