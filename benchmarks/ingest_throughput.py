"""End-to-end ``heron ingest`` throughput: the shared WARC + HTML samples repeated to a few
thousand pages, written into a fresh index with all cores.

    .venv/bin/python benchmarks/ingest_throughput.py [--pages 3000] [--workers 0] [--extractor heron]

Copies the article-extraction pages (181 HTML files) and every valid WARC/ARC file N times
into a temporary directory (each copy its own file, so resume bookkeeping and per-source work
are exercised too), runs ``heron ingest`` in a subprocess and prints its report: pages/s,
MB/s (HTML payload bytes), duplicates found (the copies are exact duplicates, so almost all of
them are dropped after extraction and hashing: every stage but the index write runs per page).
Add ``--unique`` to make every copy distinct (a marker paragraph per copy) so that every page
is also analysed and indexed.

Also printed: the CPU time of the ingest process and its workers (``cpu_s``, from
``getrusage(RUSAGE_CHILDREN)``: start-up included), per page, and the pages/s that CPU time
would allow on ``cpu_count`` cores with perfect overlap (``cpu_bound_pages_per_s``) — on a
machine shared with other work, wall-clock pages/s understate what the code does alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_corpus(data: Path, out: Path, pages: int, unique: bool) -> int:
    import gzip

    html = sorted((data / "web/html/article-extraction-benchmark/html").iterdir())
    warcs = sorted(p for p in (data / "web/warc/valid").iterdir() if p.suffix != ".cdxj")
    n = rounds = 0
    while n < pages:
        d = out / f"r{rounds:03d}"
        d.mkdir(parents=True)
        for f in html:
            body = gzip.decompress(f.read_bytes())
            if unique:
                body = body.replace(b"</body>", f"<p>Copy {rounds} of this page, kept apart.</p></body>".encode(), 1)
            (d / f.name.removesuffix(".gz")).write_bytes(body)
            n += 1
        for w in warcs:
            shutil.copy(w, d / w.name)
            n += 16 if "iana" in w.name else 1  # HTML pages in the WARC captures (approx.)
        rounds += 1
    return rounds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--pages", type=int, default=3000)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--extractor", default="heron")
    ap.add_argument("--unique", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        rounds = build_corpus(args.data, corpus, args.pages, args.unique)
        report = Path(tmp) / "report.json"
        cmd = [str(REPO / ".venv/bin/heron"), "ingest", str(corpus), "--index", str(Path(tmp) / "idx"),
               "-j", str(args.workers), "--extractor", args.extractor, "--no-progress", "--report-json", str(report)]
        t0 = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - t0
        r = json.loads(report.read_text())
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    cores = os.cpu_count() or 1
    r.update({"rounds": rounds, "wall_s_with_startup": round(wall, 2), "cpu_count": cores,
              "cpu_s": round(cpu, 2), "cpu_ms_per_page": round(1000 * cpu / max(1, r["pages"]), 2),
              "cpu_bound_pages_per_s": round(r["pages"] / (cpu / cores), 1) if cpu else None,
              "load_average": os.getloadavg(), "extractor": args.extractor, "unique_copies": args.unique})
    print(json.dumps({k: v for k, v in r.items() if k not in ("skip_examples",)}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    sys.exit(main())
