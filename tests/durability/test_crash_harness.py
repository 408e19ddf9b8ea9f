"""The crash harness in CI: 10 real SIGKILL cycles of a live writer process, 0 acknowledged
operations lost (half of them with the writer in an indexer process; the 50-cycle run: ``python scripts/crash_harness.py --cycles 50``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "scripts" / "crash_harness.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HARNESS), *args], capture_output=True, text=True, timeout=600)


def test_ten_kill_cycles_lose_no_acknowledged_operation(tmp_path: Path) -> None:
    r = run("--cycles", "10", "--seed", "11", "--workdir", str(tmp_path))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "acknowledged operations lost: 0 over 10 kill cycles" in r.stdout
    acked = [int(line.split()[2]) for line in r.stdout.splitlines() if line.startswith("cycle")]
    assert len(acked) == 10 and sum(acked) > 100  # the writer did real work before each kill


def test_harness_detects_lost_writes(tmp_path: Path) -> None:
    # a writer that acknowledges before anything is durable (a transaction never committed)
    r = run("--cycles", "2", "--seed", "3", "--workdir", str(tmp_path), "--durability", "commit")
    assert r.returncode == 1 and "FAILED" in r.stdout, r.stdout[-2000:]
