"""Readable reference versions of every kernel (the executable specification).

Conventions shared with the compiled kernels:

* A *cursor* ``i`` is one (term, field) posting list: postings ``docs[start[i]:end[i]]``
  with term frequencies ``tfs[...]``, blocks ``bstart[i]:bend[i]`` of ``BLOCK`` postings.
* Its contribution to the document of posting ``p`` is ``weight[i] * sat[p]`` where
  ``sat[p] = float32(tf / (tf + k1 * (1 - b + b * dl / avgdl)))`` is BM25's saturation (Lucene's
  formula without the constant ``k1 + 1`` factor) from the exact length ``dl``, precomputed per
  searcher (``posting_saturation``). Block bounds use ``kn[f, norm_byte]``, the same from the
  one-byte quantised length, which rounds lengths down and so never under-estimates a score.
* A document's score is the sum of its contributions **in descending cursor order** (cursors
  are sorted by ascending upper bound, so the highest-bound terms are added first — the order
  MaxScore naturally visits them), so every algorithm produces bit-identical scores.
* ``allowed`` is a uint8 mask over documents (empty = all allowed).
* Results are ordered by score descending, then doc ascending; a document enters only if
  its score is strictly greater than ``theta0`` (the k-th score of earlier segments).
"""

from __future__ import annotations

import bisect
import math
import re

import numpy as np

BLOCK = 128
TERM_END = 0xFF  # ends each query term of a term lookup (a byte UTF-8 never uses)


def saturation(tf: float, kn: float) -> float:
    """float32-rounded ``tf / (tf + kn)`` (as a Python float)."""
    return float(np.float32(tf / (tf + kn)))


def posting_saturation(
    docs: np.ndarray, tfs: np.ndarray, list_start: np.ndarray, n_fields: int, knd: np.ndarray
) -> np.ndarray:
    """Per posting ``saturation(tf, knd[field, doc])`` (list ``j`` belongs to field ``j % n_fields``)."""
    out = np.empty(len(docs), dtype=np.float32)
    for j in range(len(list_start) - 1):
        f = j % n_fields
        for p in range(int(list_start[j]), int(list_start[j + 1])):
            out[p] = saturation(float(tfs[p]), float(knd[f, int(docs[p])]))
    return out


