"""Dense vectors in segments: passage embedding at index time (with a content-hash cache),
the per-segment ``<name>.vec`` sidecar file, per-segment ANN (faiss HNSW) / exact search, and
filtered dense search with passage → document aggregation."""

from heron.vectors.store import PendingVectors, VectorData, VectorReader, open_vectors, write_vectors

__all__ = ["PendingVectors", "VectorData", "VectorReader", "open_vectors", "write_vectors"]
