"""Service configuration: defaults < TOML file < ``HERON_*`` environment < command line.

The only place (with ``cli/serve_cmd.py``) that reads files or the environment for the
service; everything else receives a frozen, validated :class:`ServiceConfig`.

TOML layout (every key optional; unknown keys are an error, so typos surface)::

    host = "127.0.0.1"
    port = 8000
    data_dir = "heron-data"          # where POST /v1/indexes creates indexes
    default_index = "docs"           # searched when a request names no index
    refresh_interval_s = 1.0         # near-real-time refresh period (writes searchable after it)
    durability = "request"           # request: fsync the write-ahead log before answering; async
    wal_sync_interval_ms = 200.0     # async durability: log fsync period (the power-loss window)
    commit_interval_s = 10.0         # commit (segments + manifest, log trimmed) period
    writer_idle_s = 30.0             # a committed writer closes after this long without writes (0: at once)
    writer_process = true            # index in a child process so writes don't slow searches (on-disk indexes)
    max_pending_docs = 1000000       # uncommitted documents per index before writes get 429
    max_segments = 500               # segments per index (merge backlog) before writes get 503
    snapshot_repo = ""               # /v1/snapshots repository: a directory or s3://bucket/prefix
    cross_encoder = ""               # local ONNX cross-encoder dir (model.onnx + tokenizer.json): rerank="cross-encoder"
    request_timeout_s = 10.0         # deadline of searches and reads (504 after it)
    max_body_bytes = 1048576         # JSON bodies
    max_bulk_bytes = 67108864        # NDJSON bulk bodies
    max_bulk_lines = 10000           # documents per bulk request
    rate_limit_rps = 50.0            # per API key (per client address when open)
    rate_limit_burst = 50
    warmup = true                    # compile/load the kernels at start (and gc.freeze the start-up heap)
    log_level = "info"
    graceful_shutdown_s = 10.0
    workers = 1                      # uvicorn worker processes (searches scale; see serve --help)
    access_log = true                # one JSON line per request on stderr (logger heron.access)
    log_queries = false              # put the raw query in access logs (default: a hash of it)
    tracing = "off"                  # OpenTelemetry spans: off, console, otlp
    search_threads = true            # long searches in a worker thread (false: all inline in the event loop)
    inline_search_ms = 10.0          # searches averaging less than this run inline (no thread hop); 0: never
    otlp_endpoint = ""               # OTLP/HTTP traces URL (tracing = "otlp"); default: the SDK's

    [indexes]
    docs = "/var/lib/heron/docs"

    [[api_keys]]
    name = "frontend"
    key = "sk-..."                   # or key_env = "FRONTEND_KEY"
    scopes = ["search"]              # search, write, admin (admin implies all)

Environment: ``HERON_<KEY>`` for every scalar key above (``HERON_PORT=9000``),
``HERON_INDEXES="a=/path/a,b=/path/b"`` and ``HERON_API_KEYS="key1:search;key2:search+write"``.
No API key configured means the service is **open** (no authentication; a warning is logged).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heron.errors import ConfigError

SCOPES = ("search", "write", "admin")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_RATE_RPS = 50.0
DEFAULT_RATE_BURST = 50
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_BULK_BYTES = 64 << 20
DEFAULT_MAX_BULK_LINES = 10_000
DEFAULT_REQUEST_TIMEOUT_S = 10.0
DEFAULT_REFRESH_INTERVAL_S = 1.0
ENV_PREFIX = "HERON_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
TRACING_EXPORTERS = ("off", "console", "otlp")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key and its scopes. ``repr`` never shows the secret."""

    name: str
    key: str = field(repr=False)
    scopes: frozenset[str] = frozenset({"search"})

    def __post_init__(self) -> None:
        if len(self.key) < 8:
            raise ConfigError(f"api key {self.name!r}: keys must be at least 8 characters long")
        bad = set(self.scopes) - set(SCOPES)
        if bad or not self.scopes:
            raise ConfigError(f"api key {self.name!r}: scopes must be a non-empty subset of {list(SCOPES)}, "
                              f"got {sorted(self.scopes)}")

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Validated settings of one ``heron serve`` process."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    indexes: Mapping[str, str] = field(default_factory=dict)
    default_index: str | None = None
    data_dir: str | None = None
    api_keys: tuple[ApiKey, ...] = ()
    rate_limit_rps: float = DEFAULT_RATE_RPS
    rate_limit_burst: int = DEFAULT_RATE_BURST
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_bulk_bytes: int = DEFAULT_MAX_BULK_BYTES
    max_bulk_lines: int = DEFAULT_MAX_BULK_LINES
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    refresh_interval_s: float = DEFAULT_REFRESH_INTERVAL_S
    warmup: bool = True
    log_level: str = "info"
    graceful_shutdown_s: float = 10.0
    durability: str = "request"
    wal_sync_interval_ms: float = 200.0
    commit_interval_s: float = 10.0
    writer_idle_s: float = 30.0
    writer_process: bool = True
    max_pending_docs: int = 1_000_000
    max_segments: int = 500
    snapshot_repo: str | None = None
    cross_encoder: str | None = None
    workers: int = 1
    access_log: bool = True
    log_queries: bool = False
    tracing: str = "off"
    otlp_endpoint: str | None = None
    search_threads: bool = True
    inline_search_ms: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be 1-65535, got {self.port}")
        for name in self.indexes:
            _check_name(name)
        if self.default_index is not None and self.default_index not in self.indexes:
            raise ConfigError(f"default_index {self.default_index!r} is not one of the configured indexes "
                              f"{sorted(self.indexes)}")
        for what, v in (("rate_limit_rps", self.rate_limit_rps), ("request_timeout_s", self.request_timeout_s),
                        ("refresh_interval_s", self.refresh_interval_s),
                        ("wal_sync_interval_ms", self.wal_sync_interval_ms),
                        ("commit_interval_s", self.commit_interval_s)):
            if not v > 0:
                raise ConfigError(f"{what} must be > 0, got {v}")
        for what, n in (("rate_limit_burst", self.rate_limit_burst), ("max_body_bytes", self.max_body_bytes),
                        ("max_bulk_bytes", self.max_bulk_bytes), ("max_bulk_lines", self.max_bulk_lines),
                        ("workers", self.workers)):
            if n < 1:
                raise ConfigError(f"{what} must be >= 1, got {n}")
        if self.durability not in ("request", "async"):
            raise ConfigError(f"durability must be 'request' or 'async', got {self.durability!r}")
        if self.max_pending_docs < 1 or self.max_segments < 1:
            raise ConfigError(f"max_pending_docs and max_segments must be >= 1, got {self.max_pending_docs}, "
                              f"{self.max_segments}")
        if not self.writer_idle_s >= 0:
            raise ConfigError(f"writer_idle_s must be >= 0, got {self.writer_idle_s}")
        if self.inline_search_ms < 0:
            raise ConfigError(f"inline_search_ms must be >= 0, got {self.inline_search_ms}")
        if self.graceful_shutdown_s < 0:
            raise ConfigError(f"graceful_shutdown_s must be >= 0, got {self.graceful_shutdown_s}")
        if self.log_level not in _LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {list(_LOG_LEVELS)}, got {self.log_level!r}")
        if self.tracing not in TRACING_EXPORTERS:
            raise ConfigError(f"tracing must be one of {list(TRACING_EXPORTERS)}, got {self.tracing!r}")
        names = [k.name for k in self.api_keys]
        if len(set(names)) != len(names):
            raise ConfigError(f"api key names must be unique, got {names}")
        if len({k.key for k in self.api_keys}) != len(self.api_keys):
            raise ConfigError("two api keys have the same secret")

    def writer_options(self) -> dict[str, Any]:
        """Options of the live writer of each served index."""
        return {"durability": self.durability, "sync_interval_ms": self.wal_sync_interval_ms,
                "refresh_interval_s": self.refresh_interval_s, "commit_interval_s": self.commit_interval_s,
                "max_pending_docs": self.max_pending_docs, "max_segments": self.max_segments,
                "parallel_min_docs": 256,  # big bulk bodies are analysed in worker processes
                "process": self.writer_process, "idle_s": self.writer_idle_s}

    @property
    def open_access(self) -> bool:
        """True when no API key is configured: every request is allowed."""
        return not self.api_keys


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"invalid index name {name!r}: use 1-64 letters, digits, '_', '-' or '.', "
                          "starting with a letter or digit")


