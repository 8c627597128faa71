"""seqgan_env.runs and seqgan_env.generator_files: a finished run loads back, checked against what it trained on."""

from __future__ import annotations

import json

import pytest
import torch
from example_loader import load_example

from seqgan_env.files import CorruptFileError
from seqgan_env.generator import Generator
from seqgan_env.generator_files import load_generator, save_generator
from seqgan_env.runs import OracleRun, RunError, data_digest, load_run, oracle_digest


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    mod = load_example("oracle_train")
    out = tmp_path_factory.mktemp("r") / "tiny"
    assert mod.cli(["--preset", "tiny", "--out", str(out), "--progress", "false", "--seed", "4"]) == 0
    return out


def test_an_oracle_run_loads_with_its_oracle_data_and_generators(run_dir):
    run = load_run(run_dir)
    assert isinstance(run, OracleRun) and set(run.models) == {"mle_pretrained", "mle_baseline", "seqgan"}
    assert run.data.test.shape == (256, 8) and run.oracle.vocab_size == 50
    assert oracle_digest(run.oracle) != oracle_digest(None)
    assert len(data_digest(run.data)) == 64
    g = run.models["seqgan"]
    assert torch.equal(g.sample(3, seed=0), load_generator(run_dir / "generators" / "seqgan.pt").generator.sample(
        3, seed=0))


def test_a_rebuilt_oracle_that_differs_is_refused(run_dir, tmp_path):
    moved = tmp_path / "copy"
    moved.mkdir()
    for name in ("checkpoint.pt", "generators"):
        src = run_dir / name
        (moved / name).symlink_to(src, target_is_directory=src.is_dir())
    args = json.loads((run_dir / "args.json").read_text())
    (moved / "args.json").write_text(json.dumps({**args, "seed": 5}))  # another seed: another random oracle
    with pytest.raises(RunError, match="not the one it trained with"):
        load_run(moved)
    with pytest.raises(RunError, match="no args.json"):
        load_run(tmp_path)


def test_generator_files_round_trip_and_refuse_damage(tmp_path):
    g = Generator(seed=0)
    path = save_generator(tmp_path / "g" / "x.pt", g, {"note": "hi", "bad": float("nan")})
    back = load_generator(path)
    assert back.meta == {"note": "hi", "bad": None} and not back.generator.training
    assert all(torch.equal(a, b) for a, b in zip(g.state_dict().values(), back.generator.state_dict().values()))
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError):
        load_generator(path)
    with torch.no_grad():
        g.out.weight[0, 0] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        save_generator(tmp_path / "y.pt", g)
