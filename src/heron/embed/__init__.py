"""Dense embeddings: the ``Embedder`` protocol, the default MiniLM embedder on ONNX Runtime (and on
OpenVINO, ``heron.embed.openvino``, for bulk embedding on CPUs with AMX), local model directories,
and sentence-aware passage chunking."""

from heron.embed.chunking import Passage, chunk_text
from heron.embed.onnx import DEFAULT_MODEL, Embedder, OnnxEmbedder, get_embedder, register_embedder

__all__ = ["DEFAULT_MODEL", "Embedder", "OnnxEmbedder", "Passage", "chunk_text", "get_embedder", "register_embedder"]
