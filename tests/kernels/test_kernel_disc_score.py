"""disc_score (GEMM form, tensors in and out) equals Discriminator.prob_real within the documented tolerances."""

from __future__ import annotations

import pytest
import torch
from kernel_helpers import requires_cuda

from seqgan_env.config import DiscriminatorConfig, GeneratorConfig
from seqgan_env.discriminator import Discriminator
from seqgan_env.generator import Generator
from seqgan_env.kernels import disc_score
from seqgan_env.kernels.disc_score import TOLERANCE
from seqgan_env.rewards import RolloutReward
from seqgan_env.scoring import DiscScorer, make_score_fn


def _disc(v: int = 60, t: int = 20, device: str | torch.device = "cpu") -> Discriminator:
    # the paper's widths and filter counts (filters up to width 20 need T = 20)
    return Discriminator(DiscriminatorConfig(vocab_size=v, seq_len=t), seed=3).to(device)


@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16"])
def test_matches_prob_real(device: torch.device, precision: str) -> None:
    d = _disc(device=device)
    tokens = torch.randint(0, 60, (64, 20), generator=torch.Generator().manual_seed(0)).to(device)
    d.train()  # dropout must be off in scoring whatever the mode
    expected = d.prob_real(tokens)
    got = disc_score(d.score_weights(), tokens, precision=precision, batch_size=24)  # 3 chunks, the last partial
    assert got.shape == (64,) and got.dtype == torch.float32
    err = float((got - expected).abs().max())
    assert err <= TOLERANCE[precision], f"{precision}: max error {err}"
    assert d.training
    assert float(expected.std()) > 1e-3  # the comparison is not between constants
    assert torch.allclose(DiscScorer(d, precision, batch_size=24)(tokens), got, atol=0, rtol=0)


def test_reward_scores_with_the_gemm_form() -> None:
    """RolloutReward's default scorer is disc_score; a precision can be chosen, a bad one is refused."""
    g = Generator(GeneratorConfig(vocab_size=60, seq_len=20), seed=0)
    d = _disc()
    seqs = g.sample(2, seed=0)
    base = RolloutReward(g, d, num_rollouts=2, backend="torch")
    via_module = RolloutReward(g, d, num_rollouts=2, backend="torch", score_fn=lambda y: d.prob_real(y))
    assert base.score_precision == "fp32"
    q0, q1 = base.q_values(seqs, seed=1), via_module.q_values(seqs, seed=1)
    assert torch.allclose(q0, q1, atol=1e-5, rtol=0)
    bf16 = RolloutReward(g, d, num_rollouts=2, backend="torch", score_precision="bf16")
    assert float((bf16.q_values(seqs, seed=1) - q0).abs().max()) <= TOLERANCE["bf16"]
    with pytest.raises(ValueError, match="precision"):
        RolloutReward(g, d, num_rollouts=2, score_precision="fp16")  # type: ignore[arg-type]


def test_errors() -> None:
    d = _disc()
    with pytest.raises(ValueError, match="precision"):
        make_score_fn(d, "fp16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length"):
        DiscScorer(d)(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="shorter than the widest filter"):
        disc_score(d.score_weights(), torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="batch_size"):
        disc_score(d.score_weights(), torch.zeros(2, 20, dtype=torch.long), batch_size=0)
    with pytest.raises(ValueError, match="outside"):
        disc_score(d.score_weights(), torch.full((2, 20), 60, dtype=torch.long))
    with pytest.raises(ValueError, match="int64"):
        disc_score(d.score_weights(), torch.zeros(2, 20))


@requires_cuda
@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16"])
def test_rollout_batch_size_on_gpu(precision: str) -> None:
    """GPU only: batch 19,456 (the paper's rollouts per reward), where cuDNN conv2d once went wrong, against the
    module in float64."""
    d = _disc(v=5000, device="cuda")
    tokens = torch.randint(0, 5000, (19_456, 20), device="cuda")
    exact = d.double().prob_real(tokens).float()
    d.float()
    got = disc_score(d.score_weights(), tokens, precision=precision, batch_size=19_456)
    err = float((got - exact).abs().max())
    assert err <= TOLERANCE[precision], f"{precision}: max error {err} at batch 19,456"
