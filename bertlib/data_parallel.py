"""What the training loop needs to run data-parallel under ``torchrun``, and nothing it needs alone.

With ``torch.distributed`` initialised, every rank (process) builds the same global batch,
trains on its own slice through DistributedDataParallel, which averages the gradients,
and these helpers keep the ranks in agreement: the loss that is logged, and whether a
step is skipped. With one process every helper is a no-op, so the loop reads the same.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .history import reported

__all__ = ["LossOnly", "process_rank", "rank_device", "wrap", "mean_over_ranks", "any_rank", "barrier"]


class LossOnly(nn.Module):
    """Returns the bare loss tensor: DDP must see the output tensor, not inside our output dataclass.

    The other losses and metrics the output reports (``losses`` and ``metrics`` dicts, e.g. an
    objective's parts) are kept, detached, in ``extras`` for the log: they never cross DDP.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.extras: dict[str, torch.Tensor] = {}

    def forward(self, **batch: torch.Tensor) -> torch.Tensor:
        out = self.model(**batch)
        if out.loss is None:
            raise ValueError(
                f"The model returned no loss: its batches have no labels (keys: {sorted(batch)}). Train on a "
                f"dataset with labels, e.g. bertlib.finetuning.encode(task.train, task, tokenizer)."
            )
        self.extras = reported(out)
        return out.loss


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) unless ``torch.distributed`` is initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def rank_device(device: torch.device, world: int) -> torch.device:
    """The device this rank trains on: under torchrun with GPUs, the one GPU torchrun gave it."""
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", torch.cuda.current_device())))
        torch.cuda.set_device(device)
    return device


def wrap(loss_only: LossOnly, world: int, device: torch.device) -> nn.Module:
    """The module the loop calls: ``loss_only`` itself, or under DDP ``loss_only`` wrapped in it.

    DDP broadcasts rank 0's weights, then all-reduces (averages) gradients in backward.
    ``find_unused_parameters``: a head the loss does not use (NSP in MLM-only training) is
    reduced as zero instead of leaving the reduction waiting for it.
    """
    if world == 1:
        return loss_only
    return DistributedDataParallel(
        loss_only, device_ids=[device] if device.type == "cuda" else None, find_unused_parameters=True
    )


def mean_over_ranks(values: list[float], world: int, device: torch.device) -> list[float]:
    """Each value averaged over the ranks (e.g. the loss of the global batch, not of one rank's slice)."""
    if world == 1:
        return values
    total = torch.tensor(values, device=device)
    dist.all_reduce(total)
    return [float(t) / world for t in total]


def any_rank(bad: str | None, world: int, device: torch.device) -> str | None:
    """Why a step must be skipped if any rank says so: one rank's NaN loss makes every rank skip it,
    or their weights would part. ``bad`` is this rank's reason (or None)."""
    if world == 1:
        return bad
    flag = torch.tensor(float(bad is not None), device=device)
    dist.all_reduce(flag)
    return bad or ("loss NaN or inf on another rank" if flag.item() else None)


def barrier(world: int) -> None:
    """Wait until every rank gets here (e.g. nobody runs ahead of a checkpoint being written)."""
    if world > 1:
        dist.barrier()
