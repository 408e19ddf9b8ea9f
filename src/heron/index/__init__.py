"""Segments, the manifest, the writer (buffer → flush → commit → merge) and point-in-time readers."""
