"""Generator agents and the adversarial trainer (import as ``seqgan_env.agents``).

* :class:`GeneratorAgent`: the protocol an agent implements (``generator``, ``make_rollout_reward``,
  ``generator_step``, ``state_dict``/``load_state_dict``).
* :class:`ReinforceAgent` / :class:`ReinforceConfig`: the paper's policy gradient.
* :class:`AdversarialTrainer` / :class:`ScheduleConfig`: MLE pretraining, D pretraining, adversarial rounds, an
  MLE-only baseline with the same budget, evaluation, CSV/TensorBoard logs and exact resumable checkpoints.
"""

from __future__ import annotations

from .checkpoint import CheckpointError
from .protocol import GeneratorAgent
from .reinforce import ReinforceAgent, ReinforceConfig
from .schedule import ScheduleConfig
from .trainer import AdversarialTrainer, DivergenceError, TrainingStopped

__all__ = [
    "AdversarialTrainer",
    "CheckpointError",
    "DivergenceError",
    "GeneratorAgent",
    "ReinforceAgent",
    "ReinforceConfig",
    "ScheduleConfig",
    "TrainingStopped",
]
