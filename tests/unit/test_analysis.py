"""Unit tests for heron.analysis: tokenizer, filters, stopwords, stemming, CJK, specs, presets."""

from __future__ import annotations

import json
import pickle
import threading
import unicodedata
from dataclasses import FrozenInstanceError

import pytest
import Stemmer

from heron.analysis import (
    PRESETS,
    SNOWBALL_LANGUAGES,
    Analyzer,
    AnalyzerSpec,
    Token,
    _unicode,
    available_stopword_lists,
    get_analyzer,
)
from heron.analysis.filters import ascii_fold, normalize_and_fold
from heron.analysis.stopwords import load_stopwords, parse_stopword_text
from heron.analysis.tokenizer import is_cjk
from heron.errors import ConfigError, HeronError

SIMPLE = AnalyzerSpec(stopwords=None, stemmer=None)


def terms(text: str, spec: AnalyzerSpec | str = "english") -> list[str]:
    return get_analyzer(spec).terms(text)


def assert_consistent(analyzer: Analyzer, text: str) -> list[Token]:
    toks = analyzer.tokens(text)
    assert analyzer.terms(text) == [t.term for t in toks]
    assert [t.position for t in toks] == list(range(len(toks)))
    for t in toks:
        assert 0 <= t.start < t.end <= len(text)
    return toks


# ---------------------------------------------------------------- tokenizer and offsets


def test_offsets_point_at_the_surface_form() -> None:
    text = "  The Quick-brown fox, née Renard, jumped (twice)!"
    toks = assert_consistent(get_analyzer(SIMPLE), text)
    assert [text[t.start : t.end] for t in toks] == [
        "The", "Quick", "brown", "fox", "née", "Renard", "jumped", "twice",
    ]  # fmt: skip
    assert [t.term for t in toks] == ["the", "quick", "brown", "fox", "nee", "renard", "jumped", "twice"]


def test_offsets_are_into_the_original_string_even_when_normalization_changes_length() -> None:
    text = "ﬁnd ＡＢＣ ß"
    toks = assert_consistent(get_analyzer(SIMPLE), text)
    assert [(t.term, text[t.start : t.end]) for t in toks] == [
        ("find", "ﬁnd"),
        ("abc", "ＡＢＣ"),
        ("ss", "ß"),
    ]


def test_numbers_are_tokens_and_punctuation_and_underscores_separate() -> None:
    assert terms("snake_case 3.14 e-mail 1,000 x86_64", SIMPLE) == [
        "snake", "case", "3", "14", "e", "mail", "1", "000", "x86", "64",
    ]  # fmt: skip


def test_apostrophes_inside_words_keep_the_word_whole() -> None:
    assert terms("don't O'Brien rock'n'roll", SIMPLE) == ["don't", "o'brien", "rock'n'roll"]
    # typographic apostrophe is normalized to ASCII
    assert terms("O’Brien", SIMPLE) == ["o'brien"]
    # leading/trailing apostrophes (quotes) are not part of a word
    assert terms("'quoted' students' 'tis", SIMPLE) == ["quoted", "students", "tis"]
    # the English stemmer strips the possessive; "don't" is an English stopword
    assert terms("Shaw's students' car don't") == ["shaw", "student", "car"]


def test_combining_marks_stay_inside_words() -> None:
    decomposed = "cafe\u0301s"
    toks = assert_consistent(get_analyzer(SIMPLE), decomposed)
    assert [(t.term, t.start, t.end) for t in toks] == [("cafes", 0, 6)]
    hindi = "हिन्दी भाषा"
    assert terms(hindi, SIMPLE) == ["हिन्दी", "भाषा"]


def test_empty_and_separator_only_text() -> None:
    a = get_analyzer("english")
    for text in ["", "   ", "\n\t", "... --- !!!", "_"]:
        assert a.terms(text) == []
        assert a.tokens(text) == []


def test_whitespace_variants_split_tokens() -> None:
    assert terms("a\u00a0b\u2003c\u3000d\te\nf", SIMPLE) == ["a", "b", "c", "d", "e", "f"]


# ---------------------------------------------------------------- normalization filters


def test_nfkc_fullwidth_and_ligatures() -> None:
    assert terms("ＡＢＣ", SIMPLE) == ["abc"]
    assert terms("ｆｕｌｌ１２３", SIMPLE) == ["full123"]
    assert terms("ﬁﬂ", SIMPLE) == ["fifl"]


