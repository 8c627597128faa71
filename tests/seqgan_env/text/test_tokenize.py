from seqgan_env.text.tokenize import detokenize, tokenize


def test_word_tokens_split_punctuation_keep_apostrophes():
    expected = ["We'll", "win", ",", "again", ".", "America's", "$", "5", "!"]
    assert tokenize("We'll win, again.  America's $5!") == expected


def test_char_tokens_keep_single_spaces_and_lower():
    assert tokenize("  Ab  c ", char=True) == ["A", "b", " ", "c"]
    assert tokenize("Ab", char=True, lower=True) == ["a", "b"]
    assert tokenize("秦川雄帝宅", char=True) == list("秦川雄帝宅")


def test_blank_line_is_empty():
    assert tokenize("   ") == [] and tokenize("", char=True) == []


def test_detokenize_round_trips_common_text():
    line = "For 220 years, our leaders (all of them) have fulfilled this duty."
    assert detokenize(tokenize(line)) == line
    assert detokenize(list("秦川 雄"), char=True) == "秦川 雄"
