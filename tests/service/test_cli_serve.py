"""``heron serve`` argument and configuration errors (exit 2, one clean line)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from heron.cli.main import cli


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["serve", *args])
    return r.exit_code, r.output


def test_help() -> None:
    code, out = run("--help")
    assert code == 0 and "--index NAME=PATH" in out


def test_nothing_to_serve() -> None:
    code, out = run()
    assert code == 2 and "nothing to serve" in out


def test_missing_index(tmp_path: Path) -> None:
    code, out = run("--index", f"x={tmp_path / 'none'}", "--no-warmup")
    assert code == 2 and "no heron index" in out and "Traceback" not in out


def test_bad_config(tmp_path: Path) -> None:
    cfg = tmp_path / "h.toml"
    cfg.write_text("port = 'x'\n")
    code, out = run("--config", str(cfg), "--index", "a=/tmp")
    assert code == 2 and "port must be int" in out


def test_bad_index_name() -> None:
    code, out = run("--index", "bad name=/tmp")
    assert code == 2 and "invalid index name" in out
