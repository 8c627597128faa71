import json

import pytest

from seqgan_env.text.vocab import END, PAD, START, UNK, Vocabulary

SEQS = [["a", "b", "a"], ["c", "a"], ["b", "d"]]


def test_reserved_ids_and_frequency_order():
    v = Vocabulary.build(SEQS, end=True)
    assert v.tokens[:3] == [PAD, START, END] and not v.has_unk
    assert (v.pad_id, v.start_id, v.end_id, v.unk_id) == (0, 1, 2, None)
    assert v.tokens[3:] == ["a", "b", "c", "d"]  # a:3, b:2, then c, d by string order
    assert v.encode(["d", "a"]) == [6, 3]


def test_unk_added_only_when_tokens_are_dropped():
    v = Vocabulary.build(SEQS, min_freq=2)
    assert v.has_unk and v.tokens == [PAD, START, UNK, "a", "b"]
    assert v.encode(["c", "a"]) == [2, 3]
    v = Vocabulary.build(SEQS, max_size=4)
    assert v.tokens == [PAD, START, UNK, "a"]
    with pytest.raises(KeyError, match="unk=True"):
        Vocabulary.build(SEQS).token_to_id("zzz")
    with pytest.raises(ValueError, match="unk=False"):
        Vocabulary.build(SEQS, min_freq=2, unk=False)
    v = Vocabulary.build(SEQS, max_size=6)  # exactly room for the 4 tokens: no <unk> slot takes one's place
    assert not v.has_unk and v.tokens == [PAD, START, "a", "b", "c", "d"]
    v = Vocabulary.build(SEQS, max_size=5)  # one too few: <unk> and the 2 most frequent
    assert v.has_unk and v.tokens == [PAD, START, UNK, "a", "b"]


def test_reserved_tokens_in_data_are_rejected():
    with pytest.raises(ValueError, match="reserved"):
        Vocabulary.build([["a", "<pad>"]])


def test_decode_stops_at_end_and_pad_and_drops_start():
    v = Vocabulary.build(SEQS, end=True)
    ids = [1, 3, 4, 2, 5, 0]
    assert v.decode(ids) == ["a", "b"]
    assert v.decode([3, 0, 4]) == ["a"]
    assert v.decode(ids, keep_special=True) == [START, "a", "b", END, "c", PAD]
    with pytest.raises(ValueError):
        v.decode([99])


def test_decode_text_joins_by_mode():
    v = Vocabulary.build([["hi", ","], ["there"]])  # ids: "," 2, "hi" 3, "there" 4
    assert v.decode_text([3, 2, 4]) == "hi, there"
    v = Vocabulary.build([list("秦川")], char=True)
    assert v.decode_text(v.encode(list("川秦"))) == "川秦"


def test_save_load_and_state_round_trip(tmp_path):
    v = Vocabulary.build([list("秦川雄"), list("帝宅")], end=True, char=True, min_freq=1, unk=True)
    path = tmp_path / "vocab.json"
    v.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["tokens"][0] == PAD
    w = Vocabulary.load(path)
    assert w == v and w.encode(list("宅秦")) == v.encode(list("宅秦")) and w.char
    state = v.add_to_state({"other": 1})
    assert Vocabulary.from_state(state) == v
    with pytest.raises(KeyError):
        Vocabulary.from_state({})
    with pytest.raises(ValueError, match="format"):
        Vocabulary.from_dict({"tokens": []})


def test_constructor_checks_specials():
    with pytest.raises(ValueError, match="special"):
        Vocabulary(["a", "b"])
