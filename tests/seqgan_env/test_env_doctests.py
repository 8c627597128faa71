"""The ``>>>`` examples in the env modules' docstrings run and print what they show (``SeqGANEnv``,
``SeqGANVectorEnv``, ``reward_step``): the docstrings are the spec, so their examples are tested like the docs."""

from __future__ import annotations

import doctest

import pytest

import seqgan_env  # noqa: F401  (registers the ids)
from seqgan_env import _env_common, env, vector_env


@pytest.mark.parametrize("module", [env, vector_env, _env_common], ids=lambda m: m.__name__)
def test_docstring_examples_pass(module, monkeypatch):
    monkeypatch.delenv("SEQGAN_ORACLE_PARAMS", raising=False)
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert attempted > 0, f"{module.__name__} has no >>> examples"
    assert failed == 0, f"{failed} of {attempted} examples of {module.__name__} failed (see the captured stdout)"
