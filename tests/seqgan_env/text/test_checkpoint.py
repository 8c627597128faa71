import pytest
import torch

from seqgan_env.config import GeneratorConfig
from seqgan_env.generator import Generator
from seqgan_env.text import generate
from seqgan_env.text.checkpoint import load_text_checkpoint, sample_text, save_text_checkpoint
from seqgan_env.text.corpora import build_corpus
from seqgan_env.text.vocab import START


def _corpus():
    return build_corpus(["a b c", "b c", "c a b a", "a a"], test_size=1, seed=0)


def test_round_trip_restores_weights_vocab_and_meta(tmp_path):
    corpus = _corpus()
    g = Generator(GeneratorConfig(emb_dim=4, hidden_dim=5, **corpus.generator_config_kwargs()), seed=0)
    path = tmp_path / "sub" / "g.pt"
    save_text_checkpoint(path, g, corpus.vocab, {"corpus": "toy", "bleu": {"2": 0.5}})
    ckpt = load_text_checkpoint(path)
    assert ckpt.vocab == corpus.vocab and ckpt.meta["bleu"] == {"2": 0.5}
    assert ckpt.generator.config == g.config
    for (k, v), w in zip(g.state_dict().items(), ckpt.generator.state_dict().values()):
        assert torch.equal(v, w), k
    a = sample_text(g, corpus.vocab, 5, seed=3)
    assert a == sample_text(ckpt.generator, ckpt.vocab, 5, seed=3) and len(a) == 5
    assert all(START not in line for line in a)


def test_start_token_must_be_the_vocab_start_id(tmp_path):
    corpus = _corpus()
    g = Generator(GeneratorConfig(vocab_size=len(corpus.vocab), seq_len=corpus.seq_len, start_token=0))
    with pytest.raises(ValueError, match="start_token"):
        save_text_checkpoint(tmp_path / "g.pt", g, corpus.vocab)
    g = Generator(GeneratorConfig(vocab_size=len(corpus.vocab) + 1, seq_len=corpus.seq_len, start_token=1))
    with pytest.raises(ValueError, match="vocab_size"):
        save_text_checkpoint(tmp_path / "g.pt", g, corpus.vocab)


def test_not_a_checkpoint(tmp_path):
    torch.save({"x": 1}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a text checkpoint"):
        load_text_checkpoint(tmp_path / "x.pt")


def test_generate_cli(tmp_path, capsys):
    corpus = _corpus()
    g = Generator(GeneratorConfig(emb_dim=4, hidden_dim=5, **corpus.generator_config_kwargs()), seed=1)
    save_text_checkpoint(tmp_path / "g.pt", g, corpus.vocab)
    assert generate.main(["--checkpoint", str(tmp_path / "g.pt"), "--num", "4", "--seed", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines == sample_text(g, corpus.vocab, 4, seed=0)
    out = tmp_path / "s.txt"
    assert generate.main(["--checkpoint", str(tmp_path / "g.pt"), "--num", "3", "--seed", "0", "--out", str(out)]) == 0
    assert out.read_text().splitlines() == sample_text(g, corpus.vocab, 3, seed=0)
    assert generate.main(["--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: no checkpoint at")


def test_generate_cli_temperature_and_top_p(tmp_path, capsys):
    corpus = _corpus()
    g = Generator(GeneratorConfig(emb_dim=4, hidden_dim=5, init_std=1.0, **corpus.generator_config_kwargs()), seed=2)
    save_text_checkpoint(tmp_path / "g.pt", g, corpus.vocab)
    ck = str(tmp_path / "g.pt")
    assert generate.main(["--checkpoint", ck, "--num", "30", "--seed", "1", "--temperature", "0.3"]) == 0
    cold = capsys.readouterr().out.splitlines()
    assert cold == sample_text(g, corpus.vocab, 30, seed=1, temperature=0.3)
    assert cold != sample_text(g, corpus.vocab, 30, seed=1)  # the temperature reaches the sampler
    assert generate.main(["--checkpoint", ck, "--num", "30", "--seed", "1", "--top-p", "0.5"]) == 0
    assert capsys.readouterr().out.splitlines() == sample_text(g, corpus.vocab, 30, seed=1, top_p=0.5)
    for bad in (["--temperature", "0"], ["--top-p", "1.5"], ["--temperature", "nan"]):
        assert generate.main(["--checkpoint", ck, *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --") and err.count("\n") == 1, err
