"""heron benchmark suite: heron and its peers over the same corpora and queries, single-threaded.

What is measured, per engine and corpus: build time (docs/s, single indexing thread), index bytes, peak RSS of
the engine's process (after build and after queries), QPS and p50/p95/p99 latency at top-10 and top-100, CPU ms
per query (``time.process_time``), and on judged sets nDCG@10 and Recall@100 (``pytrec_eval``) from each
engine's top-100 run. Procedure: build (timed), 100 warm-up queries, then N timed passes (default 3) per k;
QPS/CPU from the median pass, latency percentiles over every timed query. See ``worker.py`` for the exact timed
region and ``report.py`` for the report.

Engines: heron (flat field; ``heron-mf`` = heron's native title/text fields, optional), tantivy, tantivy-lean,
bm25s (numba), Pyserini (Lucene), Xapian, SQLite FTS5, rank_bm25 (capped: 20k docs, 100 queries). Each runs
in its own subprocess: heron with the project .venv, peers with ``benchmarks/.peers-venv`` (made by
``benchmarks/setup_peers.sh``, run automatically when missing), Xapian with Debian's ``/usr/bin/python3``. A
peer that cannot be installed or started is reported as such in the report (which, why), never dropped.

Corpus model (``corpora.py``): SciFact (BEIR test queries), Cranfield, CISI, LISA (judged test queries);
enwiki passages 107k (queries: sampled article titles), IMDb 100k long reviews and Blog 300k passages
(queries: first 12 words of sampled documents), and ``replicated-1m`` = enwiki+IMDb+blog x2 with ids
``f"{_id}#r{k}"`` (1.01M docs, labelled REPLICATED). Query-less sets use ``--queries`` (1,000) queries drawn
with ``--seed``. Every engine gets the same normalised query: lowercase, split on non-alphanumerics, OR of the
tokens; every engine indexes one flat field ``title + " " + text``.

How to run:
    make bench                                   # everything (long: up to a few hours with the 1M corpus)
    make bench BENCH_ARGS=--quick                # SciFact + Cranfield, 2 passes: a couple of minutes
    .venv/bin/python benchmarks/run.py --corpora scifact,enwiki --engines heron,tantivy-lean,bm25s \
        --passes 3 --queries 1000
Output: ``benchmarks/results/<timestamp>/`` with ``results.json``, ``report.md``, ``latency_vs_size.png``,
``qps_per_engine.png``, TREC runs of judged sets (``runs/``) and each job's log (``logs/``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import select
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpora  # noqa: E402
import report  # noqa: E402

REPO = HERE.parent
PEERS_VENV = HERE / ".peers-venv"
WORK = HERE / ".work"

ENGINE_SPECS: dict[str, dict[str, Any]] = {
    "heron": {"label": "heron", "env": "heron"},
    "heron-mf": {"label": "heron (multi-field)", "env": "heron"},
    "tantivy": {"label": "tantivy", "env": "peers", "install": "tantivy"},
    "tantivy-lean": {"label": "tantivy-lean", "env": "peers", "install": "tantivy"},
    "bm25s": {"label": "bm25s (numba)", "env": "peers", "install": "bm25s"},
    "pyserini": {"label": "Pyserini (Lucene)", "env": "peers", "install": "pyserini"},
    "xapian": {"label": "Xapian", "env": "xapian", "install": "xapian"},
    "fts5": {"label": "SQLite FTS5", "env": "peers", "install": "fts5"},
    "rank_bm25": {"label": "rank_bm25", "env": "peers", "install": "rank_bm25",
                  "max_docs": 20_000, "max_queries": 100, "warmup": 10},
}
DEFAULT_ENGINES = ("heron", "tantivy", "tantivy-lean", "bm25s", "pyserini", "xapian", "fts5", "rank_bm25")
PEERS = tuple(e for e in DEFAULT_ENGINES if not e.startswith("heron"))

THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "RAYON_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "VECLIB_MAXIMUM_THREADS": "1",
              "OPENAI_API_KEY": "placeholder-not-used", "PYTHONUNBUFFERED": "1"}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def parse_list(value: str, allowed: dict[str, Any] | tuple[str, ...], groups: dict[str, tuple[str, ...]]) -> list[str]:
    out: list[str] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        names = groups.get(part, (part,))
        for n in names:
            if n not in allowed:
                raise SystemExit(f"unknown name {n!r}; choose from {', '.join(list(allowed) + list(groups))}")
            if n not in out:
                out.append(n)
    return out


def pythons(args: argparse.Namespace) -> dict[str, str]:
    heron_py = args.heron_python or (str(REPO / ".venv" / "bin" / "python")
                                     if (REPO / ".venv" / "bin" / "python").exists() else sys.executable)
    return {"heron": heron_py, "peers": args.peers_python or str(PEERS_VENV / "bin" / "python"),
            "xapian": args.xapian_python}


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
        mem_gb = int(mem.split()[1]) / 1024 / 1024
    except (OSError, StopIteration, ValueError):
        mem_gb = math.nan
    return f"{cpu}, {os.cpu_count()} logical CPUs, {mem_gb:.0f} GiB RAM, {platform.platform()}"


def loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def worker_cmd(py: str, args: argparse.Namespace) -> list[str]:
    cmd = [py, str(HERE / "worker.py")]
    if args.taskset is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(args.taskset), *cmd]
    return cmd


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(THREAD_ENV)
    env.pop("PYTHONPATH", None)
    return env


def ensure_peers(engines: list[str], args: argparse.Namespace) -> None:
    need = [e for e in engines if ENGINE_SPECS[e]["env"] in ("peers", "xapian")]
    if not need or args.no_setup_peers or args.peers_python:
        return
    if (PEERS_VENV / "peers-status.json").exists():
        return
    log("benchmarks/.peers-venv is missing: running benchmarks/setup_peers.sh (one time; several minutes)")
    subprocess.run(["bash", str(HERE / "setup_peers.sh")], check=False)


def peer_install_status() -> dict[str, Any]:
    p = PEERS_VENV / "peers-status.json"
    try:
        return json.loads(p.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


def probe(engine: str, py: str, args: argparse.Namespace, install: dict[str, Any]) -> dict[str, Any]:
    spec = ENGINE_SPECS[engine]
    info: dict[str, Any] = {"label": spec["label"], "python": py, "peer": not engine.startswith("heron")}
    inst = install.get(spec.get("install", ""), {})
    inst_failed = (f"; benchmarks/setup_peers.sh reported: {inst.get('reason')}"
                   if inst.get("status") == "failed" else "")
    if not (Path(py).exists() or shutil.which(py)):
        why = ("peers venv missing (run benchmarks/setup_peers.sh)" if spec["env"] == "peers"
               else f"interpreter {py} not found")
        info.update(status="not installed", reason=why + inst_failed)
        return info
    try:
        cp = subprocess.run([py, str(HERE / "worker.py"), "--probe", engine], capture_output=True, text=True,
                            timeout=300, env=worker_env(), cwd=str(REPO))
        line = next((x for x in reversed(cp.stdout.splitlines()) if x.startswith("{")), "")
        pr = json.loads(line) if line else {"ok": False, "error": (cp.stderr or cp.stdout)[-500:]}
    except (subprocess.TimeoutExpired, ValueError) as ex:
        pr = {"ok": False, "error": f"probe failed: {ex}"}
    if pr.get("ok"):
        info.update(status="ok", version=pr.get("version"))
    else:
        info.update(status="not installed" if inst_failed else "failed to start",
                    reason=f"{pr.get('error')}{inst_failed}")
    return info


def evaluate(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> tuple[dict[str, float], str]:
    """Mean nDCG@10 and Recall@100 over every judged query (a query without results scores 0)."""
    try:
        import pytrec_eval
        ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
        per = ev.evaluate({q: run.get(q, {}) or {"__none__": 0.0} for q in qrels})
        nd = sum(per.get(q, {}).get("ndcg_cut_10", 0.0) for q in qrels) / len(qrels)
        rc = sum(per.get(q, {}).get("recall_100", 0.0) for q in qrels) / len(qrels)
        return {"ndcg@10": nd, "recall@100": rc, "queries": len(qrels)}, "pytrec_eval (pytrec-eval-terrier)"
    except ImportError:
        return _evaluate_fallback(qrels, run), "built-in implementation (pytrec_eval not importable)"


def _evaluate_fallback(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    nd_sum = rc_sum = 0.0
    for q, rels in qrels.items():
        ranked = sorted(run.get(q, {}).items(), key=lambda x: (-x[1], x[0]))
        dcg = sum(max(0, rels.get(d, 0)) / math.log2(i + 2) for i, (d, _) in enumerate(ranked[:10]))
        ideal = sorted((v for v in rels.values() if v > 0), reverse=True)[:10]
        idcg = sum(v / math.log2(i + 2) for i, v in enumerate(ideal))
        nd_sum += dcg / idcg if idcg else 0.0
        pos = {d for d, v in rels.items() if v > 0}
        rc_sum += len(pos & {d for d, _ in ranked[:100]}) / len(pos) if pos else 0.0
    return {"ndcg@10": nd_sum / len(qrels), "recall@100": rc_sum / len(qrels), "queries": len(qrels)}


def write_trec(path: Path, run: dict[str, dict[str, float]], tag: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for q, hits in run.items():
            for rank, (d, s) in enumerate(sorted(hits.items(), key=lambda x: -x[1]), 1):
                f.write(f"{q} Q0 {d} {rank} {s:.6f} {tag}\n")


@dataclass
class Job:
    """One engine x corpus job: the worker's input and where its output goes."""

    engine: str
    corpus: str
    spec: dict[str, Any]
    job: dict[str, Any]
    job_path: Path
    res_path: Path
    log_path: Path
    index_dir: Path
    n_docs: int
    limit: int | None
    capped: str | None
    started: float = 0.0
    load_start: float = 0.0

    def start(self) -> None:
        """Write the worker's input and note when (and under what load) the job started."""
        self.job_path.write_text(json.dumps(self.job))
        self.started = time.perf_counter()
        self.load_start = os.getloadavg()[0]