def check_index_name(name: str) -> str:
    """Validate an index name (raises ``ConfigError``); returns it."""
    _check_name(name)
    return name


#: scalar settings → their annotation as written (``"int"``, ``"str | None"``, ...)
_SCALARS: dict[str, str] = {
    f.name: str(f.type) for f in dataclasses.fields(ServiceConfig) if f.name not in ("indexes", "api_keys")
}


def _coerce(key: str, value: Any, source: str) -> Any:
    kind = _SCALARS[key]
    try:
        if "bool" in kind:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                return value.lower() in ("1", "true", "yes", "on")
            raise ValueError
        if kind == "int":
            if isinstance(value, bool | float):
                raise ValueError
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if value is None or (isinstance(value, str) and not value and "None" in kind):
            return None
        if not isinstance(value, str):
            raise ValueError
        return value
    except ValueError:
        want = "true/false" if "bool" in kind else kind.replace(" | None", "")
        raise ConfigError(f"{source}: {key} must be {want}, got {value!r}") from None


def _parse_keys(items: Any, source: str, env: Mapping[str, str]) -> tuple[ApiKey, ...]:
    if not isinstance(items, list):
        raise ConfigError(f"{source}: api_keys must be an array of tables ([[api_keys]])")
    out = []
    for i, it in enumerate(items):
        if not isinstance(it, dict) or set(it) - {"name", "key", "key_env", "scopes"}:
            raise ConfigError(f"{source}: api_keys[{i}] must be a table with name, key or key_env, scopes")
        name = str(it.get("name", f"key{i + 1}"))
        key = it.get("key")
        if key is None and "key_env" in it:
            key = env.get(str(it["key_env"]))
            if key is None:
                raise ConfigError(f"{source}: api key {name!r}: environment variable {it['key_env']!r} is not set")
        if not isinstance(key, str):
            raise ConfigError(f"{source}: api key {name!r} needs a string 'key' (or 'key_env')")
        scopes = it.get("scopes", ["search"])
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError(f"{source}: api key {name!r}: scopes must be a list of strings")
        out.append(ApiKey(name, key, frozenset(scopes)))
    return tuple(out)


