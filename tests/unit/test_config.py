from __future__ import annotations

import pytest

from heron import Bm25Params, ConfigError, FilterField, IndexSettings, TextField


@pytest.mark.parametrize(("k1", "b"), [(-0.1, 0.5), (float("nan"), 0.5), (1.2, 1.5), (1.2, -0.01)])
def test_bad_bm25_params_are_rejected_with_the_value(k1: float, b: float) -> None:
    with pytest.raises(ConfigError, match="illegal"):
        Bm25Params(k1, b)


def test_defaults_are_the_measured_ones() -> None:
    s = IndexSettings()
    assert s.single_field and [f.name for f in s.text_fields] == ["text"]
    assert (s.bm25.k1, s.bm25.b) == (2.0, 0.75)


def test_settings_round_trip() -> None:
    s = IndexSettings(
        text_fields=(TextField("title", weight=0.5, bm25=Bm25Params(1.0, 0.3)), TextField("text")),
        filter_fields=(FilterField("year", "numeric"), FilterField("tags"), FilterField("seen", "date")),
    )
    assert not s.single_field
    assert IndexSettings.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    "bad",
    [
        {"text_fields": [{"name": "Title"}]},
        {"text_fields": [{"name": "url"}]},
        {"text_fields": [{"name": "text", "weight": 0}]},
        {"filter_fields": [{"name": "x", "type": "blob"}]},
        {"bogus": 1},
        {"text_fields": [{"name": "text"}, {"name": "text"}]},
        {"text_fields": [{"weight": 2}]},
        {"text_fields": "text"},
        {"filter_fields": [{"type": "numeric"}]},
        {"bm25": {"k1": "high"}},
        {"text_fields": [7]},
    ],
)
def test_invalid_settings_raise_config_error(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        IndexSettings.from_dict(bad)
