"""``benchmarks/run.py --interleave`` end to end on Cranfield with two heron configurations (both
run in the project environment, so no peer install is needed): every engine's worker stays
alive and the timed passes alternate between engines, the order rotating per pass."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import run  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.data]


def test_interleaved_passes_alternate_between_engines(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "out"
    rc = run.main(["--corpora", "cranfield", "--engines", "heron,heron-mf", "--interleave", "--passes", "2",
                   "--warmup", "10", "--min-pass-queries", "500", "--no-plots", "--no-setup-peers", "--data", str(shared_data), "--out", str(out)])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["meta"]["interleave"] is True
    by_engine = {r["engine"]: r for r in res["results"]}
    assert set(by_engine) == {"heron", "heron-mf"}
    for r in by_engine.values():
        assert r["ok"], r.get("error")
        assert r["relevance"]["ndcg@10"] > 0.3
        # Cranfield's 225 queries cycled to >= 500 per timed pass; relevance from one cycle
        assert r["search"]["10"]["cycles_per_pass"] == 3
        assert r["search"]["10"]["queries"] == 225
    for k in ("10", "100"):
        # (start time, engine, pass) of every timed pass of this k, in time order
        timeline = sorted((p["started_at"], e, i) for e, r in by_engine.items()
                          for i, p in enumerate(r["search"][k]["passes"]))
        engines_in_order = [e for _, e, _ in timeline]
        # pass 0: heron then heron-mf; pass 1: the rotation starts with heron-mf
        assert engines_in_order == ["heron", "heron-mf", "heron-mf", "heron"], timeline
    assert "interleaved across engines" in (out / "report.md").read_text()