def test_casefold() -> None:
    assert terms("HELLO World", SIMPLE) == ["hello", "world"]
    assert terms("STRASSE Straße", SIMPLE) == ["strasse", "strasse"]
    assert terms("ΣΊΣΥΦΟΣ", AnalyzerSpec(stopwords=None, stemmer=None, ascii_folding=False)) == ["σίσυφοσ"]


def test_lowercase_off_keeps_case() -> None:
    spec = AnalyzerSpec(lowercase=False, stopwords=None, stemmer=None)
    assert terms("Hello WORLD Café", spec) == ["Hello", "WORLD", "Cafe"]


def test_ascii_folding() -> None:
    assert terms("Café Œuvre straße", SIMPLE) == ["cafe", "oeuvre", "strasse"]
    assert terms("naïve façade Ærøskøbing Łódź Þór Đorđe smørrebrød", SIMPLE) == [
        "naive", "facade", "aeroskobing", "lodz", "thor", "dorde", "smorrebrod",
    ]  # fmt: skip
    assert ascii_fold("crème brûlée") == "creme brulee"
    assert ascii_fold("plain ascii") == "plain ascii"


def test_ascii_folding_leaves_other_scripts_alone() -> None:
    assert terms("Йошкар-Ола ελληνικά 中文", SIMPLE) == ["йошкар", "ола", "ελληνικά", "中文"]
    assert ascii_fold("й") == "й"


def test_ascii_folding_off_keeps_diacritics() -> None:
    spec = AnalyzerSpec(ascii_folding=False, stopwords=None, stemmer=None)
    assert terms("Café straße", spec) == ["café", "strasse"]  # casefold still maps ß -> ss


def test_normalize_and_fold_is_idempotent_on_tricky_input() -> None:
    for raw in ["ǅemal", "Ǿ", "q\u0301", "İstanbul", "ﬀ", "①", "Ⅻ", "ǰ", "ΐ"]:
        once = normalize_and_fold(raw, True, True)
        assert normalize_and_fold(once, True, True) == once


# ---------------------------------------------------------------- stopwords and stemming


def test_english_stopwords_removed_and_stemming() -> None:
    assert terms("The cat and the hat are in the house") == ["cat", "hat", "hous"]
    assert terms("running studies") == ["run", "studi"]
    assert terms("Running RUNS runner") == ["run", "run", "runner"]


def test_stopwords_are_matched_after_casefold_and_folding() -> None:
    spec = AnalyzerSpec(stopwords=("Über", "FOO"), stemmer=None)
    assert terms("uber über foo Foo bar", spec) == ["bar"]


def test_english_lucene_preset_uses_the_33_word_list() -> None:
    assert len(load_stopwords("lucene")) == 33
    # "will" is a Lucene stopword but not a Snowball one; "what" is the reverse
    assert terms("what will be", "english_lucene") == ["what"]
    assert terms("what will be", "english") == ["will"]


def test_simple_preset_has_no_stopwords_and_no_stemming() -> None:
    assert terms("The runners are running", "simple") == ["the", "runners", "are", "running"]


def test_bundled_stopword_lists() -> None:
    lists = available_stopword_lists()
    assert {"english", "lucene", "german", "french", "spanish", "russian"} <= set(lists)
    assert len(load_stopwords("english")) == 174
    for name in lists:
        words = load_stopwords(name)
        assert words and all(w == w.strip() and " " not in w for w in words)
    with pytest.raises(ConfigError, match="english"):
        load_stopwords("klingon")


def test_stopword_file_format() -> None:
    text = "# header\nfoo\n  bar  # trailing comment\n\nfoo\n"
    assert parse_stopword_text(text) == ("foo", "bar")


def test_other_language_presets() -> None:
    assert terms("Die Häuser und die Bäume über dem Fluss", "german") == ["haus", "baum", "fluss"]
    assert terms("Les nationalités et l'homme qu'il aime", "french") == ["national", "homm", "aim"]
    assert terms("Мы говорили о книгах", "russian") == ["говор", "книг"]
    assert terms("las casas blancas", "spanish") == ["cas", "blanc"]
    # languages without a bundled list still stem
    assert PRESETS["hungarian"].stopwords is None
    assert terms("házakban", "hungarian") == [Stemmer.Stemmer("hungarian").stemWord("házakban")]


