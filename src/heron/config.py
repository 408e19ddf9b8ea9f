"""Frozen, validated configuration objects.

``IndexSettings`` are *creation-time* settings recorded in the index manifest (fields,
analyzers, default BM25 parameters). Search-time knobs travel as arguments of
``Index.search``. Nothing here reads the environment: the CLI and the service do that and
pass these objects inward.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from heron.errors import ConfigError

#: BM25 and analysis defaults, chosen by measurement on the shared evaluation sets
#: (SciFact, Cranfield, CISI, LISA; see README "Relevance"): the best joint nDCG@10.
DEFAULT_K1 = 2.0
DEFAULT_B = 0.75
DEFAULT_TITLE_WEIGHT = 0.5
DEFAULT_ANALYZER = "english_search"

FilterType = Literal["keyword", "numeric", "date"]
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
RESERVED_FIELDS = frozenset({"id", "url", "domain", "date", "last_updated", "language", "metadata"})


@dataclass(frozen=True, slots=True)
class Bm25Params:
    """Lucene's BM25: ``idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))``."""

    k1: float = DEFAULT_K1
    b: float = DEFAULT_B

    def __post_init__(self) -> None:
        if not (math.isfinite(self.k1) and self.k1 >= 0):
            raise ConfigError(f"illegal k1 value: {self.k1!r}; k1 must be a finite number >= 0 (typical 0.9-2.0)")
        if not (math.isfinite(self.b) and 0 <= self.b <= 1):
            raise ConfigError(f"illegal b value: {self.b!r}; b must be in [0, 1] (typical 0.4-0.75)")

    def to_dict(self) -> dict[str, float]:
        return {"k1": self.k1, "b": self.b}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Bm25Params:
        _check_keys("bm25", d, {"k1", "b"})
        return cls(k1=float(d.get("k1", DEFAULT_K1)), b=float(d.get("b", DEFAULT_B)))


