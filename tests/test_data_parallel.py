"""The data-parallel helpers in one process: every one is a no-op, so the loop reads the same.

Two real processes under torchrun are tests/test_ddp.py.
"""

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from bertlib import data_parallel


@dataclass
class _Out:
    loss: torch.Tensor | None
    losses: dict | None = None


class _Model(nn.Module):
    def __init__(self, with_loss=True):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.with_loss = with_loss

    def forward(self, x):
        loss = (self.w * x).sum() if self.with_loss else None
        return _Out(loss, {"part": (2 * self.w).sum()})


def test_one_process_is_rank_0_of_1_and_keeps_its_device():
    assert data_parallel.process_rank() == (0, 1)
    assert data_parallel.rank_device(torch.device("cpu"), 1) == torch.device("cpu")


def test_one_process_trains_the_bare_module_and_agrees_with_itself():
    loss_only = data_parallel.LossOnly(_Model())
    assert data_parallel.wrap(loss_only, 1, torch.device("cpu")) is loss_only
    assert data_parallel.mean_over_ranks([1.5, 2.0], 1, torch.device("cpu")) == [1.5, 2.0]
    assert data_parallel.any_rank(None, 1, torch.device("cpu")) is None
    assert data_parallel.any_rank("loss nan", 1, torch.device("cpu")) == "loss nan"
    data_parallel.barrier(1)  # returns at once


def test_loss_only_returns_the_loss_tensor_and_keeps_the_reported_parts():
    loss_only = data_parallel.LossOnly(_Model())
    loss = loss_only(x=torch.tensor([3.0]))
    assert isinstance(loss, torch.Tensor) and loss.item() == 3.0 and loss.requires_grad
    assert set(loss_only.extras) == {"part_loss"} and float(loss_only.extras["part_loss"]) == 2.0
    assert not loss_only.extras["part_loss"].requires_grad  # detached: it never crosses DDP


def test_a_model_without_a_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="returned no loss: its batches have no labels"):
        data_parallel.LossOnly(_Model(with_loss=False))(x=torch.tensor([1.0]))
