"""The oracle (the paper's "target LSTM"): a frozen generator that defines the synthetic data.

Two sources:

* the reference SeqGAN oracle, read from a file path (``.npz``, or the original ``.pkl`` through a restricted
  unpickler that admits numpy arrays only). The file is not shipped with this package; pass its path or set
  ``SEQGAN_ORACLE_PARAMS``. Its sha256 is :data:`REFERENCE_ORACLE_SHA256`.
* a seeded random oracle with every parameter i.i.d. N(0, 1), the paper's oracle initialisation, for users
  without the file. Its NLL figures differ from the paper's table.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from .config import GeneratorConfig
from .generator import Generator

__all__ = [
    "ORACLE_ENV_VAR",
    "ORACLE_KEYS",
    "REFERENCE_ORACLE_SHA256",
    "oracle_file_label",
    "load_oracle",
    "load_oracle_params",
    "random_oracle",
    "make_oracle",
    "default_oracle_path",
]

REFERENCE_ORACLE_SHA256 = "de7dd5182c7ad66906a88e2eca3275d6fe738822b47cd5c8378eaf3dbddb995f"
ORACLE_ENV_VAR = "SEQGAN_ORACLE_PARAMS"
#: Keys in the order the reference code consumes them (also the order of the list in the ``.pkl`` form).
ORACLE_KEYS: tuple[str, ...] = (
    "embeddings", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc", "bc", "Wo", "bo",
)


def default_oracle_path() -> Path | None:
    """The path in ``$SEQGAN_ORACLE_PARAMS``, or None when the variable is unset or empty."""
    value = os.environ.get(ORACLE_ENV_VAR, "").strip()
    return Path(value) if value else None


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits numpy arrays, dtypes and plain containers; any other global raises."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store the arrays' raw bytes
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: oracle pickles may contain numpy arrays only. "
            "Convert the file to .npz or check where it came from."
        )


def _read_pkl(data: bytes, path: Path) -> dict[str, np.ndarray]:
    try:
        obj = _ArraysOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a readable oracle pickle ({exc}).") from exc
    if isinstance(obj, dict):
        return {str(k): np.asarray(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if len(obj) != len(ORACLE_KEYS):
            raise ValueError(
                f"{path}: the pickle holds {len(obj)} arrays but the oracle needs {len(ORACLE_KEYS)} "
                f"in the order {', '.join(ORACLE_KEYS)}."
            )
        return {k: np.asarray(v) for k, v in zip(ORACLE_KEYS, obj)}
    raise ValueError(f"{path}: the pickle holds a {type(obj).__name__}, expected a list or dict of arrays.")


def oracle_file_label(path: str | os.PathLike[str]) -> str:
    """How logs and summaries name an oracle file: ``"reference oracle file PATH"`` only when its sha256 is
    :data:`REFERENCE_ORACLE_SHA256`; any other file says it is not the reference (its NLL figures are not the
    paper's)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest == REFERENCE_ORACLE_SHA256:
        return f"reference oracle file {path}"
    return (f"oracle file {path} (sha256 {digest[:12]}..., not the reference oracle: NLL figures are not "
            "comparable with the paper's)")


def load_oracle_params(path: str | os.PathLike[str], *, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Read and validate the oracle parameters from ``path`` (``.npz`` or ``.pkl``).

    Args:
        path: the parameter file.
        sha256: if given, the file's sha256 must equal it (``"reference"`` means
            :data:`REFERENCE_ORACLE_SHA256`).

    Returns:
        A dict of float32 arrays under :data:`ORACLE_KEYS`, shapes checked against each other.

    Raises:
        ValueError: missing file, checksum mismatch, unreadable file, missing or mis-shaped keys.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"oracle parameter file {str(path)!r} does not exist; pass the path of seqgan_oracle_params.npz "
            f"(sha256 {REFERENCE_ORACLE_SHA256[:12]}...) or omit it to use a seeded random oracle."
        )
    data = path.read_bytes()
    if sha256 is not None:
        want = REFERENCE_ORACLE_SHA256 if sha256 == "reference" else sha256.lower()
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            raise ValueError(f"{path}: sha256 is {got}, expected {want}; the file is corrupt or a different one.")
    if path.suffix == ".pkl":
        params = _read_pkl(data, path)
    else:
        try:
            npz = np.load(io.BytesIO(data), allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an .npz archive of named arrays")
            with npz:
                params = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            why = str(exc)
            if "allow_pickle" in why:  # numpy's last resort, a pickle: a real one (protocol >= 2), or junk
                why = ("it holds Python objects, which are refused" if data[:1] == b"\x80"
                       else "not an .npz archive of named arrays")
            raise ValueError(f"{path}: not a readable oracle .npz file ({why}).") from None
    missing = [k for k in ORACLE_KEYS if k not in params]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}; an oracle file needs {', '.join(ORACLE_KEYS)}.")
    try:
        params = {k: np.asarray(params[k], dtype=np.float32) for k in ORACLE_KEYS}
    except (TypeError, ValueError):
        raise ValueError(f"{path}: the arrays are not numeric.") from None
    nonfinite = [k for k in ORACLE_KEYS if not np.isfinite(params[k]).all()]
    if nonfinite:
        raise ValueError(
            f"{path}: non-finite values (NaN or inf) in {', '.join(nonfinite)}; the file is damaged. Use the reference "
            f"file (sha256 {REFERENCE_ORACLE_SHA256[:12]}...) or re-convert it from the original .pkl."
        )
    if params["embeddings"].ndim != 2 or params["Wo"].ndim != 2:
        raise ValueError(f"{path}: 'embeddings' and 'Wo' must be 2-D matrices.")
    vocab, emb = params["embeddings"].shape
    hidden = params["Wo"].shape[0]
    expected = {"embeddings": (vocab, emb), "Wo": (hidden, vocab), "bo": (vocab,)}
    for gate in ("i", "f", "og", "c"):
        expected[f"W{gate}"] = (emb, hidden)
        expected[f"U{gate}"] = (hidden, hidden)
        expected[f"b{gate}"] = (hidden,)
    bad = {k: params[k].shape for k, shape in expected.items() if params[k].shape != shape}
    if bad:
        detail = ", ".join(f"{k} {bad[k]} (expected {expected[k]})" for k in bad)
        raise ValueError(f"{path}: mis-shaped keys: {detail}.")
    return params