def prepare_job(engine: str, cname: str, qset: dict[str, Any], args: argparse.Namespace, out_dir: Path,
                index_root: Path) -> Job:
    spec, cspec = ENGINE_SPECS[engine], corpora.CORPORA[cname]
    n_docs = qset["n_docs"]
    limit = spec.get("max_docs") if spec.get("max_docs") and n_docs > spec["max_docs"] else None
    queries = qset["queries"]
    capped = None
    warmup = args.warmup
    if spec.get("max_queries") and not cspec.judged and len(queries) > spec["max_queries"]:
        queries = queries[: spec["max_queries"]]
        warmup = min(warmup, spec.get("warmup", warmup))
    if limit or len(queries) < len(qset["queries"]):
        capped = (f"capped: indexed {fmt(limit or n_docs)} of {fmt(n_docs)} documents, ran {len(queries)} of "
                  f"{len(qset['queries'])} queries ({warmup} warm-up)")
    index_dir = index_root / cname / engine
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.rmtree(index_dir.parent / (engine + "-collection"), ignore_errors=True)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    job = {"engine": engine, "corpus": cname, "manifest": corpora.manifest(cspec, args.data_root, limit),
           "index_dir": str(index_dir), "queries": queries, "ks": [10, 100], "passes": args.passes,
           "warmup": warmup, "record_run_k": 100 if cspec.judged else None, "judged": cspec.judged,
           "max_pass_seconds": args.max_pass_seconds, "min_queries": 50,
           "min_pass_queries": args.min_pass_queries, "build_rounds": args.build_rounds}
    jobs_dir = WORK / "jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    res_path = jobs_dir / f"{cname}.{engine}.result.json"
    res_path.unlink(missing_ok=True)
    log_path = out_dir / "logs" / f"{cname}.{engine}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return Job(engine, cname, spec, job, jobs_dir / f"{cname}.{engine}.job.json", res_path, log_path, index_dir,
               n_docs, limit, capped)


