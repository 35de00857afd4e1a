"""One training step's update: the schedule, AdamW's groups, and which parameters are trained."""

import pytest
import torch
from torch import nn

from bertlib.optimization import default_param_groups, trained_groups, warmup_linear_decay


def test_warmup_then_linear_decay_to_zero():
    factors = [warmup_linear_decay(s, warmup_steps=4, total_steps=12) for s in range(13)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == 1.0 and factors[8] == 0.5 and factors[12] == 0.0
    assert all(a >= b for a, b in zip(factors[3:], factors[4:], strict=False))


def test_weight_matrices_decay_biases_and_layernorm_do_not():
    model = nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3))
    decay, no_decay = default_param_groups(model, weight_decay=0.01)
    assert [p.shape for p in decay["params"]] == [(3, 3)] and decay["weight_decay"] == 0.01
    assert len(no_decay["params"]) == 3 and no_decay["weight_decay"] == 0.0


def test_a_tied_weight_is_trained_once_and_frozen_ones_not_at_all():
    shared = nn.Parameter(torch.ones(2))
    frozen = nn.Parameter(torch.ones(2), requires_grad=False)
    other = nn.Parameter(torch.ones(2))
    groups = trained_groups([{"params": [shared, frozen]}, {"params": [shared, other], "lr": 0.1}], lr=1.0)
    assert [[id(p) for p in g["params"]] for g in groups] == [[id(shared)], [id(other)]]
    assert [(g["lr"], g["initial_lr"]) for g in groups] == [(1.0, 1.0), (0.1, 0.1)]
    only_frozen = trained_groups([{"params": [shared]}, {"params": [shared]}], lr=1.0)
    assert len(only_frozen) == 1  # the second group named nothing new and is left out


def test_nothing_to_train_is_a_clear_error():
    with pytest.raises(ValueError, match="No trainable parameters"):
        trained_groups([{"params": [nn.Parameter(torch.ones(1), requires_grad=False)]}], lr=1.0)
