"""Option groups shared by several commands, and turning them into heron objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import click

from heron.config import (
    DEFAULT_ANALYZER,
    DEFAULT_B,
    DEFAULT_K1,
    DEFAULT_TITLE_WEIGHT,
    Bm25Params,
    FilterField,
    IndexSettings,
    VectorSettings,
)
from heron.errors import ConfigError
from heron.search.filters import SearchFilters

F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT_SCHEMA = "flat" if IndexSettings().single_field else "fielded"

#: names of the creation-time options added by :func:`settings_options`
SETTINGS_OPTION_NAMES = ("flat", "k1", "b", "title_weight", "analyzer", "filter_fields", "buffer_docs", "buffer_mb", "vectors")


class UserError(click.ClickException):
    """A problem the user can fix (bad input, bad option, missing index): exit status 2."""

    exit_code = 2


def _apply(f: F, decorators: Sequence[Callable[[F], F]]) -> F:
    for d in reversed(decorators):
        f = d(f)
    return f


def settings_options(f: F) -> F:
    """Creation-time index settings: schema, analyzer, BM25 parameters, filter fields."""
    return _apply(
        f,
        [
            click.option("--flat/--fielded", "flat", default=None,
                         help="--flat: one 'text' field fed with title + ' ' + text; --fielded: separate title and "
                              f"text fields (default: {_DEFAULT_SCHEMA})."),
            click.option("--k1", type=float, default=None, help=f"BM25 k1 (default {DEFAULT_K1:g})."),
            click.option("--b", "b", type=float, default=None, help=f"BM25 b (default {DEFAULT_B:g})."),
            click.option("--title-weight", type=float, default=None,
                         help=f"Weight of the title field's score (implies --fielded; default {DEFAULT_TITLE_WEIGHT:g})."),
            click.option("--analyzer", default=None, metavar="NAME",
                         help=f"Analyzer preset for every text field (default: {DEFAULT_ANALYZER})."),
            click.option("--filter-field", "filter_fields", multiple=True, metavar="NAME[:TYPE]",
                         help="Declare a metadata filter field; TYPE is keyword (default), numeric or date. Repeatable."),
            click.option("--buffer-docs", type=click.IntRange(min=1), default=None, metavar="N",
                         help="Documents buffered in memory before a segment is written (default 100000)."),
            click.option("--buffer-mb", type=click.IntRange(min=1), default=None, metavar="MIB",
                         help="Estimated memory (MiB) of buffered documents before a segment is written, whichever "
                              "of this and --buffer-docs comes first (default 256)."),
            click.option("--vectors", default=None, metavar="MODEL",
                         help="Also store passage vectors for dense/hybrid search: 'all-MiniLM-L6-v2' (bundled) "
                              "or a local model directory (model.onnx + tokenizer.json)."),
        ],
    )


def given_settings_options(params: dict[str, Any]) -> list[str]:
    """The creation-time options the user actually passed (as ``--option`` names)."""
    out = []
    for name in SETTINGS_OPTION_NAMES:
        v = params.get(name)
        if v is None or v == ():
            continue
        if name == "flat":
            out.append("--flat" if v else "--fielded")
        else:
            out.append("--" + name.replace("_", "-").replace("filter-fields", "filter-field"))
    return out


def parse_filter_field(spec: str) -> FilterField:
    name, _, typ = spec.partition(":")
    typ = typ.strip() or "keyword"
    if typ not in ("keyword", "numeric", "date"):
        raise UserError(f"--filter-field {spec!r}: type must be keyword, numeric or date")
    return FilterField(name.strip(), typ)  # type: ignore[arg-type]


def build_settings(
    flat: bool | None = None,
    k1: float | None = None,
    b: float | None = None,
    title_weight: float | None = None,
    analyzer: str | None = None,
    filter_fields: Sequence[str] = (),
    buffer_docs: int | None = None,
    buffer_mb: int | None = None,
    vectors: str | None = None,
    **_: Any,
) -> IndexSettings:
    """``IndexSettings`` from the :func:`settings_options` values (``ConfigError`` on bad values).

    Unset options keep :class:`IndexSettings`' defaults. ``flat``: True = one ``text`` field,
    False = separate ``title`` and ``text`` fields (``--title-weight`` implies that), None = the
    default schema.
    """
    defaults = IndexSettings()
    kw: dict[str, Any] = {
        "bm25": Bm25Params(k1 if k1 is not None else defaults.bm25.k1, b if b is not None else defaults.bm25.b),
        "filter_fields": tuple(parse_filter_field(s) for s in filter_fields),
    }
    if buffer_docs is not None:
        kw["writer_buffer_docs"] = buffer_docs
    if buffer_mb is not None:
        kw["writer_buffer_mb"] = buffer_mb
    if vectors is not None:
        kw["vectors"] = VectorSettings(model=vectors)
    if flat and title_weight is not None:
        raise ConfigError("--title-weight needs separate title and text fields; use --fielded instead of --flat")
    if flat:
        settings = IndexSettings.flat(**kw)
    elif flat is False or title_weight is not None:
        settings = IndexSettings.fielded(title_weight if title_weight is not None else DEFAULT_TITLE_WEIGHT, **kw)
    else:
        settings = IndexSettings(text_fields=defaults.text_fields, single_field=defaults.single_field, **kw)
    if analyzer is not None:
        settings = replace(settings, text_fields=tuple(replace(f, analyzer=analyzer) for f in settings.text_fields))
    return settings


def describe_settings(s: IndexSettings) -> str:
    """One line, e.g. ``title(w=1.0)+text, analyzer english, k1=1.2 b=0.75``."""
    if s.single_field:
        fields = "flat text (title + text)"
    else:
        fields = "+".join(f.name if f.weight == 1.0 else f"{f.name}(w={f.weight:g})" for f in s.text_fields)
    analyzers = sorted({f.analyzer if isinstance(f.analyzer, str) else "custom" for f in s.text_fields})
    out = f"{fields}, analyzer {'/'.join(analyzers)}, k1={s.bm25.k1:g} b={s.bm25.b:g}"
    if s.filter_fields:
        out += ", filter fields " + ", ".join(f"{f.name}:{f.type}" for f in s.filter_fields)
    return out


def filter_options(f: F) -> F:
    """Search filters: domains, published date range, languages."""
    return _apply(
        f,
        [
            click.option("--domain", "domains", multiple=True, metavar="D",
                         help="Only these domains (or exclude with -D, e.g. --domain=-example.com). Repeatable."),
            click.option("--after", default=None, metavar="DATE",
                         help="Published on or after DATE (YYYY-MM-DD or MM/DD/YYYY)."),
            click.option("--before", default=None, metavar="DATE",
                         help="Published on or before DATE (YYYY-MM-DD or MM/DD/YYYY)."),
            click.option("--language", "languages", multiple=True, metavar="L",
                         help="Only documents in language L (e.g. en). Repeatable."),
        ],
    )


def build_filters(
    domains: Sequence[str] = (), after: str | None = None, before: str | None = None, languages: Sequence[str] = ()
) -> SearchFilters | None:
    f = SearchFilters(
        domains=list(domains), published_after=after, published_before=before, languages=list(languages)
    )
    return None if f.is_empty() else f


def progress_option(f: F) -> F:
    return click.option(
        "--progress/--no-progress", default=None,
        help="Show a progress bar on stderr (default: when stderr is a terminal).",
    )(f)
