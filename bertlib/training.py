"""One training loop for every lesson: pretraining, fine-tuning, ablations.

Determinism: the batch, the masks and the dropout of step ``s`` depend only
on ``(seed, s)``, so a run that is interrupted and resumed from a checkpoint
computes exactly what an uninterrupted run would have.

Under ``torchrun`` (``torch.distributed`` initialised) the same loop runs
data-parallel: every rank builds step ``s``'s global batch, trains on its own
contiguous slice through DistributedDataParallel, which averages the gradients,
and only rank 0 evaluates, shows progress and writes checkpoints.

Checkpoints and resuming are :mod:`bertlib.trainer_state`; the lock on their directory is
:mod:`bertlib.checkpoint_lock`.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import data_parallel
from .batches import Dataset, EpochShuffle
from .checkpoint_lock import CheckpointLock
from .history import History, LivePlot, LogWindow
from .metrics import batch_metrics
from .optimization import NonFiniteSteps, adamw, default_param_groups, grad_norm, trained_groups, warmup_linear_decay
from .precision import MixedPrecision
from .trainer_state import data_fingerprint, latest_checkpoint, read_checkpoint, write_checkpoint
from .training_config import TrainingConfig
from .utils import get_device, seeded_generator

__all__ = ["Trainer", "STEP_SEED_STRIDE", "EVAL_SEED"]

# Each step's batch (its masks) and dropout get their own seed, seed * STEP_SEED_STRIDE + step
# (each epoch's shuffle likewise, with batches.EPOCH_SEED_STRIDE). The stride is a prime larger
# than any step count we run, so two (seed, step) pairs never share a seed.
STEP_SEED_STRIDE = 1_000_003
# Evaluation masks batch i of held-out data with seed EVAL_SEED + i: the same masks at every evaluation.
EVAL_SEED = 12345


class Trainer:
    """Train a bertlib model on a :class:`Dataset` with AdamW, warmup and linear decay.

    Args:
        model: any bertlib model whose forward returns an output with ``loss``.
        train_data: a Dataset (e.g. :class:`bertlib.PretrainingDataset`).
        config: a :class:`TrainingConfig`.
        eval_data: held-out Dataset evaluated every ``eval_every`` steps (fixed masks).
        param_groups: AdamW parameter groups, e.g. a small lr for the encoder and a
            large one for the head; each group's lr follows the same schedule.
            Default: :func:`default_param_groups`. Frozen parameters are left out.
        tokenizer: saved with every checkpoint.

    Under ``torch.distributed`` the model is wrapped in DistributedDataParallel
    and each of the ``world`` ranks trains on ``batch_size / world`` rows of every
    batch; ``self.model`` stays the bare model (for saving and evaluating).
    """

    def __init__(
        self,
        model: nn.Module,
        train_data: Dataset,
        config: TrainingConfig | None = None,
        eval_data: Dataset | None = None,
        param_groups: list[dict[str, Any]] | None = None,
        tokenizer: Any | None = None,
    ):
        self.config = config or TrainingConfig()
        self.rank, self.world = data_parallel.process_rank()
        self.device = data_parallel.rank_device(get_device(self.config.device), self.world)
        if self.config.batch_size % (self.world * self.config.grad_accum_steps):
            raise ValueError(
                f"batch_size ({self.config.batch_size}) must be divisible by the number of processes "
                f"({self.world}) times grad_accum_steps ({self.config.grad_accum_steps})."
            )
        self.model = model.to(self.device)
        self.precision = MixedPrecision(self.config.precision, self.device)  # autocast and loss scaling
        self._loss_only = data_parallel.LossOnly(self.model)
        self._train_model = data_parallel.wrap(self._loss_only, self.world, self.device)
        self.train_data, self.eval_data, self.tokenizer = train_data, eval_data, tokenizer
        if len(train_data) == 0:
            raise ValueError("train_data is empty.")
        groups = trained_groups(param_groups or default_param_groups(model, self.config.weight_decay), self.config.lr)
        self.optimizer = adamw(groups, self.config.lr)
        self._trained = [p for g in groups for p in g["params"]]
        self.history = History()
        self.step = 0
        self._order = EpochShuffle(len(train_data), self.config.seed)
        self._nonfinite = NonFiniteSteps(self.config.skip_nonfinite_steps)
        self._data_record: dict[str, Any] | None = None  # the training data's fingerprint, computed once
        # Rank 0 writes the checkpoints, so it alone holds the directory.
        self._lock = (
            CheckpointLock(self.config.checkpoint_dir) if self.config.checkpoint_dir and self.rank == 0 else None
        )

    def lr_factor(self, step: int) -> float:
        return warmup_linear_decay(step, self.config.warmup_steps, self.config.steps)

    # ---------------------------------------------------------------- train
    def train(self, resume: bool = True, until: int | None = None) -> History:
        """Train to ``config.steps`` (or stop early at step ``until``; calling again continues).

        With a ``checkpoint_dir`` the latest checkpoint there is loaded first, so a
        run that was interrupted picks up where it stopped; while it trains, the Trainer
        holds the directory's lock, and another Trainer there gets a clear error.
        Every step seeds PyTorch's generator from (seed, step) for its dropout, inside
        ``torch.random.fork_rng``: the caller's global random state is the same after
        training as before it, so a notebook's next draw does not depend on the run.
        """
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        with self._lock or contextlib.nullcontext(), torch.random.fork_rng(devices=cuda):
            return self._train(resume, until)

    def _train(self, resume: bool, until: int | None) -> History:
        c = self.config
        if resume and c.checkpoint_dir:
            self.load_checkpoint()
        stop = c.steps if until is None else min(until, c.steps)
        main = self.rank == 0  # only rank 0 reports, evaluates and saves
        bar = tqdm(total=c.steps, initial=self.step, desc="training", disable=not (c.progress and main), leave=True)
        plotter = LivePlot(self.history) if c.live_plot and main else None
        self._clock, window = time.perf_counter(), LogWindow()
        while self.step < stop:
            self._train_step(window)
            bar.update(1)
            self._log(window, bar)
            self._evaluate_plot_and_save(main, plotter)
        bar.close()
        self.history.seconds += time.perf_counter() - self._clock
        if plotter:
            plotter.close()
        self.model.eval()
        return self.history

    def _train_step(self, window: LogWindow) -> None:
        """One update on step ``self.step``'s batch (or a skipped one), then ``self.step += 1``."""
        c = self.config
        self._train_model.train()
        for g in self.optimizer.param_groups:
            g["lr"] = g["initial_lr"] * self.lr_factor(self.step)
        torch.manual_seed((c.seed * STEP_SEED_STRIDE + self.step) * self.world + self.rank)  # dropout of this step
        # The whole batch (examples and masks) depends only on (seed, step); ranks and
        # accumulation then feed it in slices, so they change memory use, not the data.
        full = self.train_data.collate(
            self._order.batch(self.step, c.batch_size), seeded_generator(c.seed * STEP_SEED_STRIDE + self.step)
        )
        step_loss, extras, bad = self._forward_backward(full)
        self.precision.unscale_(self.optimizer)
        norm = grad_norm(self._trained, c.max_grad_norm)
        # Under fp16 an inf gradient with a finite loss is an overflow: the scaler skips that update.
        finite = math.isfinite(norm) or self.precision.scaled
        bad = data_parallel.any_rank(bad or (None if finite else f"gradient norm {norm}"), self.world, self.device)
        lr = self.optimizer.param_groups[0]["lr"]
        if self._nonfinite.skip(bad, self.step + 1, lr):  # no update: weights and AdamW's moments stay
            self.history.skipped.append({"step": self.step + 1, "lr": lr, "reason": bad})
            self.precision.skip()
        else:
            self.precision.step(self.optimizer)
            window.add(step_loss, extras)
        self.model.zero_grad(set_to_none=True)  # also parameters outside the optimizer
        self.step += 1

    def _forward_backward(self, full: dict[str, torch.Tensor]) -> tuple[float, dict[str, float], str | None]:
        """Gradients of this rank's rows of ``full``, in ``grad_accum_steps`` micro-batches.

        Returns the step's loss, the losses and metrics the model reported besides it
        (each averaged over the micro-batches like the loss), and why the loss is not finite (or None).
        """
        c = self.config
        mine = torch.arange(c.batch_size).chunk(self.world)[self.rank]  # this rank's contiguous slice
        step_loss, extras, bad = 0.0, {}, None
        for i, rows in enumerate(mine.chunk(c.grad_accum_steps)):
            batch = {k: v[rows] for k, v in full.items()}
            # Gradients are all-reduced once per update, after the last micro-batch.
            sync = self.world == 1 or i == c.grad_accum_steps - 1
            with contextlib.nullcontext() if sync else self._train_model.no_sync():
                with self.precision.autocast():
                    loss = self._train_model(**_to(batch, self.device)) / c.grad_accum_steps
                self.precision.backward(loss)
            value = loss.item()
            step_loss += value
            for name, v in self._loss_only.extras.items():
                extras[name] = extras.get(name, 0.0) + float(v) / c.grad_accum_steps
            bad = bad or (None if math.isfinite(value) else f"loss {value}")
        return step_loss, extras, bad

    def _log(self, window: LogWindow, bar: tqdm) -> None:
        """Every ``log_every`` steps, append the window's mean loss (and extras) to ``history.train``."""
        c = self.config
        if not window.count or not (self.step % c.log_every == 0 or self.step == c.steps):
            return
        names = sorted(window.extras)
        # the loss of the global batch, not of rank 0's slice
        values = data_parallel.mean_over_ranks(
            [window.loss, *(window.extras[n] for n in names)], self.world, self.device
        )
        record = {"step": self.step, "loss": values[0] / window.count, "lr": self.optimizer.param_groups[0]["lr"]}
        record.update({n: v / window.count for n, v in zip(names, values[1:], strict=True)})
        self.history.train.append(record)
        bar.set_postfix(loss=f"{record['loss']:.3f}")
        window.reset()

    def _evaluate_plot_and_save(self, main: bool, plotter: LivePlot | None) -> None:
        c = self.config
        if (
            main
            and self.eval_data is not None
            and ((c.eval_every and self.step % c.eval_every == 0) or self.step == c.steps)
        ):
            self.history.eval.append({"step": self.step, **self.evaluate()})
        if plotter and (self.step % c.log_every == 0 or self.step == c.steps):
            plotter.update()
        if c.checkpoint_dir and ((c.save_every and self.step % c.save_every == 0) or self.step == c.steps):
            self.history.seconds += time.perf_counter() - self._clock
            self._clock = time.perf_counter()
            if main:
                self.save_checkpoint()
            data_parallel.barrier(self.world)  # nobody runs ahead of a checkpoint being written

    @torch.no_grad()
    def evaluate(self, data: Dataset | None = None, seed: int = EVAL_SEED) -> dict[str, float]:
        """Average loss and accuracies over a whole dataset, with fixed masks (same every call)."""
        data = data if data is not None else self.eval_data
        if data is None:
            raise ValueError("No evaluation data: pass eval_data to the Trainer or data= here.")
        was_training = self.model.training
        self.model.eval()
        totals: dict[str, list[float]] = {}
        bs = self.config.eval_batch_size
        for i, start in enumerate(range(0, len(data), bs)):
            batch = _to(data.collate(range(start, min(start + bs, len(data))), seeded_generator(seed + i)), self.device)
            with self.precision.autocast():
                out = self.model(**batch)
            for k, (s, n) in batch_metrics(out, batch).items():
                t = totals.setdefault(k, [0.0, 0.0])
                t[0] += s
                t[1] += n
        self.model.train(was_training)
        return {k: s / n for k, (s, n) in totals.items() if n}

    # ------------------------------------------------------- checkpointing
    def save_checkpoint(self) -> Path:
        """Write ``checkpoint-<step>/`` atomically (model, optimizer, trainer state); rotate older ones."""
        state = {
            "step": self.step,
            "config": asdict(self.config),
            "history": self.history.to_dict(),
            "model_class": type(self.model).__name__,
            "data": self._data_fingerprint(),
            "nonfinite_streak": self._nonfinite.streak,
            "grad_scaler": self.precision.state_dict(),
        }
        root = Path(self.config.checkpoint_dir)
        with self._lock or contextlib.nullcontext():
            return write_checkpoint(
                root, self.model, self.optimizer, state, self.tokenizer, self.config.keep_checkpoints
            )

    def load_checkpoint(self, path: str | os.PathLike | None = None) -> bool:
        """Restore model, optimizer, step and history from ``path`` or the latest checkpoint. False if none.

        Raises:
            CheckpointError: the checkpoint belongs to another run (settings, model config or
                training data differ), or it is damaged.
        """
        path = latest_checkpoint(Path(self.config.checkpoint_dir)) if path is None else Path(path)
        if path is None:
            return False
        state = read_checkpoint(
            path, self.model, self.optimizer, asdict(self.config), self._data_fingerprint(), self.device
        )
        self.step = state["step"]
        self.history = History.from_dict(state["history"])
        self._nonfinite.streak = int(state.get("nonfinite_streak", 0))
        self.precision.load_state_dict(state.get("grad_scaler"))
        return True

    def _data_fingerprint(self) -> dict[str, Any] | None:
        if self._data_record is None:
            self._data_record = data_fingerprint(self.train_data)
        return self._data_record


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in batch.items()}
