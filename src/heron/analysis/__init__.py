"""Text analysis: text → index terms, configurable per field and recorded in the index.

::

    from heron.analysis import get_analyzer
    a = get_analyzer("english")            # preset name, AnalyzerSpec or spec dict
    a.terms("The runners' café")           # ['runner', 'cafe']
    a.tokens("Café")                       # [Token(term='cafe', position=0, start=0, end=4)]

Pipeline: :mod:`~heron.analysis.tokenizer` (one regex: words and CJK runs, with offsets) →
:mod:`~heron.analysis.cjk` (bigrams) → :mod:`~heron.analysis.filters` (NFKC, casefold,
ASCII folding) → :mod:`~heron.analysis.stopwords` → Snowball stemming (PyStemmer). See
:class:`AnalyzerSpec` for the settings and :mod:`~heron.analysis.analyzer` for caching and
position rules.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from heron.analysis.analyzer import Analyzer, Token
from heron.analysis.spec import PRESETS, SNOWBALL_LANGUAGES, AnalyzerSpec
from heron.analysis.stopwords import available_stopword_lists
from heron.errors import ConfigError

__all__ = [
    "PRESETS",
    "SNOWBALL_LANGUAGES",
    "Analyzer",
    "AnalyzerSpec",
    "Token",
    "available_stopword_lists",
    "get_analyzer",
    "resolve_spec",
]

_analyzers: dict[AnalyzerSpec, Analyzer] = {}
_analyzers_lock = threading.Lock()


def resolve_spec(spec: AnalyzerSpec | str | Mapping[str, object]) -> AnalyzerSpec:
    """An :class:`AnalyzerSpec` from a spec, a preset name or a spec dict (validated)."""
    if isinstance(spec, AnalyzerSpec):
        return spec
    if isinstance(spec, str):
        try:
            return PRESETS[spec]
        except KeyError:
            raise ConfigError(
                f"unknown analyzer preset {spec!r}; valid presets: {', '.join(sorted(PRESETS))}"
            ) from None
    if isinstance(spec, Mapping):
        return AnalyzerSpec.from_dict(spec)
    raise ConfigError(
        f"an analyzer must be given as a preset name, a spec dict or an AnalyzerSpec, got {type(spec).__name__}"
    )


def get_analyzer(spec: AnalyzerSpec | str | Mapping[str, object]) -> Analyzer:
    """The shared :class:`Analyzer` for ``spec`` (a preset name, a spec dict or an AnalyzerSpec).

    Analyzers are cached per spec, so repeated calls return the same instance and its warm
    caches; they are safe to use from several threads.
    """
    resolved = resolve_spec(spec)
    analyzer = _analyzers.get(resolved)
    if analyzer is None:
        with _analyzers_lock:
            analyzer = _analyzers.get(resolved)
            if analyzer is None:
                analyzer = Analyzer(resolved)
                _analyzers[resolved] = analyzer
    return analyzer
