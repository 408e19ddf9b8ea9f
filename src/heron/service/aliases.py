"""Index aliases: alias name → index name, swapped atomically.

Searches and document requests may name an alias wherever they name an index; pointing an
alias at another index (``set``) is one atomic replacement of the mapping, so a request sees
either the old or the new index, never a mix or a gap — rebuild into a new index with new
settings while the old one serves, then swap. With a ``data_dir`` the mapping persists in
``<data_dir>/aliases.json`` (written with temp + fsync + rename); ``heron alias`` edits that
file and a running service picks the change up at its next refresh.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import orjson

from heron.errors import ConfigError
from heron.service.config import check_index_name

ALIASES_FILE = "aliases.json"


class AliasStore:
    """Thread-safe alias map, optionally persisted as a JSON file."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._map: dict[str, str] = {}
        self._mtime: float | None = None
        self.reload()

    def reload(self) -> bool:
        """Re-read the file if it changed on disk; returns whether it did."""
        if self.path is None or not self.path.is_file():
            return False
        mtime = self.path.stat().st_mtime
        if mtime == self._mtime:
            return False
        try:
            data = orjson.loads(self.path.read_bytes())
        except orjson.JSONDecodeError as e:
            raise ConfigError(f"{self.path}: not valid JSON ({e}); fix or delete the aliases file") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ConfigError(f"{self.path}: must map alias names to index names")
        with self._lock:
            self._map = dict(data)  # one reference swap: readers see the old or the new map
            self._mtime = mtime
        return True

    def resolve(self, name: str) -> str:
        return self._map.get(name, name)

    def items(self) -> dict[str, str]:
        return dict(self._map)

    def set(self, alias: str, index: str) -> str | None:
        """Point ``alias`` at ``index`` atomically; returns the index it pointed to before."""
        check_index_name(alias)
        check_index_name(index)
        with self._lock:
            new = {**self._map, alias: index}
            self._save(new)
            old = self._map.get(alias)
            self._map = new
        return old

    def remove(self, alias: str) -> bool:
        with self._lock:
            if alias not in self._map:
                return False
            new = {k: v for k, v in self._map.items() if k != alias}
            self._save(new)
            self._map = new
        return True

    def _save(self, m: dict[str, str]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(m, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._mtime = self.path.stat().st_mtime
