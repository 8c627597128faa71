"""The examples' command-line layer: flags from typed config dataclasses, presets, one-line errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from seqgan_env.agents import ReinforceConfig, ScheduleConfig
from seqgan_env.cli import ConfigCLI, Section, UsageError, field_docs, run_cli


@dataclass
class RunArgs:
    preset: str = "a"
    """which preset"""
    verbose: bool = False
    """talk more"""
    limit: int | None = None
    """an optional cap"""


@dataclass
class Args:
    run: RunArgs
    schedule: ScheduleConfig
    agent: ReinforceConfig


def make_cli() -> ConfigCLI:
    return ConfigCLI(
        Args,
        [Section("run", RunArgs), Section("schedule", ScheduleConfig, include=("mle_epochs", "adv_rounds")),
         Section("agent", ReinforceConfig, include=("lr", "baseline"), rename={"lr": "pg_lr"})],
        {"a": {}, "b": {"mle_epochs": 7, "pg_lr": 0.005}},
        default_preset="a", choices={"preset": ["a", "b"], "baseline": ["none", "mean"]},
    )


def test_defaults_presets_then_flags():
    cli = make_cli()
    args = cli.build(cli.parse([])[0])
    assert (args.schedule.mle_epochs, args.agent.lr, args.run.limit) == (120, 0.01, None)  # the paper's defaults
    values, given = cli.parse(["--preset", "b", "--adv-rounds", "3"])
    args = cli.build(values)
    assert isinstance(args.schedule, ScheduleConfig) and isinstance(args.agent, ReinforceConfig)
    assert (args.schedule.mle_epochs, args.schedule.adv_rounds, args.agent.lr) == (7, 3, 0.005)
    assert given == {"preset": "b", "adv_rounds": 3}
    args = cli.build(cli.parse(["--preset", "b", "--mle-epochs", "9", "--limit", "none"])[0])
    assert args.schedule.mle_epochs == 9 and args.run.limit is None  # a flag beats the preset
    assert cli.flatten(args) == {"preset": "b", "verbose": False, "limit": None, "mle_epochs": 9, "adv_rounds": 200,
                                 "pg_lr": 0.005, "baseline": "none"}


def test_bool_flags_take_every_form():
    cli = make_cli()
    for argv, want in ((["--verbose"], True), (["--verbose", "false"], False), (["--no-verbose"], False),
                       (["--verbose", "yes"], True)):
        assert cli.build(cli.parse(argv)[0]).run.verbose is want, argv


def test_help_comes_from_the_dataclass_docs(capsys):
    assert field_docs(ReinforceConfig)["num_rollouts"].startswith("Monte Carlo rollouts per prefix")
    assert field_docs(RunArgs)["limit"] == "an optional cap"
    with pytest.raises(SystemExit):
        make_cli().parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "an optional cap" in out and "--pg-lr" in out and "b: --mle-epochs 7, --pg-lr 0.005" in out
    assert "``" not in out and ":class:" not in out


def test_errors_are_one_line(capsys):
    cli = make_cli()

    def main(argv):
        cli.build(cli.parse(argv)[0])  # the configs validate the values

    for argv, needle in ((["--mle-epochs", "x"], "invalid int value"), (["--preset", "z"], "invalid choice"),
                         (["--nope"], "unrecognized"), (["--pg-lr", "-1"], "lr=-1.0"),
                         (["--mle-epochs", "-2"], "mle_epochs=-2")):
        assert run_cli(main, argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], (argv, err)
    with pytest.raises(UsageError):
        cli.parse(["--baseline", "max"])


def test_two_fields_cannot_share_a_flag():
    with pytest.raises(AssertionError, match="--lr"):
        ConfigCLI(Args, [Section("agent", ReinforceConfig, include=("lr",)),
                         Section("schedule", ReinforceConfig, include=("lr",))], {}, default_preset="a")