def topk_exhaustive(
    docs: np.ndarray,
    sat: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    weight: np.ndarray,
    ndocs: int,
    allowed: np.ndarray,
    k: int,
    theta0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Score every posting of every cursor; keep the top ``k``.

    A document's score is the float32 sum, in descending cursor order, of its contributions
    ``float32(weight) * sat`` (a float32 product): the arithmetic of every kernel and of
    ``explain``, so that all of them give the same scores bit for bit."""
    scores: dict[int, np.float32] = {}
    zero = np.float32(0.0)
    for i in range(len(start) - 1, -1, -1):  # canonical order: descending cursor index
        w = np.float32(weight[i])
        for p in range(int(start[i]), int(end[i])):
            d = int(docs[p])
            if len(allowed) and not allowed[d]:
                continue
            c = w * np.float32(sat[p])
            scores[d] = scores.get(d, zero) + c
    ranked = sorted(((float(s), d) for d, s in scores.items() if s > theta0), key=lambda x: (-x[0], x[1]))[:k]
    return (
        np.array([d for _, d in ranked], dtype=np.int64),
        np.array([s for s, _ in ranked], dtype=np.float64),
    )


def topk_maxscore(
    docs: np.ndarray,
    sat: np.ndarray,
    blk_last: np.ndarray,
    imp_off: np.ndarray,
    imp_tf: np.ndarray,
    imp_norm: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    bstart: np.ndarray,
    ub: np.ndarray,
    weight: np.ndarray,
    field: np.ndarray,
    kn: np.ndarray,
    allowed: np.ndarray,
    k: int,
    theta0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference backend: pruning gives the same answer as exhaustive scoring by definition."""
    ndocs = int(docs.max()) + 1 if len(docs) else 0
    return topk_exhaustive(docs, sat, start, end, weight, ndocs, allowed, k, theta0)


def block_metadata(
    docs: np.ndarray, tfs: np.ndarray, list_start: np.ndarray, norms_per_posting: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per posting list, cut postings into blocks of ``BLOCK``; per block return the last doc
    and its *impacts*: the Pareto frontier of (tf, norm) pairs, sorted by norm — every posting
    of the block has a pair with tf >= its tf and norm <= its norm, so the best pair bounds the
    block's scores exactly for any BM25 parameters.

    ``list_start`` has one entry per list plus the end. Returns (blk_last, imp_off, imp_tf,
    imp_norm, list_bstart); block ``b``'s impacts are ``imp_*[imp_off[b]:imp_off[b+1]]`` and
    list ``j``'s blocks are ``list_bstart[j]:list_bstart[j+1]``.
    """
    last: list[int] = []
    off = [0]
    itf: list[int] = []
    inorm: list[int] = []
    bstart = [0]
    for j in range(len(list_start) - 1):
        s, e = int(list_start[j]), int(list_start[j + 1])
        for b in range(s, e, BLOCK):
            be = min(b + BLOCK, e)
            best: dict[int, int] = {}
            for r in range(b, be):
                nr = int(norms_per_posting[r])
                best[nr] = max(best.get(nr, 0), int(tfs[r]))
            running = 0
            for nr in sorted(best):
                if best[nr] > running:
                    running = best[nr]
                    itf.append(running)
                    inorm.append(nr)
            off.append(len(itf))
            last.append(int(docs[be - 1]))
        bstart.append(len(last))
    return (
        np.array(last, dtype=np.uint32),
        np.array(off, dtype=np.int64),
        np.array(itf, dtype=np.uint16),
        np.array(inorm, dtype=np.uint8),
        np.array(bstart, dtype=np.int64),
    )


def block_bound(b: int, imp_off: np.ndarray, imp_tf: np.ndarray, imp_norm: np.ndarray, w: float,
                kn: np.ndarray, f: int) -> float:
    """Max contribution over block ``b``, inflated so float rounding never makes it unsafe."""
    best = 0.0
    for j in range(int(imp_off[b]), int(imp_off[b + 1])):
        best = max(best, w * saturation(float(imp_tf[j]), float(kn[f, imp_norm[j]])))
    return best * (1.0 + 1e-6) + 1e-12


def cursor_upper_bounds(
    imp_off: np.ndarray,
    imp_tf: np.ndarray,
    imp_norm: np.ndarray,
    bstart: np.ndarray,
    bend: np.ndarray,
    weight: np.ndarray,
    field: np.ndarray,
    kn: np.ndarray,
) -> np.ndarray:
    """Per cursor, the max block bound over its blocks (the term's score upper bound)."""
    out = np.zeros(len(bstart), dtype=np.float64)
    for i in range(len(bstart)):
        best = 0.0
        for b in range(int(bstart[i]), int(bend[i])):
            best = max(best, block_bound(b, imp_off, imp_tf, imp_norm, float(weight[i]), kn, int(field[i])))
        out[i] = best
    return out


def list_bounds(imp_off: np.ndarray, imp_tf: np.ndarray, imp_norm: np.ndarray, list_bstart: np.ndarray,
                n_fields: int, kn: np.ndarray) -> np.ndarray:
    """Per (term, field) list ``j``, the max over its blocks' impacts of
    ``saturation(tf, kn[j % n_fields, norm])``. Weight times this, inflated like a block bound,
    is exactly the largest block bound of the list (multiplying by a weight > 0, rounding
    included, keeps the order of values): a cursor's upper bound without visiting its blocks."""
    out = np.zeros(len(list_bstart) - 1, dtype=np.float64)
    for j in range(len(out)):
        f = j % n_fields
        best = 0.0
        for b in range(int(list_bstart[j]), int(list_bstart[j + 1])):
            for i in range(int(imp_off[b]), int(imp_off[b + 1])):
                best = max(best, saturation(float(imp_tf[i]), float(kn[f, imp_norm[i]])))
        out[j] = best
    return out


def lookup_terms(terms_blob: np.ndarray, terms_off: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Ordinal of each query term in a segment's sorted term dictionary, or -1.

    The dictionary is the UTF-8 bytes of its terms, concatenated in code-point order
    (``terms_blob[terms_off[t]:terms_off[t + 1]]`` is term ``t``); UTF-8 byte order is
    code-point order, so a binary search over the bytes finds a term without decoding the
    dictionary. ``q`` holds the query terms' UTF-8 bytes, each followed by ``TERM_END``
    (0xFF, a byte UTF-8 never uses)."""
    terms = [bytes(terms_blob[terms_off[t]:terms_off[t + 1]]) for t in range(len(terms_off) - 1)]
    queries = bytes(q).split(bytes([TERM_END]))[:-1]
    out = np.full(len(queries), -1, dtype=np.int64)
    for i, word in enumerate(queries):
        t = bisect.bisect_left(terms, word)
        if t < len(terms) and terms[t] == word:
            out[i] = t
    return out


def term_hash(data: bytes) -> int:
    """64-bit FNV-1a."""
    h = 14695981039346656037
    for c in data:
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def term_hash_table(terms_blob: np.ndarray, terms_off: np.ndarray) -> np.ndarray:
    """A segment dictionary's open-addressing hash table: int32 slots, a power of two at least
    twice the number of terms, -1 = empty; term ``t`` sits in slot ``term_hash(t) & (size - 1)``
    or, when taken, the next free slot (linear probing, wrapping around)."""
    n = len(terms_off) - 1
    size = 1
    while size < 2 * n:
        size <<= 1
    table = np.full(size, -1, dtype=np.int32)
    for t in range(n):
        slot = term_hash(bytes(terms_blob[terms_off[t]:terms_off[t + 1]])) & (size - 1)
        while table[slot] != -1:
            slot = (slot + 1) & (size - 1)
        table[slot] = t
    return table


def _chunk_id(chunk: bytes, slots: np.ndarray, hashes: np.ndarray, key_off: np.ndarray, arena: np.ndarray,
              n_chunks: int, arena_len: int) -> tuple[int, int, int]:
    """Id of ``chunk`` in the key table: probe from slot ``term_hash(chunk) & (size - 1)``; a
    new key takes the next id, its hash, and its bytes plus a space at the end of the arena.
    Returns (id, n_keys, arena_len); id -1 when a new key does not fit (at most
    ``len(hashes)`` keys, at most half of ``len(slots)``, within the arena)."""
    h = term_hash(chunk)
    slot = h & (len(slots) - 1)
    while slots[slot] != -1:
        c = int(slots[slot])
        if int(hashes[c]) == h and bytes(arena[key_off[c]:key_off[c + 1] - 1]) == chunk:
            return c, n_chunks, arena_len
        slot = (slot + 1) & (len(slots) - 1)
    c = n_chunks
    if c >= len(hashes) or 2 * c >= len(slots) or arena_len + len(chunk) + 1 > len(arena):
        return -1, n_chunks, arena_len
    slots[slot] = c
    hashes[c] = h
    arena[arena_len:arena_len + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
    arena[arena_len + len(chunk)] = 32
    arena_len += len(chunk) + 1
    key_off[c + 1] = arena_len
    return c, n_chunks + 1, arena_len


#: the words the ``unicode`` tokenizer finds in ASCII text: letters and digits, with single
#: internal apostrophes (``don't``)
ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*")


def scan_chunks(buf: np.ndarray, doc_off: np.ndarray, d0: int, cls: np.ndarray, ws: np.ndarray, fold: bool,
                slots: np.ndarray, hashes: np.ndarray, key_off: np.ndarray, arena: np.ndarray, n_keys: int,
                arena_len: int, out_keys: np.ndarray, n_out: int, doc_keys: np.ndarray, w_start: np.ndarray,
                w_end: np.ndarray, w_hash: np.ndarray) -> tuple[int, int, int, int]:
    """The keys of each document: its UTF-8 bytes decoded and split by ``str.split()`` (the
    specification of the compiled byte scanner, which classifies bytes by ``cls`` and decodes
    the non-ASCII whitespace ``ws``); an all-ASCII chunk gives its ``ASCII_WORD``s (lower-cased when
    ``fold``), any other chunk is one key. Each key is looked up in (or inserted into) the key
    table; ids go to ``out_keys``, each document's count to ``doc_keys``. Starts at document
    ``d0`` after ``n_out`` keys; returns (n_keys, arena_len, next document, n_out), the next
    document being the first whose new keys did not fit (not written), or the end. (The word
    scratch ``w_start``, ``w_end``, ``w_hash`` of the compiled scanner is not needed here.)"""
    for d in range(d0, len(doc_off) - 1):
        text = bytes(buf[doc_off[d]:doc_off[d + 1]]).decode("utf-8", "surrogatepass")
        keys: list[str] = []
        for chunk in text.split():
            if chunk.isascii():
                keys += [w.lower() if fold else w for w in ASCII_WORD.findall(chunk)]
            else:
                keys.append(chunk)
        ids = []
        for key in keys:
            c, n_keys, arena_len = _chunk_id(key.encode("utf-8", "surrogatepass"), slots, hashes, key_off, arena,
                                             n_keys, arena_len)
            if c < 0:
                return n_keys, arena_len, d, n_out
            ids.append(c)
        out_keys[n_out:n_out + len(ids)] = ids
        n_out += len(ids)
        doc_keys[d] = len(keys)
    return n_keys, arena_len, len(doc_off) - 1, n_out


def rehash_chunks(hashes: np.ndarray, n_chunks: int, size: int) -> np.ndarray:
    """A chunk table's slots rebuilt for ``size`` slots: each chunk, in id order, at its hash's
    slot or the next free one."""
    slots = np.full(size, -1, dtype=np.int32)
    for c in range(n_chunks):
        slot = int(hashes[c]) & (size - 1)
        while slots[slot] != -1:
            slot = (slot + 1) & (size - 1)
        slots[slot] = c
    return slots


def expand_chunks(chunks: np.ndarray, doc_chunks: np.ndarray, term_off: np.ndarray,
                  term_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's term ids: its chunks' ids ``term_ids[term_off[c]:term_off[c + 1]]`` in
    order. Returns (all documents' ids concatenated, each document's count)."""
    out: list[int] = []
    lens = []
    j = 0
    for n in doc_chunks:
        before = len(out)
        for c in chunks[j:j + n]:
            out.extend(int(t) for t in term_ids[term_off[c]:term_off[c + 1]])
        j += n
        lens.append(len(out) - before)
    return np.array(out, dtype=np.uint32), np.array(lens, dtype=np.uint32)


def count_postings(tid: np.ndarray, lens: np.ndarray, keep: np.ndarray, newdoc: np.ndarray, list_of: np.ndarray,
                   last: np.ndarray, df: np.ndarray) -> None:
    """Inversion, pass 1: ``df[l]`` counts the kept documents that have a term of list ``l``
    (``list_of[term]``); slot ``s`` owns the next ``lens[s]`` ids of ``tid`` and, when
    ``keep[s]``, is document ``newdoc[s]``. (``last`` is scratch, -1 on entry.)"""
    p = 0
    for s, n in enumerate(lens.tolist()):
        if keep[s]:
            for lst in {int(list_of[t]) for t in tid[p:p + n]}:
                df[lst] += 1
        p += n


def fill_postings(tid: np.ndarray, lens: np.ndarray, keep: np.ndarray, newdoc: np.ndarray, list_of: np.ndarray,
                  last: np.ndarray, pos: np.ndarray, docs: np.ndarray, tfs: np.ndarray) -> None:
    """Inversion, pass 2: each kept slot's document gets one posting per list of its terms,
    written at ``pos[l]`` (which then advances) with the term's count in the slot as tf;
    slots are visited in order, so every list is sorted by document. (``last`` is unused
    scratch, kept for the compiled kernel's signature.)"""
    p = 0
    for s, n in enumerate(lens.tolist()):
        if keep[s]:
            counts: dict[int, int] = {}
            for t in tid[p:p + n]:
                lst = int(list_of[t])
                counts[lst] = counts.get(lst, 0) + 1
            for lst, tf in counts.items():
                docs[pos[lst]] = newdoc[s]
                tfs[pos[lst]] = tf
                pos[lst] += 1
        p += n


def count_live_postings(docs: np.ndarray, list_start: np.ndarray, keep: np.ndarray, list_map: np.ndarray,
                        df: np.ndarray) -> None:
    """Merge, pass 1: each list's postings of kept documents, counted into its merged list."""
    for i in range(len(list_start) - 1):
        df[list_map[i]] += sum(1 for d in docs[list_start[i]:list_start[i + 1]] if keep[d])


def copy_live_postings(docs: np.ndarray, tfs: np.ndarray, list_start: np.ndarray, keep: np.ndarray,
                       newdoc: np.ndarray, list_map: np.ndarray, pos: np.ndarray, out_docs: np.ndarray,
                       out_tfs: np.ndarray) -> None:
    """Merge, pass 2: each list's postings of kept documents (renumbered by ``newdoc``), in
    order, written to its merged list from ``pos[list_map[i]]`` on."""
    for i in range(len(list_start) - 1):
        for p in range(list_start[i], list_start[i + 1]):
            if keep[docs[p]]:
                at = pos[list_map[i]]
                out_docs[at] = newdoc[docs[p]]
                out_tfs[at] = tfs[p]
                pos[list_map[i]] = at + 1


def merge_sorted_terms(blob: np.ndarray, off: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge, term dictionaries: ``runs`` (k + 1 boundaries) splits the terms ``blob[off[t]:off[t + 1]]``
    into k runs, each strictly ascending in byte order (UTF-8 bytes order like code points). Returns
    the union in byte order as (blob, offsets) and, per input term, its ordinal in the union."""
    terms = [bytes(blob[off[t]:off[t + 1]]) for t in range(len(off) - 1)]
    merged = sorted(set(terms))
    pos = {t: i for i, t in enumerate(merged)}
    remap = np.array([pos[t] for t in terms], dtype=np.int64)
    out_off = np.zeros(len(merged) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in merged], out=out_off[1:])
    return np.frombuffer(b"".join(merged), dtype=np.uint8).copy(), out_off, remap


def lookup_terms_hashed(terms_blob: np.ndarray, terms_off: np.ndarray, table: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``lookup_terms`` through ``term_hash_table``: probe from the term's slot until its ordinal
    or an empty slot. Same answer as the binary search."""
    out = np.full(int(np.count_nonzero(np.asarray(q) == TERM_END)), -1, dtype=np.int64)
    size = len(table)
    for i, word in enumerate(bytes(q).split(bytes([TERM_END]))[: len(out)]):
        slot = term_hash(word) & (size - 1)
        while (t := int(table[slot])) >= 0:
            if bytes(terms_blob[terms_off[t]:terms_off[t + 1]]) == word:
                out[i] = t
                break
            slot = (slot + 1) & (size - 1)
    return out


def term_doc_freqs(
    terms_blob: np.ndarray, terms_off: np.ndarray, table: np.ndarray, list_start: np.ndarray, n_fields: int,
    q: np.ndarray, q_fields: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(ordinal, document frequency in field ``q_fields[i]``) of each query term in one
    segment: ``lookup_terms`` and the length of the term's posting list in that field
    (-1 and 0 for a term the segment does not have); ``table``: its ``term_hash_table``."""
    ords = lookup_terms_hashed(terms_blob, terms_off, table, q)
    dfs = np.zeros(len(ords), dtype=np.int64)
    for i, o in enumerate(ords.tolist()):
        if o >= 0:
            j = o * n_fields + int(q_fields[i])
            dfs[i] = int(list_start[j + 1]) - int(list_start[j])
    return ords, dfs


def bind_terms(
    terms_blob: np.ndarray, terms_off: np.ndarray, table: np.ndarray, list_start: np.ndarray, q: np.ndarray,
    n_docs: int, field_weight: float,
) -> tuple[np.ndarray, ...]:
    """A bag of analysed query terms (``q`` as for ``lookup_terms``, repeats included) bound to
    a one-field, one-segment snapshot: the distinct terms that have postings, in order of first
    occurrence, as (ordinals, index of the first occurrence, query tf, df, idf, weight) with
    ``idf = log(1 + (n_docs - df + 0.5) / (df + 0.5))`` and ``weight = idf * field_weight * qtf``
    (what ``QueryBinder`` computes term by term)."""
    ords = lookup_terms_hashed(terms_blob, terms_off, table, q).tolist()
    rows: dict[int, list[int]] = {}  # ordinal -> [first occurrence, qtf, df]
    for i, o in enumerate(ords):
        if o < 0:
            continue
        d = int(list_start[o + 1]) - int(list_start[o])
        if d <= 0:
            continue
        if o in rows:
            rows[o][1] += 1
        else:
            rows[o] = [i, 1, d]
    idf = [math.log(1.0 + (n_docs - d + 0.5) / (d + 0.5)) for _, _, d in rows.values()]
    return (
        np.array(list(rows), dtype=np.int64),
        np.array([r[0] for r in rows.values()], dtype=np.int64),
        np.array([r[1] for r in rows.values()], dtype=np.int64),
        np.array([r[2] for r in rows.values()], dtype=np.int64),
        np.array(idf, dtype=np.float64),
        np.array([x * field_weight * r[1] for x, r in zip(idf, rows.values(), strict=True)], dtype=np.float64),
    )


def prepare_cursors(
    list_start: np.ndarray,
    list_bstart: np.ndarray,
    n_fields: int,
    ords: np.ndarray,
    fields: np.ndarray,
    weights: np.ndarray,
    list_ub: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Resolve (term ordinal, field) pairs into cursors sorted by (upper bound, input index);
    a cursor's upper bound is its weight times its list's ``list_bounds`` entry, inflated like
    a block bound (the same value as the largest of its block bounds)."""
    rows = []
    for i in range(len(ords)):
        o = int(ords[i])
        if o < 0:
            continue
        j = o * n_fields + int(fields[i])
        s, e = int(list_start[j]), int(list_start[j + 1])
        if e <= s:
            continue
        b0 = int(list_bstart[j])
        ub = float(weights[i]) * float(list_ub[j]) * (1.0 + 1e-6) + 1e-12
        rows.append((ub, i, s, e, b0))
    rows.sort(key=lambda r: (r[0], r[1]))
    idx = np.array([r[1] for r in rows], dtype=np.int64)
    return (
        idx,
        np.array([r[2] for r in rows], dtype=np.int64),
        np.array([r[3] for r in rows], dtype=np.int64),
        np.array([r[4] for r in rows], dtype=np.int64),
        np.array([r[0] for r in rows], dtype=np.float64),
        np.asarray(weights, dtype=np.float64)[idx],
        np.asarray(fields, dtype=np.int64)[idx],
    )


def topk_terms(
    docs: np.ndarray, sat: np.ndarray, blk_last: np.ndarray, imp_off: np.ndarray, imp_tf: np.ndarray,
    imp_norm: np.ndarray, list_start: np.ndarray, list_bstart: np.ndarray, list_ub: np.ndarray, n_fields: int,
    ords: np.ndarray, fields: np.ndarray, weights: np.ndarray, kn: np.ndarray, allowed: np.ndarray, k: int,
    theta0: float, mode: int, acc: np.ndarray, hit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Resolve cursors and score them (the reference is always exhaustive)."""
    _, st, en, _, _, w, _ = prepare_cursors(list_start, list_bstart, n_fields, ords, fields, weights, list_ub)
    return topk_exhaustive(docs, sat, st, en, w, len(acc), allowed, k, theta0)


def plain_top(
    terms_blob: np.ndarray, terms_off: np.ndarray, table: np.ndarray, list_start: np.ndarray, q: np.ndarray,
    n_docs: int, field_weight: float, docs: np.ndarray, sat: np.ndarray, blk_last: np.ndarray, imp_off: np.ndarray,
    imp_tf: np.ndarray, imp_norm: np.ndarray, list_bstart: np.ndarray, list_ub: np.ndarray, kn: np.ndarray,
    allowed: np.ndarray, k: int, mode: int, acc: np.ndarray, hit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A plain bag-of-words query on a one-field, one-segment snapshot: ``bind_terms``, then
    ``topk_terms`` over field 0 with the bound weights and no entry threshold."""
    ords, _first, _qtf, _dfs, _idf, weights = bind_terms(terms_blob, terms_off, table, list_start, q, n_docs,
                                                         field_weight)
    return topk_terms(docs, sat, blk_last, imp_off, imp_tf, imp_norm, list_start, list_bstart, list_ub, 1, ords,
                      np.zeros(len(ords), dtype=np.int64), weights, kn, allowed, k, -math.inf, mode, acc, hit)


def gather_ids(ids_blob: np.ndarray, ids_off: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, bool]:
    """The UTF-8 bytes of the external ids of ``docs`` (``ids_blob[ids_off[d]:ids_off[d + 1]]``),
    in order, joined by one NUL byte; and whether any of those ids holds a NUL byte itself."""
    parts = [bytes(ids_blob[int(ids_off[d]):int(ids_off[d + 1])]) for d in np.asarray(docs).tolist()]
    return np.frombuffer(b"\x00".join(parts), dtype=np.uint8).copy(), any(b"\x00" in p for p in parts)


def constraint_mask(
    docs: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    kind: np.ndarray,
    n_required: int,
    base: np.ndarray,
) -> np.ndarray:
    """Allowed-docs mask from required (kind 1, grouped: a doc needs every group), excluded
    (kind 2) posting lists, and an initial ``base`` mask (uint8, len = ndocs).

    ``kind`` codes: ``1 + 2*g`` is "required group g" (several lists may form one group,
    e.g. a term present in any of several fields), ``2`` is excluded.
    """
    n = len(base)
    count = np.zeros(n, dtype=np.int64)
    for i in range(len(start)):
        kd = int(kind[i])
        if kd % 2 == 1:
            g = (kd - 1) // 2
            for p in range(int(start[i]), int(end[i])):
                d = int(docs[p])
                if count[d] == g:
                    count[d] = g + 1
    out = base.copy()
    if n_required:
        out &= (count == n_required).astype(np.uint8)
    for i in range(len(start)):
        if int(kind[i]) == 2:
            for p in range(int(start[i]), int(end[i])):
                out[int(docs[p])] = 0
    return out


def pack_postings(docs: np.ndarray, tfs: np.ndarray, list_start: np.ndarray) -> tuple[np.ndarray, ...]:
    """Bit-pack list-major postings (see the compiled version for the layout)."""
    bits: list[int] = []  # a flat little-endian bit stream
    dbits: list[int] = []
    tbits: list[int] = []
    for j in range(len(list_start) - 1):
        s, e = int(list_start[j]), int(list_start[j + 1])
        prev = -1
        for q in range(s, e, BLOCK):
            block = range(q, min(q + BLOCK, e))
            gaps = []
            for r in block:
                gaps.append(int(docs[r]) - prev - 1)
                prev = int(docs[r])
            tf1 = [int(tfs[r]) - 1 for r in block]
            bd, bt = max(gaps).bit_length(), max(tf1).bit_length()
            dbits.append(bd)
            tbits.append(bt)
            for values, width in ((gaps, bd), (tf1, bt)):
                for v in values:
                    bits.extend((v >> i) & 1 for i in range(width))
    words = [sum(bit << i for i, bit in enumerate(bits[k : k + 32])) for k in range(0, len(bits), 32)]
    return np.array(words, dtype=np.uint32), np.array(dbits, dtype=np.uint8), np.array(tbits, dtype=np.uint8)


def unpack_postings(
    words: np.ndarray, dbits: np.ndarray, tbits: np.ndarray, list_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of ``pack_postings``."""
    stream = [(int(wd) >> i) & 1 for wd in words for i in range(32)]
    pos = 0

    def take(width: int) -> int:
        nonlocal pos
        v = sum(stream[pos + i] << i for i in range(width))
        pos += width
        return v

    docs: list[int] = []
    tfs: list[int] = []
    b = 0
    for j in range(len(list_start) - 1):
        s, e = int(list_start[j]), int(list_start[j + 1])
        prev = -1
        for q in range(s, e, BLOCK):
            cnt = min(q + BLOCK, e) - q
            for _ in range(cnt):
                prev = prev + take(int(dbits[b])) + 1
                docs.append(prev)
            tfs.extend(take(int(tbits[b])) + 1 for _ in range(cnt))
            b += 1
    return np.array(docs, dtype=np.uint32), np.array(tfs, dtype=np.uint16)
