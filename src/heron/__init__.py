"""heron — self-hosted search backend for answer engines and RAG.

Public API::

    import heron
    idx = heron.Index.create("my-index", heron.IndexSettings())
    with idx.writer() as w:
        w.add({"id": "1", "title": "Herons", "text": "Herons are long-legged wading birds."})
    for hit in idx.search("wading birds", k=5):
        print(hit.id, hit.score, hit.title)
"""

from heron.api import Index, IndexStats
from heron.config import Bm25Params, FilterField, IndexSettings, TextField, VectorSettings
from heron.document import Document, make_document
from heron.errors import (
    ConfigError,
    CorruptIndexError,
    DocumentError,
    FilterError,
    HeronError,
    IncompatibleFormatError,
    IndexExistsError,
    IndexNotFoundError,
    LockError,
    QueryError,
    QueryParseError,
    SchemaError,
)
from heron.index.reader import Searcher
from heron.index.writer import IndexWriter
from heron.search.filters import Range, SearchFilters
from heron.search.hybrid import HybridParams
from heron.search.results import Explanation, Hit, ScoredIds, TermContribution
from heron.search.stats import StatsProvider

__version__ = "0.1.0"

__all__ = [
    "Bm25Params",
    "ConfigError",
    "CorruptIndexError",
    "Document",
    "DocumentError",
    "Explanation",
    "FilterError",
    "FilterField",
    "HeronError",
    "Hit",
    "HybridParams",
    "IncompatibleFormatError",
    "Index",
    "IndexExistsError",
    "IndexNotFoundError",
    "IndexSettings",
    "IndexStats",
    "IndexWriter",
    "LockError",
    "QueryError",
    "QueryParseError",
    "Range",
    "SchemaError",
    "ScoredIds",
    "SearchFilters",
    "Searcher",
    "StatsProvider",
    "TermContribution",
    "TextField",
    "VectorSettings",
    "__version__",
    "make_document",
]