@dataclass(frozen=True, slots=True)
class TextField:
    """A full-text field: analyzed, inverted, scored with BM25 times ``weight``.

    ``analyzer`` is a preset name or an analyzer spec dict (see ``heron.analysis``);
    ``bm25`` overrides the index default parameters for this field.
    """

    name: str
    analyzer: str | dict[str, Any] = DEFAULT_ANALYZER
    weight: float = 1.0
    bm25: Bm25Params | None = None
    stored: bool = True

    def __post_init__(self) -> None:
        if not _FIELD_NAME.match(self.name) or self.name in RESERVED_FIELDS:
            raise ConfigError(
                f"invalid text field name {self.name!r}: use lowercase letters, digits and '_' "
                f"(not one of the reserved names {sorted(RESERVED_FIELDS)})"
            )
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ConfigError(f"field {self.name!r}: weight must be a finite number > 0, got {self.weight!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "analyzer": self.analyzer,
            "weight": self.weight,
            "bm25": None if self.bm25 is None else self.bm25.to_dict(),
            "stored": self.stored,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextField:
        _check_keys("text field", d, {"name", "analyzer", "weight", "bm25", "stored"})
        _require(d, "text field", "name")
        bm = d.get("bm25")
        return cls(
            name=str(d["name"]),
            analyzer=d.get("analyzer", DEFAULT_ANALYZER),
            weight=float(d.get("weight", 1.0)),
            bm25=None if bm is None else Bm25Params.from_dict(bm),
            stored=bool(d.get("stored", True)),
        )


@dataclass(frozen=True, slots=True)
class FilterField:
    """A declared metadata field stored column-wise for fast filtering.

    Values are read from ``document.metadata[name]``. ``keyword``: strings (or lists of
    strings); ``numeric``: int/float; ``date``: ISO dates / datetimes.
    """

    name: str
    type: FilterType = "keyword"

    def __post_init__(self) -> None:
        if not _FIELD_NAME.match(self.name):
            raise ConfigError(f"invalid filter field name {self.name!r}: use lowercase letters, digits and '_'")
        if self.type not in ("keyword", "numeric", "date"):
            raise ConfigError(
                f"filter field {self.name!r}: unknown type {self.type!r}; choose keyword, numeric or date"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FilterField:
        _check_keys("filter field", d, {"name", "type"})
        _require(d, "filter field", "name")
        return cls(name=str(d["name"]), type=d.get("type", "keyword"))


#: dense-retrieval defaults (see ``VectorSettings``)
DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True, slots=True)
class VectorSettings:
    """Dense vectors for hybrid retrieval (optional; an index without them stays lexical).

    Each document's ``text`` is cut into passages of about ``chunk_words`` words (sentence-aware,
    ``chunk_overlap`` words shared between neighbours); ``title + " " + passage`` is embedded with
    ``model`` (the bundled all-MiniLM-L6-v2, or a local directory with ``model.onnx`` and
    ``tokenizer.json``; ``pooling`` / prefixes override its ``heron_embedder.json``). Vectors are
    stored per segment as ``dtype`` (float16, or int8 with a per-vector scale); segments with
    more than ``exact_below`` passages get an HNSW graph (``hnsw_m``, ``ef_construction``,
    searched with ``ef_search``); smaller ones, and filtered searches whose allowed passages are
    fewer than ``filter_exact_below``, are scored exactly.
    """

    model: str = DEFAULT_EMBED_MODEL
    pooling: str | None = None
    query_prefix: str | None = None
    passage_prefix: str | None = None
    max_length: int = 256
    chunk_words: int = 200
    chunk_overlap: int = 20
    dtype: Literal["float16", "int8"] = "float16"
    hnsw_m: int = 16
    ef_construction: int = 100
    ef_search: int = 128  # recall@10 vs exact on enwiki-107k text queries: 0.91 at 64, 0.95 at 128
    exact_below: int = 4096
    filter_exact_below: int = 20_000

    def __post_init__(self) -> None:
        if self.dtype not in ("float16", "int8"):
            raise ConfigError(f"vectors.dtype must be 'float16' or 'int8', got {self.dtype!r}")
        if self.pooling not in (None, "mean", "cls"):
            raise ConfigError(f"vectors.pooling must be 'mean' or 'cls', got {self.pooling!r}")
        if not 8 <= self.chunk_words <= 4096:
            raise ConfigError(f"vectors.chunk_words must be in [8, 4096], got {self.chunk_words}")
        if not 0 <= self.chunk_overlap < self.chunk_words:
            raise ConfigError(f"vectors.chunk_overlap must be in [0, chunk_words), got {self.chunk_overlap}")
        for name in ("max_length", "hnsw_m", "ef_construction", "ef_search"):
            if int(getattr(self, name)) < 2:
                raise ConfigError(f"vectors.{name} must be >= 2, got {getattr(self, name)}")
        for name in ("exact_below", "filter_exact_below"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"vectors.{name} must be >= 0, got {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VectorSettings:
        _check_keys("vectors", d, set(cls.__dataclass_fields__))
        return cls(**d)


#: default memory budget of a writer's buffer, MiB (``IndexSettings.writer_buffer_mb``)
DEFAULT_WRITER_BUFFER_MB = 256


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """Creation-time index settings, stored in the manifest.

    The default schema is one ``text`` field fed with ``title + " " + text`` (measured best
    on the shared sets; ``title:`` queries then search that field). ``fielded()`` keeps
    ``title`` and ``text`` as separate fields, each scored with BM25 times its weight.
    """

    text_fields: tuple[TextField, ...] = field(default_factory=lambda: (TextField("text"),))
    filter_fields: tuple[FilterField, ...] = ()
    bm25: Bm25Params = field(default_factory=Bm25Params)
    #: one ``text`` field fed with ``title + " " + text``; ``None`` = true exactly when the
    #: only text field is ``text``
    single_field: bool | None = None
    store_documents: bool = True
    #: documents buffered in RAM before the writer flushes a segment
    writer_buffer_docs: int = 100_000
    #: estimated RAM (MiB) of the buffered documents (term ids, per-document state, stored
    #: records) before the writer flushes a segment, whichever of the two limits comes first;
    #: the flush itself briefly needs about as much again (Lucene's ``ramBufferSizeMB``,
    #: tantivy's writer heap)
    writer_buffer_mb: int = DEFAULT_WRITER_BUFFER_MB
    #: dense vectors for hybrid retrieval; ``None`` = lexical only
    vectors: VectorSettings | None = None

    def __post_init__(self) -> None:
        if not self.text_fields:
            raise ConfigError("an index needs at least one text field")
        if self.single_field is None:
            object.__setattr__(self, "single_field", [f.name for f in self.text_fields] == ["text"])
        names = [f.name for f in self.text_fields] + [f.name for f in self.filter_fields]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"duplicate field names in settings: {sorted(dup)}")
        if self.single_field and [f.name for f in self.text_fields] != ["text"]:
            raise ConfigError("flat settings must have exactly one text field named 'text'")
        if self.writer_buffer_docs < 1:
            raise ConfigError(f"writer_buffer_docs must be >= 1, got {self.writer_buffer_docs}")
        if self.writer_buffer_mb < 1:
            raise ConfigError(f"writer_buffer_mb must be >= 1 (MiB), got {self.writer_buffer_mb}")

    @classmethod
    def flat(cls, **kw: Any) -> IndexSettings:
        """One ``text`` field holding ``title + " " + text`` (the default)."""
        return cls(text_fields=(TextField("text"),), single_field=True, **kw)

    @classmethod
    def fielded(cls, title_weight: float = DEFAULT_TITLE_WEIGHT, **kw: Any) -> IndexSettings:
        """Separate ``title`` and ``text`` fields; a term's score sums over them."""
        return cls(text_fields=(TextField("title", weight=title_weight), TextField("text")), single_field=False, **kw)

    def field_params(self, f: TextField) -> Bm25Params:
        return f.bm25 if f.bm25 is not None else self.bm25

    def text_field(self, name: str) -> TextField:
        for f in self.text_fields:
            if f.name == name:
                return f
        raise ConfigError(f"unknown text field {name!r}; index has {[f.name for f in self.text_fields]}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "text_fields": [f.to_dict() for f in self.text_fields],
            "filter_fields": [f.to_dict() for f in self.filter_fields],
            "bm25": self.bm25.to_dict(),
            "single_field": self.single_field,
            "store_documents": self.store_documents,
            "writer_buffer_docs": self.writer_buffer_docs,
            # written only when set, so that indexes with the default stay readable by earlier versions
            **({"writer_buffer_mb": self.writer_buffer_mb} if self.writer_buffer_mb != DEFAULT_WRITER_BUFFER_MB else {}),
            **({"vectors": self.vectors.to_dict()} if self.vectors is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IndexSettings:
        _check_keys(
            "settings",
            d,
            {"text_fields", "filter_fields", "bm25", "single_field", "store_documents", "writer_buffer_docs",
             "writer_buffer_mb", "vectors"},
        )
        kw: dict[str, Any] = {}
        for key in ("text_fields", "filter_fields"):
            if key in d and not isinstance(d[key], list):
                raise ConfigError(f"settings: {key!r} must be a list of field objects, got {type(d[key]).__name__}")
        try:
            return cls._from_checked(d, kw)
        except (TypeError, ValueError) as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"settings: invalid value ({e}); see IndexSettings for the expected shape") from None

    @classmethod
    def _from_checked(cls, d: dict[str, Any], kw: dict[str, Any]) -> IndexSettings:
        if "text_fields" in d:
            kw["text_fields"] = tuple(TextField.from_dict(x) for x in d["text_fields"])
        if "filter_fields" in d:
            kw["filter_fields"] = tuple(FilterField.from_dict(x) for x in d["filter_fields"])
        if "bm25" in d:
            kw["bm25"] = Bm25Params.from_dict(d["bm25"])
        for key in ("single_field", "store_documents"):
            if key in d:
                kw[key] = bool(d[key])
        for key in ("writer_buffer_docs", "writer_buffer_mb"):
            if key in d:
                kw[key] = int(d[key])
        if d.get("vectors") is not None:
            kw["vectors"] = VectorSettings.from_dict(d["vectors"])
        return cls(**kw)


def _require(d: dict[str, Any], what: str, key: str) -> None:
    if key not in d:
        raise ConfigError(f"{what}: missing required key {key!r} (got keys {sorted(d)})")


def _check_keys(what: str, d: dict[str, Any], allowed: set[str]) -> None:
    if not isinstance(d, dict):
        raise ConfigError(f"{what}: expected a mapping, got {type(d).__name__}")
    unknown = set(d) - allowed
    if unknown:
        raise ConfigError(f"{what}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
