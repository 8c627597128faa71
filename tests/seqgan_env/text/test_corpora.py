import pytest
import torch

from seqgan_env.text.corpora import build_corpus, encode_fixed, load_corpus, read_lines, split_indices
from seqgan_env.text.vocab import END, PAD, Vocabulary


def test_read_lines_file_and_folder(fixtures, tmp_path):
    lines = read_lines(fixtures / "lines.txt")
    assert len(lines) == 20 and lines[0] == "the cat sat on the mat ."
    (tmp_path / "b.txt").write_text("second\n\n  third  \n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first\n", encoding="utf-8")
    (tmp_path / "skip.json").write_text("{}", encoding="utf-8")
    assert read_lines(tmp_path) == ["first", "second", "third"]
    with pytest.raises(FileNotFoundError):
        read_lines(tmp_path / "missing.txt")


def test_encode_fixed_end_pad_truncate_drop():
    v = Vocabulary.build([["a", "b", "c"]], end=True)
    a, b, c = v.encode(["a", "b", "c"])
    data, kept = encode_fixed([["a"], ["a", "b", "c"], ["a", "b", "c", "a"]], v, 3)
    assert data.tolist() == [[a, v.end_id, v.pad_id], [a, b, c], [a, b, c]] and kept == [0, 1, 2]
    data, kept = encode_fixed([["a"], ["a", "b", "c", "a"]], v, 3, too_long="drop")
    assert kept == [0] and data.shape == (1, 3)
    v_noend = Vocabulary.build([["a", "b"]])
    with pytest.raises(ValueError, match="end=True"):
        encode_fixed([["a"]], v_noend, 2)


def test_split_is_seeded_disjoint_and_complete():
    tr, te = split_indices(50, 0.2, seed=3)
    assert len(te) == 10 and sorted(tr + te) == list(range(50))
    assert split_indices(50, 0.2, seed=3) == (tr, te) and split_indices(50, 0.2, seed=4) != (tr, te)
    assert len(split_indices(50, 7, seed=0)[1]) == 7
    with pytest.raises(ValueError):
        split_indices(5, 5, seed=0)


def test_word_corpus_variable_lengths(fixtures):
    corpus = load_corpus(fixtures / "lines.txt", test_size=0.25, seed=0)
    assert corpus.vocab.has_end and not corpus.vocab.has_unk
    assert corpus.seq_len == 12  # longest line has 11 tokens, + <end>
    assert corpus.train.shape == (15, 12) and corpus.test.shape == (5, 12) and corpus.train.dtype == torch.long
    lines = read_lines(fixtures / "lines.txt")
    decoded = corpus.decode_text(torch.cat([corpus.train, corpus.test]))
    assert sorted(decoded) == sorted(line.replace(" .", ".") for line in lines)  # detokenized
    assert corpus.test_references()[0][-1] == "."
    kw = corpus.generator_config_kwargs()
    assert kw == {"vocab_size": len(corpus.vocab), "seq_len": 12, "start_token": 1}
    batches = list(corpus.batches("train", 4, generator=torch.Generator().manual_seed(0)))
    assert [b.shape[0] for b in batches] == [4, 4, 4, 3]
    assert sorted(map(tuple, torch.cat(batches).tolist())) == sorted(map(tuple, corpus.train.tolist()))


def test_fixed_length_char_corpus_has_no_end():
    lines = ["秦川雄帝宅", "函谷壯皇居", "綺殿千尋起", "離宮百雉餘"]
    corpus = build_corpus(lines, char=True, test_size=1, seed=0)
    assert corpus.seq_len == 5 and not corpus.vocab.has_end and corpus.vocab.tokens[:2] == [PAD, "<start>"]
    assert END not in corpus.vocab
    assert sorted(corpus.decode_text(torch.cat([corpus.train, corpus.test]))) == sorted(lines)


def test_vocab_from_train_and_max_vocab_use_unk():
    lines = ["a b c", "a b d", "a e f", "a b g"]
    corpus = build_corpus(lines, test_size=1, seed=1, vocab_from="train")
    assert corpus.vocab.has_unk
    assert corpus.vocab.unk_id in corpus.test.tolist()[0]
    corpus = build_corpus(lines, test_size=1, seed=1, max_vocab=6)
    assert len(corpus.vocab) == 6 and corpus.vocab.has_unk


def test_explicit_seq_len_truncates_or_drops():
    lines = ["a b c d e", "a b", "c d", "e a"]
    corpus = build_corpus(lines, seq_len=3, test_size=1, seed=1)
    assert corpus.train.shape[1] == 3 and corpus.train.shape[0] + corpus.test.shape[0] == 4
    corpus = build_corpus(lines, seq_len=3, test_size=1, seed=1, too_long="drop")
    assert corpus.train.shape[0] + corpus.test.shape[0] == 3
    with pytest.raises(ValueError, match="at least 2"):
        build_corpus(["a"])