def finish_job(j: Job, rc: int | str, qset: dict[str, Any], args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    elapsed = time.perf_counter() - j.started
    if j.res_path.exists():
        res: dict[str, Any] = json.loads(j.res_path.read_text())
    else:
        tail = j.log_path.read_text(errors="replace")[-600:] if j.log_path.exists() else ""
        why = f"killed after {args.job_timeout} s (job timeout)" if rc == "timeout" else f"worker exited with {rc}"
        res = {"engine": j.engine, "corpus": j.corpus, "ok": False, "error": f"{why}; log tail: {tail.strip()[-300:]}"}
    res["job_wall_s"] = elapsed
    res["loadavg_1m"] = {"start": j.load_start, "end": os.getloadavg()[0]}
    if j.capped:
        res["capped"] = j.capped
        s10 = (res.get("search") or {}).get("10")
        if res.get("ok") and s10 and j.limit:
            est = s10["qps"] * j.limit / j.n_docs
            res["capped"] += (f"; it scores every document, so its cost grows linearly with corpus size: expect "
                              f"about {est:,.1f} QPS@10 at the full {fmt(j.n_docs)} documents (extrapolated, not measured)")
            res["extrapolated_qps10_full"] = est
    run = res.pop("run", None)
    if run is not None and qset.get("qrels") and res.get("ok") and not j.limit:
        rel, impl = evaluate(qset["qrels"], run)
        res["relevance"] = rel
        args.relevance_impl = impl
        (out_dir / "runs").mkdir(exist_ok=True)
        write_trec(out_dir / "runs" / f"{j.corpus}.{j.engine}.trec", run, j.engine)
    if not args.keep_indexes:
        shutil.rmtree(j.index_dir, ignore_errors=True)
        shutil.rmtree(j.index_dir.parent / (j.engine + "-collection"), ignore_errors=True)
    return res


def run_job(j: Job, qset: dict[str, Any], args: argparse.Namespace, py: str, out_dir: Path) -> dict[str, Any]:
    """Build and query in one worker process, start to end."""
    j.start()
    with open(j.log_path, "w", encoding="utf-8") as lf:
        try:
            proc = subprocess.run([*worker_cmd(py, args), str(j.job_path), str(j.res_path)], stdout=lf,
                                  stderr=subprocess.STDOUT, env=worker_env(), cwd=str(REPO), timeout=args.job_timeout)
            rc: int | str = proc.returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    return finish_job(j, rc, qset, args, out_dir)


class _Live:
    """A worker of an interleaved run, kept alive between its steps."""

    def __init__(self, j: Job, py: str, args: argparse.Namespace) -> None:
        self.j = j
        r, w = os.pipe()
        j.job["reply_fd"] = w
        j.start()
        self.log = open(j.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([*worker_cmd(py, args), str(j.job_path), str(j.res_path)], stdin=subprocess.PIPE,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=worker_env(), cwd=str(REPO),
                                     pass_fds=(w,))
        os.close(w)
        self.reply = os.fdopen(r, "rb", buffering=0)
        self.alive = True
        self.timed_out = False

    def step(self, timeout: float, go: bool = True) -> bool:
        """Let the worker run one step (``go``) and wait for it; False when it stopped instead."""
        if not self.alive:
            return False
        try:
            if go:
                assert self.proc.stdin is not None
                self.proc.stdin.write(b"go\n")
                self.proc.stdin.flush()
            ready, _, _ = select.select([self.reply], [], [], timeout)
            if not ready:  # past the job timeout: stop it, so it cannot run beside the others' passes
                self.proc.kill()
                self.timed_out = True
            self.alive = bool(ready) and self.reply.readline() == b"done\n"
        except (BrokenPipeError, OSError):
            self.alive = False
        return self.alive

    def close(self, timeout: float) -> int | str:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            rc: int | str = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        self.reply.close()
        self.log.close()
        return "timeout" if self.timed_out else rc


def run_interleaved(jobs: list[Job], qset: dict[str, Any], args: argparse.Namespace, pys: dict[str, str],
                    out_dir: Path) -> list[dict[str, Any]]:
    """Every engine's worker builds (one at a time) and stays alive; then each timed pass runs
    for one engine after another, the order rotating by pass, so the engines' passes of a k
    are spread over the same stretch of time."""
    live: list[_Live] = []
    for j in jobs:
        w = _Live(j, pys[j.spec["env"]], args)
        log(f"  {j.corpus} x {j.engine}: building")
        w.step(args.job_timeout, go=False)  # the worker reports its first build round (or once built and open)
        live.append(w)
    if not live:
        return []

    def rotated(i: int) -> list[_Live]:
        return live[i % len(live):] + live[: i % len(live)]

    for r in range(1, args.build_rounds):  # the other build rounds, the order rotating like the passes
        log(f"  {jobs[0].corpus}: build round {r + 1} of {args.build_rounds}")
        for w in rotated(r):
            w.step(args.job_timeout)
    for _k in jobs[0].job["ks"]:
        for p in range(args.passes):
            for w in rotated(p):
                w.step(args.job_timeout)
    out = []
    for w in live:
        out.append(finish_job(w.j, w.close(args.job_timeout), qset, args, out_dir))
    return out


def fmt(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", default=None, help=f"comma list of {', '.join(corpora.CORPORA)} | all | judged | large "
                    "(default: all; --quick: scifact,cranfield)")
    ap.add_argument("--engines", default="all", help=f"comma list of {', '.join(ENGINE_SPECS)} | all | peers")
    ap.add_argument("--passes", type=int, default=None, help="timed passes per k (default 3; --quick: 2)")
    ap.add_argument("--queries", type=int, default=1000, help="sampled queries for query-less corpora (default 1000)")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up queries before the timed passes (default 100)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--quick", action="store_true", help="SciFact + Cranfield, 2 passes (a couple of minutes)")
    ap.add_argument("--data", default=None, help="shared data root (default ../shared/data or $HERON_DATA)")
    ap.add_argument("--out", default=None, help="output directory (default benchmarks/results/<timestamp>)")
    ap.add_argument("--max-pass-seconds", type=float, default=120.0,
                    help="on query-less corpora, cut a slow engine's pass to about this many seconds (default 120)")
    ap.add_argument("--job-timeout", type=int, default=7200, help="kill one engine x corpus job after this (s)")
    ap.add_argument("--taskset", default=None, help="pin every worker to this CPU list (taskset -c)")
    ap.add_argument("--min-pass-queries", type=int, default=2000,
                    help="cycle a shorter query list within each timed pass to at least this many queries "
                         "(default 2000; the judged sets have 35-300 queries)")
    ap.add_argument("--interleave", action="store_true",
                    help="keep every engine's worker alive and alternate their timed passes (order rotating per "
                         "pass), so that drift in machine speed hits every engine alike; builds stay one at a time")
    ap.add_argument("--build-rounds", type=int, default=None,
                    help="build each index this many times and report the median (all but the last build in a "
                         "forked child, its index discarded; interleaved runs alternate the rounds across engines "
                         "like the passes). Default 3 with --interleave, else 1")
    ap.add_argument("--keep-indexes", action="store_true", help="keep built indexes under benchmarks/.work/indexes")
    ap.add_argument("--no-setup-peers", action="store_true", help="do not run setup_peers.sh when the peers venv is missing")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--heron-python", default=None, help="python for heron (default: .venv/bin/python)")
    ap.add_argument("--peers-python", default=None, help="python for the peers (default: benchmarks/.peers-venv)")
    ap.add_argument("--xapian-python", default="/usr/bin/python3", help="python with Debian's python3-xapian")
    args = ap.parse_args(argv)

    groups_c = {"all": corpora.ALL, "judged": tuple(c for c, s in corpora.CORPORA.items() if s.judged),
                "large": tuple(c for c, s in corpora.CORPORA.items() if not s.judged), "quick": corpora.QUICK}
    cnames = parse_list(args.corpora or ("quick" if args.quick else "all"), corpora.CORPORA, groups_c)
    engines = parse_list(args.engines, ENGINE_SPECS, {"all": DEFAULT_ENGINES, "peers": PEERS})
    args.passes = args.passes or (2 if args.quick else 3)
    args.build_rounds = args.build_rounds or (3 if args.interleave and not args.quick else 1)
    if args.build_rounds < 1:
        ap.error("--build-rounds must be at least 1")
    args.data_root = corpora.data_root(args.data)
    args.relevance_impl = "pytrec_eval (pytrec-eval-terrier)"
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    out_dir = Path(args.out) if args.out else HERE / "results" / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    index_root = WORK / "indexes" / out_dir.name
    t_start = time.perf_counter()

    ensure_peers(engines, args)
    install = peer_install_status()
    pys = pythons(args)
    res: dict[str, Any] = {
        "meta": {"started": started, "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
                 "machine": machine(), "loadavg_start": loadavg(), "passes": args.passes, "warmup": args.warmup,
                 "queries": args.queries, "seed": args.seed, "quick": args.quick, "data_root": str(args.data_root),
                 "max_pass_seconds": args.max_pass_seconds, "taskset": args.taskset, "pythons": pys,
                 "interleave": args.interleave, "min_pass_queries": args.min_pass_queries,
                 "build_rounds": args.build_rounds},
        "peer_install": install, "engines": {}, "corpora": {}, "results": []}

    log(f"output: {out_dir}")
    for e in engines:
        info = probe(e, pys[ENGINE_SPECS[e]["env"]], args, install)
        res["engines"][e] = info
        msg = info.get("version") if info["status"] == "ok" else f"{info['status']}: {info.get('reason')}"
        log(f"engine {e:13s} {msg}")
    # configs come from the workers; fill them from the first successful result
    results_path = out_dir / "results.json"

    def save() -> None:
        res["meta"]["loadavg_end"] = loadavg()
        res["meta"]["duration_s"] = time.perf_counter() - t_start
        res["meta"]["relevance_impl"] = args.relevance_impl
        tmp = results_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(res, indent=1))
        tmp.replace(results_path)

    for cname in cnames:
        cspec = corpora.CORPORA[cname]
        log(f"corpus {cname}: preparing queries")
        qset = corpora.queries_cached(cspec, args.data_root, args.queries, args.seed)
        res["corpora"][cname] = {"label": cspec.label, "n_docs": qset["n_docs"], "n_queries": len(qset["queries"]),
                                 "query_model": cspec.query_model, "judged": cspec.judged,
                                 "replicated": cspec.replicated, "notes": list(cspec.notes),
                                 "sources": list(cspec.sources), "replicas": cspec.replicas,
                                 "sample": cspec.sample, "sample_of": corpora.SAMPLE_OF.get(cname)}
        ok = [e for e in engines if res["engines"][e]["status"] == "ok"]
        jobs = [prepare_job(e, cname, qset, args, out_dir, index_root) for e in ok]
        if args.interleave:
            results = run_interleaved(jobs, qset, args, pys, out_dir)
        else:
            results = []
            for j in jobs:
                log(f"  {cname} x {j.engine}: running")
                results.append(run_job(j, qset, args, pys[j.spec["env"]], out_dir))
        for e, r in zip(ok, results, strict=True):
            res["results"].append(r)
            if r.get("ok"):
                res["engines"][e].setdefault("config", r.get("config"))
                s10, s100 = r["search"]["10"], r["search"]["100"]
                rel = r.get("relevance")
                log(f"  {cname} x {e}: build {r['build']['wall_s']:.1f}s ({r['build']['docs_per_s'] or 0:,.0f} docs/s), "
                    f"QPS@10 {s10['qps']:,.0f}, QPS@100 {s100['qps']:,.0f}, p99@10 {s10['latency']['p99_ms']:.2f} ms"
                    + (f", nDCG@10 {rel['ndcg@10']:.3f}" if rel else "") + f" [{r['job_wall_s']:.0f}s]")
            else:
                log(f"  {cname} x {e}: FAILED: {r.get('error')}")
            save()
            report.write_report(res, out_dir, plots=False)
    if not args.keep_indexes:
        shutil.rmtree(index_root, ignore_errors=True)
    save()
    path = report.write_report(res, out_dir, plots=not args.no_plots)
    log(f"done in {time.perf_counter() - t_start:.0f}s: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