def test_presets_cover_required_names_and_every_snowball_language() -> None:
    for name in ("english", "english_lucene", "simple", "cjk", "german", "french"):
        assert name in PRESETS
    assert set(SNOWBALL_LANGUAGES) <= set(PRESETS)
    assert tuple(sorted(Stemmer.algorithms())) == SNOWBALL_LANGUAGES
    assert PRESETS["english"] == AnalyzerSpec()
    assert PRESETS["english_lucene"].stopwords == "lucene"
    assert PRESETS["english_lucene"].stemmer == "english"
    assert PRESETS["simple"].stopwords is None and PRESETS["simple"].stemmer is None
    cjk = PRESETS["cjk"]
    assert (cjk.stemmer, cjk.stopwords, cjk.cjk) == (None, None, "bigram")
    for lang in SNOWBALL_LANGUAGES:
        assert PRESETS[lang].stemmer == lang
        get_analyzer(lang).terms("smoke test")


# ---------------------------------------------------------------- CJK


def test_cjk_bigrams_with_offsets() -> None:
    a = get_analyzer("english")
    text = "中文分词"
    toks = assert_consistent(a, text)
    assert [(t.term, t.start, t.end) for t in toks] == [("中文", 0, 2), ("文分", 1, 3), ("分词", 2, 4)]
    assert all(text[t.start : t.end] == t.term for t in toks)


def test_single_cjk_character_run_yields_the_character() -> None:
    assert terms("中") == ["中"]
    assert terms("中 文") == ["中", "文"]


def test_mixed_cjk_and_latin() -> None:
    a = get_analyzer("english")
    text = "我用Windows中文版 and 日本語テキスト, OK?"
    toks = assert_consistent(a, text)
    assert [t.term for t in toks] == [
        "我用", "window", "中文", "文版", "日本", "本語", "語テ", "テキ", "キス", "スト", "ok",
    ]  # fmt: skip
    for t in toks:
        surface = text[t.start : t.end]
        if is_cjk(surface):
            assert surface == t.term
        else:
            assert surface in ("Windows", "OK")


def test_hangul_and_kana_and_halfwidth_katakana() -> None:
    assert terms("한국어") == ["한국", "국어"]
    assert terms("ひらがな") == ["ひら", "らが", "がな"]
    text = "ｶﾀｶﾅ"  # halfwidth katakana: NFKC to fullwidth, offsets into the original
    toks = assert_consistent(get_analyzer("cjk"), text)
    assert [(t.term, t.start, t.end) for t in toks] == [("カタ", 0, 2), ("タカ", 1, 3), ("カナ", 2, 4)]


def test_cjk_is_not_folded_or_stemmed() -> None:
    assert get_analyzer("english").analyze_term("中文") == "中文"
    assert terms("々時々") == ["々時", "時々"]


def test_cjk_unigram_and_none_modes() -> None:
    uni = AnalyzerSpec(stopwords=None, stemmer=None, cjk="unigram")
    none = AnalyzerSpec(stopwords=None, stemmer=None, cjk="none")
    toks = assert_consistent(get_analyzer(uni), "中文分词 ok")
    assert [(t.term, t.start, t.end) for t in toks] == [
        ("中", 0, 1), ("文", 1, 2), ("分", 2, 3), ("词", 3, 4), ("ok", 5, 7),
    ]  # fmt: skip
    toks = assert_consistent(get_analyzer(none), "中文分词 ok")
    assert [(t.term, t.start, t.end) for t in toks] == [("中文分词", 0, 4), ("ok", 5, 7)]


def test_cjk_stopwords_apply_to_units() -> None:
    spec = AnalyzerSpec(stopwords=("的",), stemmer=None, cjk="unigram")
    assert terms("我的书", spec) == ["我", "书"]


# ---------------------------------------------------------------- analyzer behaviour


def test_terms_equals_token_terms_on_assorted_text() -> None:
    texts = [
        "Jarred Shaw (born September 28, 1990) is an American professional basketball player.",
        "Harrow International School Shanghai () is a British school in 上海市.",
        "https://example.com/a_very/long/path/that/is/more/than/sixty/four/characters/long?q=1&x=2",
        "C++ and C# are languages; Ph.D. U.S.A. 2019–20 season.",
        "《妄想女友》（）是2015年5月23日開始毎週六23:40 - 24:05",
        "Ελληνικά κείμενα και русский текст — mixed!",
    ]
    for spec in ("english", "simple", "cjk", "german", "english_lucene"):
        a = get_analyzer(spec)
        for text in texts:
            assert_consistent(a, text)
            assert a.terms(text) == a.terms(text)  # warm cache gives the same answer


