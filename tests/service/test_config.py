"""Service configuration: TOML < HERON_* environment < overrides, validated with clear messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from heron.errors import ConfigError
from heron.service.config import ServiceConfig, load_config, parse_index_specs

TOML = """
port = 9001
default_index = "docs"
rate_limit_rps = 5
warmup = false
data_dir = "data"

[indexes]
docs = "idx/docs"

[[api_keys]]
name = "front"
key = "sk-front-123"
scopes = ["search"]

[[api_keys]]
name = "ops"
key_env = "OPS_KEY"
scopes = ["admin"]
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "heron.toml"
    p.write_text(text)
    return p


def test_toml(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, TOML), env={"OPS_KEY": "sk-ops-4567"})
    assert cfg.port == 9001 and cfg.rate_limit_rps == 5.0 and cfg.warmup is False
    assert cfg.indexes == {"docs": str(tmp_path / "idx/docs")}  # relative to the file
    assert cfg.data_dir == str(tmp_path / "data")
    assert [(k.name, sorted(k.scopes)) for k in cfg.api_keys] == [("front", ["search"]), ("ops", ["admin"])]
    assert cfg.api_keys[1].key == "sk-ops-4567"
    assert not cfg.open_access


def test_env_overrides_toml_and_overrides_win(tmp_path: Path) -> None:
    env = {"OPS_KEY": "sk-ops-4567", "HERON_PORT": "9100", "HERON_WARMUP": "true",
           "HERON_INDEXES": "more=/x/more", "HERON_KERNELS": "numba"}
    cfg = load_config(write(tmp_path, TOML), env=env, overrides={"port": 9200, "host": None})
    assert cfg.port == 9200 and cfg.warmup is True and cfg.host == "127.0.0.1"
    assert set(cfg.indexes) == {"docs", "more"}


def test_env_api_keys() -> None:
    cfg = load_config(env={"HERON_API_KEYS": "sk-aaaa-1111:search+write; sk-bbbb-2222"})
    assert [sorted(k.scopes) for k in cfg.api_keys] == [["search", "write"], ["search"]]


def test_defaults_are_open_and_perplexity_like() -> None:
    cfg = load_config(env={})
    assert cfg.open_access and cfg.rate_limit_rps == 50 and cfg.rate_limit_burst == 50
    assert cfg.refresh_interval_s <= 1.0


def test_writer_idle_time_reaches_the_index_handles() -> None:
    assert load_config(env={}).writer_options()["idle_s"] == 30.0
    cfg = load_config(env={"HERON_WRITER_IDLE_S": "0"})
    assert cfg.writer_idle_s == 0.0 and cfg.writer_options()["idle_s"] == 0.0


@pytest.mark.parametrize(
    ("text", "env", "needle"),
    [
        ("port = 'abc'", {}, "port must be int"),
        ("port = 70000", {}, "port must be 1-65535"),
        ("prot = 1", {}, "unknown key(s) ['prot']"),
        ("rate_limit_rps = 0", {}, "rate_limit_rps must be > 0"),
        ("writer_idle_s = -1.0", {}, "writer_idle_s must be >= 0"),
        ("warmup = 'maybe'", {}, "warmup must be true/false"),
        ("log_level = 'loud'", {}, "log_level must be one of"),
        ("default_index = 'x'", {}, "default_index 'x' is not one of"),
        ("[indexes]\n'bad name' = 'p'", {}, "invalid index name"),
        ("[[api_keys]]\nkey = 'short'", {}, "at least 8 characters"),
        ("[[api_keys]]\nkey = 'long-enough-1'\nscopes = ['root']", {}, "scopes must be"),
        ("[[api_keys]]\nkey_env = 'MISSING'", {}, "'MISSING' is not set"),
        ("port = ", {}, "not valid TOML"),
        ("", {"HERON_MAX_BODY_BYTES": "lots"}, "$HERON_MAX_BODY_BYTES: max_body_bytes must be int"),
    ],
)
def test_errors_are_clear(tmp_path: Path, text: str, env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text), env=env)
    assert needle in str(e.value)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("/nonexistent/heron.toml", env={})


def test_index_specs() -> None:
    assert parse_index_specs(["a=/x/a", "/y/b-index/"], "--index") == {"a": "/x/a", "b-index": "/y/b-index/"}
    with pytest.raises(ConfigError, match="given twice"):
        parse_index_specs(["a=/x", "a=/y"], "--index")
    with pytest.raises(ConfigError, match="needs a path"):
        parse_index_specs(["a="], "--index")


def test_duplicate_keys_rejected() -> None:
    from heron.service.config import ApiKey

    with pytest.raises(ConfigError, match="same secret"):
        ServiceConfig(api_keys=(ApiKey("a", "sk-same-123"), ApiKey("b", "sk-same-123")))
