"""The settings of a training run: what :class:`bertlib.Trainer` does, step by step, and where it saves."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .precision import check_precision

__all__ = ["TrainingConfig"]


@dataclass
class TrainingConfig:
    """Settings of a training run (defaults suit the lessons' small models on a CPU)."""

    steps: int = 500  # optimizer updates
    batch_size: int = 32  # examples per update (split into grad_accum_steps micro-batches)
    lr: float = 5e-4  # peak learning rate, reached after the warmup
    warmup_steps: int = 50  # linear warmup, then linear decay to 0 (BERT, appendix A.2)
    weight_decay: float = 0.01  # AdamW decay on weight matrices; none on biases and LayerNorm
    max_grad_norm: float | None = 1.0  # clip the global gradient norm (None: no clipping)
    grad_accum_steps: int = 1  # micro-batches per update: same result, less memory
    eval_every: int | None = 100  # steps between evaluations (None: only at the end)
    eval_batch_size: int = 128
    log_every: int = 10  # steps between history records of the training loss
    seed: int = 0  # seeds init-independent randomness: batch order, masks, dropout
    checkpoint_dir: str | None = None  # where to save and resume (None: no checkpoints)
    save_every: int | None = None  # steps between checkpoints (None: only at the end)
    keep_checkpoints: int = 2  # older checkpoint-N folders are deleted
    skip_nonfinite_steps: int = 0  # consecutive NaN/inf steps skipped (no update) before stopping; 0: stop at once
    device: str | None = None  # None picks CUDA, then MPS, then CPU
    precision: str = "fp32"  # "fp32", "bf16", "fp16" or "auto" (bertlib.precision); weights stay fp32
    progress: bool = True  # tqdm progress bar
    live_plot: bool = False  # redraw the loss curves while training (in Jupyter)

    def __post_init__(self):
        check_precision(self.precision)
        for name in ("steps", "batch_size", "grad_accum_steps", "log_every", "eval_batch_size", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainingConfig.{name} must be at least 1, got {getattr(self, name)}.")
        if self.batch_size % self.grad_accum_steps:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be divisible by grad_accum_steps ({self.grad_accum_steps})."
            )
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr)) or self.lr <= 0 or self.warmup_steps < 0:
            raise ValueError(f"lr must be a positive finite number (got {self.lr!r}) and warmup_steps non-negative.")
        if not isinstance(self.skip_nonfinite_steps, int) or self.skip_nonfinite_steps < 0:
            raise ValueError(
                f"skip_nonfinite_steps must be a whole number >= 0 (0: stop at the first NaN/inf step), "
                f"got {self.skip_nonfinite_steps!r}."
            )
        if self.max_grad_norm is not None and not (math.isfinite(self.max_grad_norm) and self.max_grad_norm > 0):
            raise ValueError(
                f"max_grad_norm must be positive (or None for no clipping), got {self.max_grad_norm!r}: "
                f"a negative value would reverse the gradient."
            )