def test_positions_skip_removed_stopwords() -> None:
    toks = get_analyzer("english").tokens("the heron and the fish")
    assert [(t.term, t.position) for t in toks] == [("heron", 0), ("fish", 1)]


def test_token_length_limits() -> None:
    spec = AnalyzerSpec(stopwords=None, stemmer=None, min_token_len=2, max_token_len=5)
    assert terms("a bb ccccc dddddd", spec) == ["bb", "ccccc"]
    default = get_analyzer("simple")
    assert default.terms("x" * 64 + " " + "y" * 65) == ["x" * 64]


def test_analyze_term() -> None:
    a = get_analyzer("english")
    assert a.analyze_term("Running") == "run"
    assert a.analyze_term("The") is None
    assert a.analyze_term("") is None
    assert a.analyze_term("Café") == "cafe"
    assert get_analyzer("simple").analyze_term("ＡＢＣ") == "abc"


def test_analyze_term_does_not_poison_the_chunk_cache() -> None:
    a = Analyzer(AnalyzerSpec(stopwords=None, stemmer=None))
    # "a一b" is one unit for analyze_term, but three tokens when it occurs in text
    assert a.analyze_term("a一b") == "a一b"
    assert a.analyze_term(",") == ","  # not a token of the tokenizer, still analyzed as given
    assert a.terms("a一b") == ["a", "一", "b"]
    assert a.terms("x , y") == ["x", "y"]


def test_normalization_reaches_a_fixed_point() -> None:
    a = Analyzer(AnalyzerSpec(stopwords=None, stemmer=None))
    # U+FC5E/U+FE70 (Arabic presentation forms) NFKC-expand to a space plus combining marks
    for text in ["a\ufc5ex", "a\ufe70b \ufe70\ufe70x"]:
        for term in a.terms(text):
            assert a.analyze_term(term) == term


def test_long_chunks_are_analyzed_but_not_cached() -> None:
    a = Analyzer(AnalyzerSpec())
    url = "https://scouting.example.com/2018/02/20907/nwhl-star-game-referees-linesmen/"
    for _ in range(3):
        assert a.terms(f"see {url} now") == [
            "see", "https", "scout", "exampl", "com", "2018", "02", "20907", "nwhl", "star", "game",
            "refere", "linesmen", "now",
        ]  # fmt: skip
    assert url not in a._cache


def test_small_cache_gives_the_same_results() -> None:
    text = " ".join(f"word{i} Running café 中文{i}" for i in range(200))
    big = Analyzer(AnalyzerSpec())
    small = Analyzer(AnalyzerSpec(), cache_size=16)
    assert small.terms(text) == big.terms(text) == [t.term for t in small.tokens(text)]
    assert len(small._cache) <= 16
    small.clear_cache()
    assert small.terms(text) == big.terms(text)


def test_eviction_keeps_the_oldest_entries() -> None:
    a = Analyzer(AnalyzerSpec(), cache_size=16)
    assert a.terms("alpha") == ["alpha"]
    for i in range(1000):
        assert a.terms(f"w{i}") == [f"w{i}"]
        assert len(a._cache) <= 16
    assert "alpha" in a._cache  # frequent pieces tend to be met first, so they are kept


def test_returned_terms_are_shared_objects() -> None:
    a = Analyzer(AnalyzerSpec())
    first = a.terms("Heron heron HERON herons")
    assert len({id(t) for t in first}) == 1


def test_analyzer_is_thread_safe_for_reads() -> None:
    a = Analyzer(AnalyzerSpec(), cache_size=64)
    texts = [f"Doc {i}: running runners ran {i * 7} times in 東京{i} café" for i in range(300)]
    expected = [Analyzer(AnalyzerSpec()).terms(t) for t in texts]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                for text, exp in zip(texts, expected, strict=True):
                    assert a.terms(text) == exp
        except BaseException as e:  # pragma: no cover - only on failure
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_analyzer_pickles_as_its_spec() -> None:
    a = Analyzer(AnalyzerSpec(stemmer="german"), cache_size=100)
    a.terms("Häuser und Bäume")
    b = pickle.loads(pickle.dumps(a))
    assert b.spec == a.spec and b._cache_size == 100 and not b._cache
    assert b.terms("Häuser und Bäume") == a.terms("Häuser und Bäume")


