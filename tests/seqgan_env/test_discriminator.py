import pytest
import torch
import torch.nn.functional as F

from seqgan_env.config import DiscriminatorConfig
from seqgan_env.discriminator import Discriminator


def conv_reference(d: Discriminator, tokens: torch.Tensor) -> torch.Tensor:
    """An independent float64 formulation of the paper's CNN with conv1d (eval mode): P(real)."""
    dd = {k: v.double() for k, v in d.state_dict().items()}
    e = F.embedding(tokens, dd["embedding.weight"]).transpose(1, 2)  # (B, E, T)
    feats = []
    for i, k in enumerate(d.config.filter_sizes):
        w = dd[f"conv_weights.{i}"].view(-1, k, d.config.emb_dim).transpose(1, 2)  # (F, E, k)
        z = torch.relu(F.conv1d(e, w, dd[f"conv_biases.{i}"]))
        feats.append(z.amax(-1))
    p = torch.cat(feats, 1)
    t = torch.sigmoid(p @ dd["highway_gate.weight"].T + dd["highway_gate.bias"] + d.config.highway_gate_bias)
    g = torch.relu(p @ dd["highway_lin.weight"].T + dd["highway_lin.bias"])
    q = t * g + (1 - t) * p
    logits = q @ dd["out.weight"].T + dd["out.bias"]
    return torch.softmax(logits, -1)[:, 1]


def test_paper_config():
    cfg = DiscriminatorConfig()
    assert cfg.filter_sizes == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
    assert cfg.total_filters == 1720
    assert (cfg.emb_dim, cfg.dropout_keep, cfg.l2_reg, cfg.lr) == (64, 0.75, 0.2, 1e-4)
    d = Discriminator(seed=0)
    w = d.embedding.weight.detach()
    assert float(w.min()) >= -1 and float(w.max()) <= 1 and float(w.abs().mean()) > 0.45


@pytest.mark.multithread
def test_matches_float64_reference_at_batch_4096():
    d = Discriminator(DiscriminatorConfig(vocab_size=5000), seed=0).eval()
    # give the highway and output layers non-trivial weights so every path matters
    tokens = torch.randint(0, 5000, (4096, 20), generator=torch.Generator().manual_seed(0))
    got = d.prob_real(tokens, batch_size=4096).double()
    ref = conv_reference(d, tokens)
    rel = float((got - ref).norm() / ref.norm())
    assert rel < 1e-4, rel
    assert float((got - ref).abs().max()) < 1e-4
    assert float(ref.std()) > 1e-3  # the outputs vary, so the comparison means something


def test_dropout_only_in_training_and_prob_real_restores_mode():
    d = Discriminator(DiscriminatorConfig.for_length(8, 30), seed=1)
    x = torch.randint(0, 30, (16, 8))
    d.train()
    a, b = d(x), d(x)
    assert not torch.allclose(a, b)
    p1, p2 = d.prob_real(x), d.prob_real(x)
    assert torch.equal(p1, p2) and d.training
    assert p1.shape == (16,) and bool(((p1 > 0) & (p1 < 1)).all())


def test_l2_only_on_output_layer():
    d = Discriminator(DiscriminatorConfig.for_length(6, 20), seed=0).eval()
    x = torch.randint(0, 20, (8, 6))
    y = torch.randint(0, 2, (8,))
    ce = F.cross_entropy(d(x), y)
    l2 = 0.5 * (d.out.weight.square().sum() + d.out.bias.square().sum())
    torch.testing.assert_close(d.loss(x, y), ce + 0.2 * l2)


def test_for_length_trims_widths_and_validation():
    cfg = DiscriminatorConfig.for_length(8, 50)
    assert max(cfg.filter_sizes) <= 8 and len(cfg.filter_sizes) == len(cfg.num_filters)
    with pytest.raises(ValueError, match="do not fit"):
        DiscriminatorConfig(seq_len=8)
    with pytest.raises(ValueError, match="one filter count per width"):
        DiscriminatorConfig(filter_sizes=(1, 2), num_filters=(3,))
    d = Discriminator(cfg, seed=0)
    with pytest.raises(ValueError, match="length"):
        d(torch.zeros(2, 7, dtype=torch.long))


def _keep_masks(device: str) -> torch.Tensor:
    from seqgan_env.discriminator import keyed_keep_mask

    seeds = torch.tensor([0, 1, 2**40 + 7, 2**62 - 1, 123456789], dtype=torch.int64, device=device)
    return keyed_keep_mask(seeds, 1720, 0.75).cpu()


def test_keyed_keep_mask_is_a_function_of_each_row_seed():
    from seqgan_env.discriminator import keyed_keep_mask

    m = _keep_masks("cpu")
    assert m.shape == (5, 1720) and set(m.unique().tolist()) <= {0.0, 1.0}
    assert 0.72 < float(m.mean()) < 0.78  # keep probability 0.75
    alone = keyed_keep_mask(torch.tensor([2**40 + 7]), 1720, 0.75)
    assert torch.equal(alone[0], m[2])  # a row does not depend on the other rows
    assert not torch.equal(m[0], m[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU-only test: CUDA is not available here")
def test_keyed_keep_mask_same_bits_on_gpu():
    """Built on the GPU (where the trainer's D step now builds it) the mask is the CPU's, bit for bit."""
    assert torch.equal(_keep_masks("cuda"), _keep_masks("cpu"))
