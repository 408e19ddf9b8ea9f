"""Fixtures of the ingest tests: the shared web samples, and one index built from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from heron.cli.main import cli


@pytest.fixture(scope="session")
def web_data(shared_data: Path) -> Path:
    return shared_data / "web"


@pytest.fixture(scope="session")
def web_index(tmp_path_factory: pytest.TempPathFactory, web_data: Path) -> tuple[Path, str]:
    """``heron ingest`` of every shared WARC/ARC file and the article-benchmark HTML pages."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("ingest") / "web"
    res = CliRunner().invoke(cli, ["ingest", str(web_data / "warc"), str(web_data / "html"), "--index", str(out),
                                   "-j", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    return out, res.output