def test_token_is_frozen_with_slots() -> None:
    t = Token("a", 0, 0, 1)
    with pytest.raises(FrozenInstanceError):
        t.term = "b"  # type: ignore[misc]
    assert not hasattr(t, "__dict__")


# ---------------------------------------------------------------- specs, presets, errors


def test_get_analyzer_accepts_preset_spec_and_dict_and_caches() -> None:
    a = get_analyzer("english")
    assert a is get_analyzer(AnalyzerSpec())
    assert a is get_analyzer({})
    assert a is get_analyzer(AnalyzerSpec().to_dict())
    assert get_analyzer("simple").spec == PRESETS["simple"]
    assert "english" in repr(a)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_spec_round_trip(name: str) -> None:
    spec = PRESETS[name]
    d = spec.to_dict()
    assert AnalyzerSpec.from_dict(d) == spec
    assert AnalyzerSpec.from_dict(json.loads(json.dumps(d))) == spec


def test_spec_round_trip_with_explicit_stopwords() -> None:
    spec = AnalyzerSpec(stopwords=("foo", "bar"), stemmer="german", cjk="unigram", min_token_len=2)
    d = spec.to_dict()
    assert d["stopwords"] == ["foo", "bar"]
    back = AnalyzerSpec.from_dict(json.loads(json.dumps(d)))
    assert back == spec
    assert hash(back) == hash(spec)
    assert AnalyzerSpec(stopwords=["foo", "bar"]) == AnalyzerSpec(stopwords=("foo", "bar"))  # type: ignore[arg-type]


def test_spec_is_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        AnalyzerSpec().stemmer = None  # type: ignore[misc]


@pytest.mark.parametrize(
    ("d", "needles"),
    [
        ({"stemer": "english"}, ["'stemer'", "stemmer", "valid settings"]),
        ({"stemmer": "klingon"}, ["'stemmer'", "'klingon'", "english", "german"]),
        ({"stopwords": "klingon"}, ["'stopwords'", "'klingon'", "english", "lucene"]),
        ({"stopwords": 5}, ["'stopwords'", "5"]),
        ({"stopwords": ["ok", ""]}, ["'stopwords'", "''"]),
        ({"cjk": "trigram"}, ["'cjk'", "'trigram'", "bigram", "unigram", "none"]),
        ({"tokenizer": "whitespace"}, ["'tokenizer'", "'whitespace'", "unicode"]),
        ({"lowercase": "yes"}, ["'lowercase'", "'yes'"]),
        ({"ascii_folding": 1}, ["'ascii_folding'"]),
        ({"min_token_len": 0}, ["'min_token_len'", "0"]),
        ({"max_token_len": True}, ["'max_token_len'"]),
        ({"min_token_len": 5, "max_token_len": 3}, ["'max_token_len'", "'min_token_len'"]),
    ],
)
def test_bad_spec_raises_config_error_naming_the_problem(d: dict[str, object], needles: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        AnalyzerSpec.from_dict(d)
    message = str(info.value)
    for needle in needles:
        assert needle in message
    assert isinstance(info.value, HeronError)


def test_bad_spec_in_constructor_and_get_analyzer() -> None:
    with pytest.raises(ConfigError, match="klingon"):
        AnalyzerSpec(stemmer="klingon")
    with pytest.raises(ConfigError, match=r"valid presets: .*english_lucene"):
        get_analyzer("klingon")
    with pytest.raises(ConfigError, match="unknown analyzer setting 'bogus'"):
        get_analyzer({"bogus": 1})
    with pytest.raises(ConfigError):
        get_analyzer(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        AnalyzerSpec.from_dict(["stemmer"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- generated unicode tables


def test_mark_table_matches_unicodedata() -> None:
    if unicodedata.unidata_version != _unicode.UNIDATA_VERSION:
        # another Unicode version: the table must at least list only marks
        for lo, hi in _unicode.MARK_RANGES:
            for cp in (lo, hi):
                assert unicodedata.category(chr(cp))[0] == "M"
        return
    assert _unicode.compute_mark_ranges() == _unicode.MARK_RANGES


def test_cjk_ranges_are_word_like_or_marks() -> None:
    for lo, hi in _unicode.CJK_RANGES:
        for cp in (lo, hi, (lo + hi) // 2):
            cat = unicodedata.category(chr(cp))
            assert cat[0] in "LMN" or cat == "Cn", (hex(cp), cat)
