"""Dense embeddings: the ``Embedder`` protocol, the default ONNX Runtime MiniLM embedder,
local model directories, and sentence-aware passage chunking."""

from heron.embed.chunking import Passage, chunk_text
from heron.embed.onnx import DEFAULT_MODEL, Embedder, OnnxEmbedder, get_embedder, register_embedder

__all__ = ["DEFAULT_MODEL", "Embedder", "OnnxEmbedder", "Passage", "chunk_text", "get_embedder", "register_embedder"]
