"""Embedding throughput of heron's default embedder (per core = passages per process CPU-second).

    .venv/bin/python benchmarks/embed_bench.py [--passages 512] [--threads 1] [--roofline]
        [--runtime onnxruntime|openvino|auto] [--processes N]

Passages: the first N enwiki-107k passages (~200 word pieces each at the default max_length 256),
batch 32, as at indexing time, timed on a second pass over them (a runtime may prepare kernels for
each new batch shape; a long indexing run sees its few hundred shapes thousands of times); query
latency: 100 short queries, batch 1.

``--roofline`` also prints the ceiling this CPU puts on the bundled int8 model: every weight
matrix of the model's integer matmuls is timed on its own (ONNX Runtime's fused
``DynamicQuantizeMatMul``, 4,096 rows, 1 thread, best of 10), and the passages' mean token count
times those per-token costs is the time a passage would take if nothing but these matmuls ran
(attention, softmax, layer norms, GELU, tokenisation and pooling counted as free). Needs ``onnx``
(the dev/reference extras).

``--runtime`` picks the embedding runtime (``openvino`` needs ``heron[openvino]``). ``--processes N``
runs N copies side by side (as ``heron index -j N`` embeds) and adds their combined passages per
wall-second; each copy prints its own line.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from heron.embed.onnx import RUNTIMES

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path,
                    default=REPO.parent / "shared" / "data" / "large" / "enwiki-sample-passages.jsonl.gz")
    ap.add_argument("--passages", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--roofline", action="store_true", help="also print the int8-matmul ceiling of this CPU")
    ap.add_argument("--runtime", default="onnxruntime", choices=RUNTIMES)
    ap.add_argument("--processes", type=int, default=1)
    a = ap.parse_args(argv)
    if a.roofline and a.runtime != "onnxruntime":
        ap.error("--roofline times the bundled int8 model's integer matmuls: use it with --runtime onnxruntime")
    if a.processes > 1:
        return _side_by_side(a, argv if argv is not None else sys.argv[1:])
    from heron.embed.onnx import EncoderEmbedder, get_embedder

    with gzip.open(a.corpus, "rt", encoding="utf-8") as f:
        texts = [f"{d.get('title') or ''} {d['text']}".strip() for d in map(json.loads, itertools.islice(f, a.passages))]
    e = get_embedder(threads=a.threads, runtime=a.runtime)
    assert isinstance(e, EncoderEmbedder)
    e.embed_passages(texts)  # a first pass: every batch shape seen once, as in a long indexing run
    c0, w0 = time.process_time(), time.perf_counter()
    e.embed_passages(texts)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    lat = []
    for t in texts[:100]:
        q = " ".join(t.split()[:8])
        t0 = time.perf_counter()
        e.embed_query(q)
        lat.append(time.perf_counter() - t0)
    out = {"runtime": e.runtime,
           "passages": len(texts), "threads": a.threads, "per_core": round(len(texts) / cpu, 1),
           "wall_per_s": round(len(texts) / wall, 1), "query_p50_ms": round(1000 * float(np.median(lat)), 2)}
    if a.roofline:
        tokens = float(np.mean([min(len(enc.ids), e.spec.max_length) for enc in e._tok.encode_batch(texts)]))
        out.update(_roofline(e.spec.onnx_path, tokens))
    print(json.dumps(out))
    return 0


def _side_by_side(a: argparse.Namespace, argv: list[str]) -> int:
    """N copies of this benchmark at once; their combined passages per wall-second."""
    import subprocess

    cmd = [sys.executable, __file__, *argv, "--processes", "1"]  # the last --processes wins
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(a.processes)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    for o in outs:
        print(json.dumps(o))
    print(json.dumps({"processes": a.processes, "wall_per_s_total": round(sum(o["wall_per_s"] for o in outs), 1)}))
    return 0 if all(p.returncode == 0 for p in procs) else 1


def _matmul_weights(path: Path) -> list[tuple[int, int]]:
    """(K, N) of every integer matmul's constant weight in the model."""
    import onnx

    model = onnx.load(str(path))
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type in ("MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"):
            w = shapes.get(node.input[1])
            if w is not None and len(w) == 2:
                out.append((int(w[0]), int(w[1])))
    return out


def _gemm_seconds_per_row(k: int, n: int, rows: int = 4096) -> float:
    """Best-of-10 time of one fused dynamic-int8 matmul (rows x k @ k x n), per row."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    node = helper.make_node("DynamicQuantizeMatMul", ["x", "w", "scale", "zero"], ["y"], domain="com.microsoft")
    graph = helper.make_graph(
        [node], "gemm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, n])],
        [numpy_helper.from_array(rng.integers(-127, 128, size=(k, n), dtype=np.int8), "w"),
         numpy_helper.from_array(np.full((n,), 0.01, np.float32), "scale"),
         numpy_helper.from_array(np.zeros((n,), np.int8), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = rng.standard_normal((rows, k), dtype=np.float32)
    for _ in range(3):
        sess.run(None, {"x": x})
    best = float("inf")
    for _ in range(10):
        t0 = time.perf_counter()
        sess.run(None, {"x": x})
        best = min(best, time.perf_counter() - t0)
    return best / rows


def _roofline(path: Path, tokens: float) -> dict[str, float]:
    weights = _matmul_weights(path)
    cost = {kn: _gemm_seconds_per_row(*kn) for kn in set(weights)}
    per_token = sum(cost[kn] for kn in weights)
    ops = sum(2 * k * n for k, n in weights)
    return {"tokens_per_passage": round(tokens, 1), "int8_gops_per_passage": round(ops * tokens / 1e9, 2),
            "int8_gemm_gops": round(ops / per_token / 1e9), "matmul_ceiling_per_core": round(1 / (per_token * tokens), 1)}


if __name__ == "__main__":
    sys.exit(main())