def _parse_env_keys(spec: str) -> tuple[ApiKey, ...]:
    out = []
    for i, part in enumerate(p.strip() for p in spec.split(";")):
        if not part:
            continue
        key, _, scopes = part.rpartition(":")
        if not key:
            key, scopes = scopes, "search"
        out.append(ApiKey(f"env{i + 1}", key, frozenset(s for s in scopes.split("+") if s)))
    return tuple(out)


def parse_index_specs(specs: list[str] | tuple[str, ...], source: str) -> dict[str, str]:
    """``["name=path", ...]`` → ``{name: path}`` (a bare path is named after its folder)."""
    out: dict[str, str] = {}
    for s in specs:
        name, sep, path = s.partition("=")
        if not sep:
            path = name
            name = Path(name.rstrip("/")).name.lstrip(".") or "default"
        name, path = name.strip(), path.strip()
        if not path:
            raise ConfigError(f"{source}: index {s!r} needs a path: use NAME=PATH")
        _check_name(name)
        if name in out:
            raise ConfigError(f"{source}: index name {name!r} given twice")
        out[name] = path
    return out


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServiceConfig:
    """Build the configuration from a TOML file, ``HERON_*`` variables and overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, Any] = {}
    if path is not None:
        values.update(_read_toml(Path(path), env))
    for key in _SCALARS:
        raw = env.get(ENV_PREFIX + key.upper())
        if raw is not None:
            values[key] = _coerce(key, raw, f"${ENV_PREFIX}{key.upper()}")
    if env.get("HERON_INDEXES"):
        indexes = dict(values.get("indexes", {}))
        indexes.update(parse_index_specs(env["HERON_INDEXES"].split(","), "$HERON_INDEXES"))
        values["indexes"] = indexes
    if env.get("HERON_API_KEYS"):
        values["api_keys"] = _parse_env_keys(env["HERON_API_KEYS"])
    for key, v in (overrides or {}).items():
        if v is None:
            continue
        if key == "indexes":
            values["indexes"] = {**values.get("indexes", {}), **v}
        else:
            values[key] = v
    return ServiceConfig(**values)


def _read_toml(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from None
    src = str(path)
    unknown = set(raw) - set(_SCALARS) - {"indexes", "api_keys"}
    if unknown:
        raise ConfigError(f"{src}: unknown key(s) {sorted(unknown)}; allowed: "
                          f"{sorted([*_SCALARS, 'indexes', 'api_keys'])}")
    out: dict[str, Any] = {k: _coerce(k, v, src) for k, v in raw.items() if k in _SCALARS}
    if "indexes" in raw:
        idx = raw["indexes"]
        if not isinstance(idx, dict) or not all(isinstance(v, str) for v in idx.values()):
            raise ConfigError(f"{src}: [indexes] must map names to path strings")
        base = path.parent
        out["indexes"] = {check_index_name(k): str(base / v) for k, v in idx.items()}
    if "api_keys" in raw:
        out["api_keys"] = _parse_keys(raw["api_keys"], src, env)
    if "data_dir" in out and out["data_dir"] is not None:
        out["data_dir"] = str(path.parent / out["data_dir"])
    return out
