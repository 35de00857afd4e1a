"""Mixed precision: which number format a training step computes in, and the machinery it needs.

``TrainingConfig.precision`` takes one of :data:`PRECISIONS`:

* ``"fp32"``: every operation in 32-bit floats (the default; what the book is built with).
* ``"bf16"``: matrix products and other autocast-eligible operations in bfloat16
  (8 bits of exponent, like fp32: no overflow, no loss scaling needed).
* ``"fp16"``: the same in float16, with a :class:`torch.amp.GradScaler`: fp16 has only
  5 bits of exponent, so small gradients would underflow to 0 unless the loss is
  scaled up before ``backward`` and the gradients scaled down before the update.
* ``"auto"``: the fastest of these that the hardware runs natively. On a CUDA GPU: bf16
  where it is supported (Ampere and newer), else fp16 (a Colab T4). On a CPU: bf16 only
  if the CPU has bf16 instructions (AVX512-BF16 or AMX, read from ``/proc/cpuinfo`` or
  asked of PyTorch), else fp32: without them bf16 is emulated and many times slower.
  Elsewhere (Apple MPS) fp32.

Only the arithmetic changes (``torch.autocast``): the weights, their gradients and
AdamW's moments stay fp32 (the "master weights"), so checkpoints are fp32 safetensors
whatever the precision. A run is deterministic for a given machine and precision; two
precisions give (slightly) different numbers.
"""

from __future__ import annotations

import contextlib
import functools
import platform
import warnings
from pathlib import Path
from typing import Any

import torch

__all__ = ["PRECISIONS", "check_precision", "cpu_bf16_native", "resolve_precision", "MixedPrecision"]

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
CPUINFO = Path("/proc/cpuinfo")  # tests point this elsewhere
_NATIVE_FLAGS = ("avx512_bf16", "amx_bf16")  # Linux's names for the CPU's bf16 instructions


class SlowPrecisionWarning(UserWarning):
    """A precision this hardware only emulates: correct, but slower than fp32."""


def check_precision(precision: Any) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ValueError that lists them."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(repr(p) for p in PRECISIONS)}, got {precision!r}. "
            f"'fp32' computes everything in 32-bit floats (the default); 'auto' picks bf16 or fp16 where "
            f"the hardware runs it natively and fp32 elsewhere."
        )
    return precision


def _cpu_flags(cpuinfo: Path) -> set[str] | None:
    """The CPU's feature flags from a Linux ``/proc/cpuinfo`` (None where there is no such file)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return None


@functools.lru_cache(maxsize=8)
def _cpu_bf16_native(cpuinfo: Path) -> bool:
    flags = _cpu_flags(cpuinfo)
    if flags is not None:
        return any(f in flags for f in _NATIVE_FLAGS)
    # No /proc/cpuinfo (macOS, Windows): ask PyTorch's own CPU detection where it has it.
    probes = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if platform.machine().lower() in ("x86_64", "amd64"):
        return any(bool(p()) for p in probes if p is not None)
    return False  # arm64 and others: PyTorch does not tell; fp32 is the safe choice


def cpu_bf16_native(cpuinfo: str | Path | None = None) -> bool:
    """True if this CPU multiplies bf16 matrices natively (AVX512-BF16 or AMX), False if it would emulate them.

    Read from the ``flags`` line of ``/proc/cpuinfo`` (``avx512_bf16``, ``amx_bf16``); where that
    file does not exist, from PyTorch's own detection on x86; False elsewhere.
    """
    return _cpu_bf16_native(Path(cpuinfo) if cpuinfo is not None else CPUINFO)


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The precision a run on ``device`` uses for ``precision``: ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    ``"auto"`` is resolved as the module docstring says. Asking for bf16 or fp16 on a CPU without
    native support warns (:class:`SlowPrecisionWarning`) that it works but is slow.

    Raises:
        ValueError: an unknown precision; bf16 on a CUDA GPU without bf16 (use "fp16" or "auto");
            a half precision on a device where PyTorch has no autocast.
    """
    check_precision(precision)
    kind = torch.device(device).type
    if precision == "fp32":
        return "fp32"
    if kind == "cuda":
        try:
            bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # PyTorch before 2.3 has no including_emulation
            bf16 = torch.cuda.is_bf16_supported()
        if precision == "auto":
            return "bf16" if bf16 else "fp16"
        if precision == "bf16" and not bf16:
            raise ValueError(
                f"This GPU ({torch.cuda.get_device_name(torch.device(device))}) has no bf16 arithmetic: use "
                f"precision='fp16' (with loss scaling) or 'auto', which picks it for you."
            )
        return precision
    if kind == "cpu":
        native = cpu_bf16_native()
        if precision == "auto":
            return "bf16" if native else "fp32"
        if not native or precision == "fp16":
            warnings.warn(
                f"precision={precision!r} on a CPU without native {'bf16' if precision == 'bf16' else 'fp16'} "
                f"matrix instructions: PyTorch emulates them, and training will be much slower than in fp32 "
                f"(the numbers are still right). Use precision='auto' to get fp32 here and bf16 where the CPU "
                f"has AVX512-BF16 or AMX.",
                SlowPrecisionWarning,
                stacklevel=3,
            )
        return precision
    if precision == "auto":
        return "fp32"
    if kind == "mps" and precision == "fp16":
        return precision
    raise ValueError(f"precision={precision!r} is not available on device {kind!r}: use 'fp32' or 'auto' there.")


class MixedPrecision:
    """Autocast and loss scaling for one training run (what the Trainer calls).

    Args:
        precision: one of :data:`PRECISIONS`.
        device: where the model trains.

    ``name`` is the resolved precision ("fp32", "bf16" or "fp16"); with "fp32" every
    method is a no-op, so the fp32 step is exactly the plain one.
    """

    def __init__(self, precision: str, device: torch.device | str):
        self.device = torch.device(device)
        self.name = resolve_precision(precision, self.device)
        self.dtype = _DTYPES.get(self.name, torch.float32)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.name == "fp16")

    @property
    def scaled(self) -> bool:
        """True when a GradScaler scales the loss (fp16): an inf gradient is then an overflow, not divergence."""
        return self.scaler.is_enabled()

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context the forward pass runs in: ``torch.autocast`` in bf16/fp16, nothing in fp32."""
        if self.name == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, with the loss scaled first under fp16."""
        self.scaler.scale(loss).backward() if self.scaled else loss.backward()

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Divide the gradients by the loss scale (fp16), so that clipping and norms see true gradients."""
        if self.scaled:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> bool:
        """The optimizer's update; under fp16 skipped when the gradients overflowed, and the scale adjusted.

        Returns:
            True if the weights were updated.
        """
        if not self.scaled:
            optimizer.step()
            return True
        scale = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        return self.scaler.get_scale() >= scale  # the scale drops only after an overflow

    def skip(self) -> None:
        """A step the Trainer skips (NaN loss): the scaler still closes the step, and lowers its scale."""
        if self.scaled:
            self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        """The loss scaler's state (JSON-friendly; empty unless fp16), saved with a checkpoint."""
        return {k: (float(v) if isinstance(v, float) else v) for k, v in self.scaler.state_dict().items()}

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaled and state:
            self.scaler.load_state_dict(state)
