"""Document-length norms: one byte per (field, doc), Lucene's ``SmallFloat.intToByte4`` encoding.

Lengths below 24 are exact; larger ones keep 4 significant bits. BM25 then needs only a
256-entry table per field (``k1 * (1 - b + b * LENGTH_TABLE[byte] / avgdl)``).
"""

from __future__ import annotations

import numpy as np

_MAX_INT4 = 231  # long_to_int4(2**31 - 1)
_NUM_FREE = 255 - _MAX_INT4  # 24


def _long_to_int4(i: int) -> int:
    bits = i.bit_length()
    if bits < 4:
        return i
    shift = bits - 4
    encoded = (i >> shift) & 0x07
    return encoded | ((shift + 1) << 3)


def _int4_to_long(i: int) -> int:
    bits = i & 0x07
    shift = (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


def int_to_byte4(i: int) -> int:
    if i < 0:
        raise ValueError("length must be >= 0")
    return i if i < _NUM_FREE else _NUM_FREE + _long_to_int4(i - _NUM_FREE)


def byte4_to_int(b: int) -> int:
    return b if b < _NUM_FREE else _NUM_FREE + _int4_to_long(b - _NUM_FREE)


#: decoded length for each norm byte
LENGTH_TABLE = np.array([byte4_to_int(b) for b in range(256)], dtype=np.float64)


def encode_lengths(lengths: np.ndarray) -> np.ndarray:
    """Vectorised ``int_to_byte4`` over an array of non-negative lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.empty(lengths.shape, dtype=np.uint8)
    small = lengths < _NUM_FREE
    out[small] = lengths[small]
    big = lengths[~small] - _NUM_FREE
    if big.size:
        bits = np.floor(np.log2(np.maximum(big, 1))).astype(np.int64) + 1
        bits[big == 0] = 0
        shift = np.maximum(bits - 4, 0)
        enc = np.where(bits < 4, big, ((big >> shift) & 0x07) | ((shift + 1) << 3))
        out[~small] = (_NUM_FREE + enc).astype(np.uint8)
    return out


def norm_cache(k1: float, b: float, avgdl: float) -> np.ndarray:
    """``k1 * (1 - b + b * dl / avgdl)`` for each of the 256 norm bytes."""
    if avgdl <= 0:
        avgdl = 1.0
    return k1 * ((1.0 - b) + b * LENGTH_TABLE / avgdl)
