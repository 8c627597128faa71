"""The SeqGAN generator: a one-layer LSTM language model over a fixed-length token sequence.

Notation (shared with the oracle, the rollout reward and the Triton kernels):

    x_1 = emb[start_token],  x_{t+1} = emb[y_t]
    (h_t, c_t) = LSTMCell(x_t, (h_{t-1}, c_{t-1})),  h_0 = c_0 = 0,  gate order (i, f, g, o)
    p(y_t | y_<t) = softmax(h_t W_out^T + b_out)

A *prefix state* for the prefix Y_{1:t} (t = 0..T) is (h_{t+1}, c_{t+1}): the state after consuming
x_1..x_{t+1}, whose output gives the distribution of y_{t+1}. For t = T it is never needed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .checks import check_int
from .config import GeneratorConfig
from .kernels import LSTMWeights, derive_seeds, mc_rollout
from .kernels.philox import check_seeds

__all__ = ["Generator", "LSTMWeights", "lstm_cell", "check_tokens", "row_seeds_for", "token_log_probs"]


def lstm_cell(x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM step. ``x`` (R, E), ``h``/``c`` (R, H); returns the new (h, c), each (R, H)."""
    gates = x @ w_ih.T + h @ w_hh.T + bias
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def token_log_probs(logits: Tensor, tokens: Tensor) -> Tensor:
    """log softmax(logits) at ``tokens``: logits (B, T, V) from ``Generator.forward`` (or its DDP wrapper), tokens
    (B, T) -> (B, T). Losses are built from this so that they flow through the wrapped module's forward."""
    return torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def row_seeds_for(
    num: int,
    *,
    row_seeds: Tensor | None = None,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Tensor:
    """Per-row seeds (num,) int64 for the keyed sampler, from exactly one source (or none):

    * ``row_seeds``: given (checked: shape (num,), integers in [0, 2**63));
    * ``seed``: :func:`seqgan_env.kernels.derive_seeds` of (seed, row index): a pure function of the row;
    * ``generator``: ``num`` draws from a ``torch.Generator`` (the trainer's streams);
    * none: ``num`` draws from torch's global RNG.
    """
    given = [x is not None for x in (row_seeds, seed, generator)]
    if sum(given) > 1:
        raise ValueError("pass at most one of row_seeds=, seed= and generator=.")
    if row_seeds is not None:
        row_seeds = torch.as_tensor(row_seeds)
        if tuple(row_seeds.shape) != (num,):
            raise ValueError(f"row_seeds has shape {tuple(row_seeds.shape)}; pass one seed per row, shape ({num},).")
        return check_seeds(row_seeds, "row_seeds").to(device)
    if seed is not None:
        return derive_seeds(seed, torch.arange(num, dtype=torch.int64)).to(device)
    gdev = generator.device if generator is not None else "cpu"
    return torch.randint(0, 2**62, (num,), generator=generator, device=gdev).to(device)


def check_tokens(tokens: Tensor, vocab_size: int, seq_len: int | None = None, name: str = "tokens") -> None:
    """Raise ``ValueError`` unless ``tokens`` is an integer (B, L) tensor of ids in [0, vocab_size)."""
    if not isinstance(tokens, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of token ids, got {type(tokens).__name__}.")
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise ValueError(f"{name} has dtype {tokens.dtype}; pass integer token ids (torch.long).")
    if tokens.dim() != 2:
        raise ValueError(
            f"{name} has shape {tuple(tokens.shape)}; expected (batch, length). "
            "Add a batch dimension with tokens[None] for a single sequence."
        )
    if seq_len is not None and tokens.shape[1] != seq_len:
        raise ValueError(f"{name} has length {tokens.shape[1]} but the model's seq_len is {seq_len}.")
    if tokens.numel():
        lo, hi = int(tokens.min()), int(tokens.max())
        if lo < 0 or hi >= vocab_size:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{name} contains token id {bad}, outside [0, vocab_size={vocab_size}); "
                "map ids into the vocabulary or build the model with a larger vocab_size."
            )


class Generator(nn.Module):
    """G_theta: the paper's LSTM generator (embedding 32, hidden 32, V=5000, T=20 by default).

    All parameters are initialised N(0, init_std); PyTorch's second LSTM bias (``bias_hh``) is held at zero
    and frozen so the parametrisation is exactly the reference code's (one bias per gate).

    Args:
        config: sizes; the paper's values by default.
        seed: if given, the initialisation draws from ``torch.Generator().manual_seed(seed)``.
    """

    def __init__(self, config: GeneratorConfig | None = None, *, seed: int | None = None) -> None:
        super().__init__()
        self.config = config = config or GeneratorConfig()
        self.embedding = nn.Embedding(config.vocab_size, config.emb_dim)
        self.lstm = nn.LSTM(config.emb_dim, config.hidden_dim, batch_first=True)
        self.out = nn.Linear(config.hidden_dim, config.vocab_size)
        self.lstm.bias_hh_l0.requires_grad_(False)
        self.reset_parameters(seed=seed)

    # ------------------------------------------------------------------ parameters
    def reset_parameters(self, seed: int | None = None, std: float | None = None) -> None:
        """Redraw every parameter from N(0, std) (default ``config.init_std``); ``bias_hh`` is zeroed."""
        std = self.config.init_std if std is None else std
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name == "lstm.bias_hh_l0":
                    p.zero_()
                    continue
                p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std)

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def seq_len(self) -> int:
        return self.config.seq_len

    @property
    def device(self) -> torch.device:
        return self.out.weight.device

    def weights(self) -> LSTMWeights:
        """The live weights as an :class:`LSTMWeights` (no copies; ``bias`` is a fresh sum)."""
        return LSTMWeights(
            emb=self.embedding.weight,
            w_ih=self.lstm.weight_ih_l0,
            w_hh=self.lstm.weight_hh_l0,
            bias=self.lstm.bias_ih_l0 + self.lstm.bias_hh_l0,
            w_out=self.out.weight,
            b_out=self.out.bias,
        )

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    # ------------------------------------------------------------------ teacher forcing
    def _inputs(self, tokens: Tensor) -> Tensor:
        start = torch.full_like(tokens[:, :1], self.config.start_token)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    def forward(self, tokens: Tensor) -> Tensor:
        """Teacher-forced logits. ``tokens`` (B, T) long -> logits (B, T, V) for y_1..y_T."""
        check_tokens(tokens, self.vocab_size)
        out, _ = self.lstm(self.embedding(self._inputs(tokens)))
        return self.out(out)

    def log_probs(self, tokens: Tensor) -> Tensor:
        """Per-token log G(y_t | Y_{1:t-1}): ``tokens`` (B, T) -> (B, T) float (evaluation; training losses go
        through the trainer's wrapper: ``token_log_probs(model(tokens), tokens)``)."""
        return token_log_probs(self.forward(tokens), tokens)

    def nll(self, tokens: Tensor) -> Tensor:
        """Mean per-token negative log-likelihood (nats) of ``tokens`` (B, T); a scalar with grad."""
        logits = self.forward(tokens)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))

    # ------------------------------------------------------------------ stepping and sampling
    def step(self, token: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """Feed ``token`` (R,) into the cell from ``state`` ((R, H), (R, H)); returns the new state."""
        w = self.weights()
        return lstm_cell(w.emb[token], state[0], state[1], w.w_ih, w.w_hh, w.bias)

    def initial_state(self, batch: int) -> tuple[Tensor, Tensor]:
        """The prefix state of the empty prefix: the cell after consuming the start token. (B, H) each."""
        zeros = torch.zeros(batch, self.config.hidden_dim, device=self.device, dtype=self.out.weight.dtype)
        start = torch.full((batch,), self.config.start_token, device=self.device, dtype=torch.long)
        return self.step(start, (zeros, zeros))

    def prefix_states(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Prefix states of every prefix of ``tokens`` (B, L).

        Returns (h, c), each (B, L + 1, H): index t is the state of the prefix Y_{1:t} (t = 0..L),
        i.e. after consuming the start token and y_1..y_t; its output gives the distribution of y_{t+1}.
        """
        check_tokens(tokens, self.vocab_size)
        h, c = self.initial_state(tokens.shape[0])
        hs, cs = [h], [c]
        for t in range(tokens.shape[1]):
            h, c = self.step(tokens[:, t], (h, c))
            hs.append(h)
            cs.append(c)
        return torch.stack(hs, 1), torch.stack(cs, 1)

    @torch.no_grad()
    def sample(
        self,
        num: int,
        *,
        row_seeds: Tensor | None = None,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        prefix: Tensor | None = None,
        state: tuple[Tensor, Tensor] | None = None,
        length: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        backend: str = "auto",
    ) -> Tensor:
        """Sample sequences of length ``length`` (default T) by ancestral sampling.

        Every sample goes through the project's one sampler (:func:`seqgan_env.kernels.mc_rollout`: the fused
        Triton kernel on CUDA, its Philox-exact PyTorch reference elsewhere), keyed by one seed per row, so row b's
        tokens depend only on its seed: a batch equals its rows sampled one at a time.

        Args:
            num: number of sequences B.
            row_seeds: (B,) int64 seeds in [0, 2**63), one per row.
            seed: an int; row b gets ``derive_seeds(seed, b)``.
            generator: a ``torch.Generator`` to draw the B row seeds from (the default: torch's global RNG).
                At most one of ``row_seeds``, ``seed`` and ``generator``.
            prefix: optional (B, t) tokens to continue from; they are copied into the output.
            state: optional prefix state ((B, H), (B, H)) matching ``prefix`` (saves recomputing it).
            length: total length; defaults to ``config.seq_len``.
            temperature: tau > 0: sample softmax(logits / tau) (1.0: G itself).
            top_p: nucleus sampling in (0, 1] (1.0: the whole vocabulary); below 1 it runs on the torch path.
            backend: ``"auto"``, ``"triton"`` or ``"torch"`` (see :func:`seqgan_env.kernels.resolve_backend`).

        Returns:
            (B, length) long tensor.
        """
        num = check_int("num", num, minimum=0)
        length = self.seq_len if length is None else check_int("length", length, minimum=1)
        if prefix is None:
            prefix = torch.empty(num, 0, dtype=torch.long, device=self.device)
        check_tokens(prefix, self.vocab_size, name="prefix")
        if prefix.shape[0] != num:
            raise ValueError(f"prefix has batch {prefix.shape[0]} but num={num}; pass matching sizes.")
        t0 = prefix.shape[1]
        if t0 > length:
            raise ValueError(f"prefix length {t0} exceeds the sequence length {length}.")
        seeds = row_seeds_for(num, row_seeds=row_seeds, seed=seed, generator=generator, device=self.device)
        tokens = torch.zeros(num, length, dtype=torch.long, device=self.device)
        tokens[:, :t0] = prefix.to(self.device)
        if t0 == length or num == 0:
            return tokens
        if state is None:
            h, c = self.prefix_states(prefix)
            state = (h[:, -1], c[:, -1])
        starts = torch.full((num,), t0, dtype=torch.long, device=self.device)
        return mc_rollout(
            self.weights(), tokens, starts, state[0], state[1], seeds=seeds, temperature=temperature, top_p=top_p,
            backend=backend, precision="ieee",
        )

    @torch.no_grad()
    def sample_batches(
        self,
        num: int,
        batch_size: int = 1024,
        *,
        row_seeds: Tensor | None = None,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
    ) -> Tensor:
        """:meth:`sample` in chunks of ``batch_size`` (bounds memory for large ``num``); the row seeds are drawn (or
        derived) for all ``num`` rows first, so the result does not depend on ``batch_size``. Returns (num, T)."""
        num = check_int("num", num, minimum=0)
        batch_size = check_int("batch_size", batch_size, minimum=1)
        seeds = row_seeds_for(num, row_seeds=row_seeds, seed=seed, generator=generator, device=self.device)
        chunks = [
            self.sample(min(batch_size, num - i), row_seeds=seeds[i : i + batch_size], temperature=temperature,
                        top_p=top_p)
            for i in range(0, num, batch_size)
        ]
        return torch.cat(chunks) if chunks else torch.empty(0, self.seq_len, dtype=torch.long, device=self.device)
