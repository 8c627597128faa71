"""The paper's CNN discriminator, written as unfold + matmul (GEMM form).

    e = Emb[y]                                   (B, T, E)            E = 64, Emb ~ U(-1, 1)
    for each width k with F_k filters:
        z_k = relu(unfold_k(e) @ W_k^T + b_k)    (B, T-k+1, F_k)      unfold_k: (B, T-k+1, k*E)
        p_k = max over time of z_k               (B, F_k)
    p = concat_k p_k                             (B, 1720)
    highway: t = sigmoid(p Wt^T + bt + gate_bias), g = relu(p Wg^T + bg), q = t*g + (1-t)*p
    dropout (keep 0.75 in training only), logits = q Wout^T + bout (B, 2);  D(Y) = softmax(logits)[:, 1]

Convolutions through cuDNN gave wrong outputs at batch 19,456 on an H200 (max error 2.3 against float64, measured
while this project was set up), so the
windows are formed with ``Tensor.unfold`` and multiplied as one GEMM per width, which was exact and faster.
Label 1 is "real" (the reference code's [0, 1] one-hot).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .config import DiscriminatorConfig
from .generator import check_tokens
from .kernels.disc_score import DiscWeights
from .kernels.philox import MASK32, philox4x32, uint_to_uniform

__all__ = ["Discriminator", "keyed_keep_mask"]

_DROPOUT_TAG = 0xD50D50D5


def keyed_keep_mask(seeds: Tensor, width: int, keep: float) -> Tensor:
    """(B, width) float32 0/1 dropout keep-mask; row b is a pure function of ``seeds[b]`` (Philox, 4 uniforms per
    call: key = seed, counter = (feature block, 0, 0, tag)). Computed on ``seeds``' device: integer arithmetic, so
    the same bits on any device (on a GPU, building it on the CPU cost 13 ms of a 22 ms D step)."""
    seeds = seeds.to(torch.int64)
    blocks = (width + 3) // 4
    q = torch.arange(blocks, dtype=torch.int64, device=seeds.device)[None, :]
    zero = torch.zeros_like(q)
    a, b, c, d = philox4x32(q, zero, zero, zero + _DROPOUT_TAG, (seeds & MASK32)[:, None], (seeds >> 32)[:, None])
    u = torch.stack([uint_to_uniform(x) for x in (a, b, c, d)], dim=-1).flatten(1)[:, :width]
    return (u < keep).float()


def _trunc_normal_(t: Tensor, std: float, gen: torch.Generator | None) -> Tensor:
    # tf.truncated_normal: redraw outside two standard deviations.
    with torch.no_grad():
        t.copy_(torch.randn(t.shape, generator=gen) * std)
        for _ in range(100):
            bad = t.abs() > 2 * std
            if not bad.any():
                break
            t[bad] = torch.randn(int(bad.sum()), generator=gen) * std
    return t


class Discriminator(nn.Module):
    """D_phi: the paper's CNN text classifier (defaults: the paper's 12 widths, 1,720 filters, one highway).

    Args:
        config: sizes and the optimisation constants (``lr``, ``l2_reg``); the paper's values by default.
        seed: if given, the initialisation is drawn from a generator seeded with it.
    """

    def __init__(self, config: DiscriminatorConfig | None = None, *, seed: int | None = None) -> None:
        super().__init__()
        self.config = config = config or DiscriminatorConfig()
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        e = config.emb_dim
        self.embedding = nn.Embedding(config.vocab_size, e)
        self.conv_weights = nn.ParameterList(
            [nn.Parameter(torch.empty(n, k * e)) for k, n in zip(config.filter_sizes, config.num_filters)]
        )
        self.conv_biases = nn.ParameterList([nn.Parameter(torch.empty(n)) for n in config.num_filters])
        f = config.total_filters
        self.highway_gate = nn.Linear(f, f)
        self.highway_lin = nn.Linear(f, f)
        self.dropout = nn.Dropout(1.0 - config.dropout_keep)
        self.out = nn.Linear(f, 2)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.rand(self.embedding.weight.shape, generator=gen) * 2 - 1)
            for w, b in zip(self.conv_weights, self.conv_biases):
                _trunc_normal_(w, 0.1, gen)
                b.fill_(0.1)
            # weights glorot uniform, as tf.get_variable's default; the biases 0 (the reference's tf.get_variable
            # draws them glorot uniform too, U(+-0.042) at 1,720 features: a departure listed in docs/training.md)
            bound = math.sqrt(6.0 / (2 * f))
            for lin in (self.highway_gate, self.highway_lin):
                lin.weight.copy_((torch.rand(lin.weight.shape, generator=gen) * 2 - 1) * bound)
                lin.bias.zero_()
            _trunc_normal_(self.out.weight, 0.1, gen)
            self.out.bias.fill_(0.1)

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def seq_len(self) -> int:
        return self.config.seq_len

    @property
    def device(self) -> torch.device:
        return self.out.weight.device

    def score_weights(self) -> DiscWeights:
        """The live weights as the scoring kernel's :class:`~seqgan_env.kernels.DiscWeights` (no copies)."""
        return DiscWeights(
            emb=self.embedding.weight,
            conv_w=tuple(self.conv_weights),
            conv_b=tuple(self.conv_biases),
            filter_sizes=tuple(self.config.filter_sizes),
            gate_w=self.highway_gate.weight,
            gate_b=self.highway_gate.bias,
            lin_w=self.highway_lin.weight,
            lin_b=self.highway_lin.bias,
            gate_bias=float(self.config.highway_gate_bias),
            out_w=self.out.weight,
            out_b=self.out.bias,
        )

    def features(self, tokens: Tensor) -> Tensor:
        """Max-pooled convolution features. ``tokens`` (B, T) long -> (B, total_filters)."""
        e = self.embedding(tokens)  # (B, T, E)
        b = tokens.shape[0]
        pooled = []
        for k, w, bias in zip(self.config.filter_sizes, self.conv_weights, self.conv_biases):
            windows = e.unfold(1, k, 1)  # (B, T-k+1, E, k)
            windows = windows.transpose(2, 3).reshape(b, -1, k * e.shape[-1])  # (B, L, k*E), k-major
            z = torch.relu(windows @ w.T + bias)  # (B, L, F_k)
            pooled.append(z.amax(dim=1))
        return torch.cat(pooled, dim=1)

    def forward(self, tokens: Tensor, dropout_seeds: Tensor | None = None) -> Tensor:
        """Logits over (fake, real). ``tokens`` (B, T) long -> (B, 2). Dropout (keep ``config.dropout_keep``) acts
        in training mode: with ``dropout_seeds`` (B,) int64, row b's mask is a pure function of its seed (Philox;
        what the trainer uses, so split and resumed runs draw the same masks), else from torch's global RNG."""
        check_tokens(tokens, self.vocab_size, self.seq_len)
        p = self.features(tokens)
        t = torch.sigmoid(self.highway_gate(p) + self.config.highway_gate_bias)
        g = torch.relu(self.highway_lin(p))
        q = t * g + (1.0 - t) * p
        keep = self.config.dropout_keep
        if self.training and keep < 1.0 and dropout_seeds is not None:
            if dropout_seeds.shape != (tokens.shape[0],):
                got = tuple(dropout_seeds.shape)
                raise ValueError(f"dropout_seeds must be (B,) = ({tokens.shape[0]},), got {got}.")
            mask = keyed_keep_mask(dropout_seeds.to(q.device), q.shape[1], keep)
            return self.out(q * mask / keep)
        return self.out(self.dropout(q))

    def loss(self, tokens: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy plus ``l2_reg`` * (||W_out||^2 + ||b_out||^2) / 2. ``labels`` (B,) in {0, 1}."""
        return self.loss_from_logits(self.forward(tokens), labels)

    def loss_from_logits(self, logits: Tensor, labels: Tensor) -> Tensor:
        """The training loss given ``forward``'s logits (B, 2) and ``labels`` (B,)."""
        ce = nn.functional.cross_entropy(logits, labels.long())
        l2 = 0.5 * (self.out.weight.square().sum() + self.out.bias.square().sum())
        return ce + self.config.l2_reg * l2

    @torch.no_grad()
    def prob_real(self, tokens: Tensor, *, batch_size: int = 4096) -> Tensor:
        """D(Y): probability that each sequence is real, without dropout. ``tokens`` (B, T) -> (B,) float.

        Scores in chunks of ``batch_size`` rows to bound memory; the module's train/eval mode is restored.
        """
        was_training = self.training
        self.eval()
        try:
            outs = [
                torch.softmax(self.forward(tokens[i : i + batch_size]), dim=-1)[:, 1]
                for i in range(0, tokens.shape[0], batch_size)
            ]
        finally:
            self.train(was_training)
        return torch.cat(outs) if outs else torch.empty(0, device=self.device)
