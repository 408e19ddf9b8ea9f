from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heron.ingest.dedup import (
    DEFAULT_THRESHOLD,
    Deduper,
    content_hash,
    decode_signature,
    encode_signature,
    minhash,
    similarity,
)

from .dedup_sample import build
from .helpers import load_benchmark

TEXT = ("The grey heron is a long-legged predatory wading bird of the heron family, native throughout temperate "
        "Europe and Asia and also parts of Africa. It is resident in much of its range, but some populations from "
        "the more northern parts migrate southwards in autumn. A bird of wetland areas, it can be seen around "
        "lakes, rivers, ponds, marshes and on the sea coast.")


def test_content_hash_normalises_case_and_space() -> None:
    assert content_hash("Grey  Heron\n") == content_hash("grey heron")
    assert content_hash("grey heron") != content_hash("grey herons")


def test_signature_roundtrip_and_similarity() -> None:
    sig = minhash(TEXT)
    assert sig.dtype == np.uint32 and sig.shape == (64,)
    back = decode_signature(encode_signature(sig))
    assert back is not None and np.array_equal(back, sig)
    assert decode_signature("not base64!") is None and decode_signature("AAAA") is None
    assert similarity(sig, minhash(TEXT)) == 1.0
    assert similarity(sig, minhash("Completely different words about cats and their domestic habits at home.")) < 0.2


def test_deduper_exact_near_unique() -> None:
    dd = Deduper()
    assert dd.check("a", content_hash(TEXT), minhash(TEXT)).kind == "unique"
    assert dd.check("b", content_hash(TEXT.upper()), minhash(TEXT.upper())) .kind == "exact"
    edited = TEXT.replace("Africa", "Oceania") + " Updated 2020."
    v = dd.check("c", content_hash(edited), minhash(edited))
    assert v.kind == "near" and v.of == "a" and v.similarity >= DEFAULT_THRESHOLD
    # a near-duplicate of a near-duplicate joins the same group (canonical "a")
    edited2 = edited.replace("lakes", "lochs")
    assert dd.check("d", content_hash(edited2), minhash(edited2)).of == "a"
    # re-checking a document under its own id is not a duplicate of itself
    assert dd.check("a", content_hash(TEXT), minhash(TEXT)).kind == "unique"
    with pytest.raises(ValueError):
        Deduper(0.0)


@pytest.mark.data
def test_precision_recall_on_labelled_sample(shared_data: Path) -> None:
    """Light edits of real pages (typos in 3% of words, a dropped or swapped paragraph, added
    boilerplate) must be found; heavy rewrites and other pages must not be."""
    gt, _ = load_benchmark(shared_data / "web/html/article-extraction-benchmark")
    copies, originals = build({k: v["articleBody"] for k, v in gt.items()})
    dd = Deduper(DEFAULT_THRESHOLD)
    false_pos = sum(dd.check(k, content_hash(t), minhash(t)).kind != "unique" for k, t in originals.items())
    tp = fn = 0
    for cid, text, expected in copies:
        v = dd.check(cid, content_hash(text), minhash(text))
        got = v.of if v.kind != "unique" else None
        if expected is not None and got == expected:
            tp += 1
        else:
            fn += expected is not None
            false_pos += got is not None
    precision, recall = tp / (tp + false_pos), tp / (tp + fn)
    assert len(copies) > 200
    assert precision >= 0.98 and recall >= 0.97, (precision, recall, tp, false_pos, fn)