def _freeze(model: Generator) -> Generator:
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def load_oracle(
    path: str | os.PathLike[str], *, seq_len: int = 20, start_token: int = 0, sha256: str | None = None
) -> Generator:
    """The reference oracle as a frozen :class:`Generator` (sizes read from the file)."""
    p = load_oracle_params(path, sha256=sha256)
    vocab, emb = p["embeddings"].shape
    hidden = p["Wo"].shape[0]
    config = GeneratorConfig(
        vocab_size=vocab, emb_dim=emb, hidden_dim=hidden, seq_len=seq_len, start_token=start_token
    )
    model = Generator(config, seed=0)
    t = {k: torch.from_numpy(v) for k, v in p.items()}
    # torch.nn.LSTM gate order is (i, f, g, o); the reference names the candidate "c" and the output "og".
    with torch.no_grad():
        model.embedding.weight.copy_(t["embeddings"])
        model.lstm.weight_ih_l0.copy_(torch.cat([t["Wi"], t["Wf"], t["Wc"], t["Wog"]], 1).T)
        model.lstm.weight_hh_l0.copy_(torch.cat([t["Ui"], t["Uf"], t["Uc"], t["Uog"]], 1).T)
        model.lstm.bias_ih_l0.copy_(torch.cat([t["bi"], t["bf"], t["bc"], t["bog"]]))
        model.lstm.bias_hh_l0.zero_()
        model.out.weight.copy_(t["Wo"].T)
        model.out.bias.copy_(t["bo"])
    return _freeze(model)


def random_oracle(config: GeneratorConfig | None = None, *, seed: int = 0, std: float = 1.0) -> Generator:
    """A seeded random oracle: every parameter i.i.d. N(0, std), std = 1 as in the paper."""
    model = Generator(config or GeneratorConfig(), seed=None)
    model.reset_parameters(seed=seed, std=std)
    return _freeze(model)


def make_oracle(
    path: str | os.PathLike[str] | None = None,
    *,
    config: GeneratorConfig | None = None,
    seed: int = 0,
    use_env: bool = True,
) -> Generator:
    """The reference oracle from ``path`` (or ``$SEQGAN_ORACLE_PARAMS`` when ``use_env``), else a random one.

    ``config`` sets the random oracle's sizes and the reference oracle's ``seq_len``/``start_token``.
    """
    from_env = False
    if path is None and use_env:
        path = default_oracle_path()
        from_env = path is not None
    if path is not None:
        cfg = config or GeneratorConfig()
        try:
            oracle = load_oracle(path, seq_len=cfg.seq_len, start_token=cfg.start_token)
        except ValueError as exc:
            if from_env:
                raise ValueError(f"{exc} (the path came from ${ORACLE_ENV_VAR}: fix or unset it)") from None
            raise
        if config is not None and oracle.vocab_size != config.vocab_size:
            raise ValueError(
                f"the oracle file has vocab_size {oracle.vocab_size} but the config asks for "
                f"{config.vocab_size}; use vocab_size={oracle.vocab_size} with this file."
            )
        return oracle
    return random_oracle(config, seed=seed)
