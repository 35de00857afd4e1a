"""What a training run leaves behind: the loss and metric records, and their live plot."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

__all__ = ["History", "LivePlot", "LogWindow", "reported"]


@dataclass
class History:
    """What happened during training: lists of records a lesson can plot."""

    train: list[dict[str, float]] = field(default_factory=list)
    eval: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    # Steps left out because their loss or gradients were not finite (TrainingConfig.skip_nonfinite_steps):
    # {"step": 7, "lr": 0.0005, "reason": "loss nan"}.
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The records as plain JSON-ready data (what checkpoints and the cached small BERT store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """The History that :meth:`to_dict` wrote (``skipped`` may be absent in older files)."""
        return cls(train=d["train"], eval=d["eval"], seconds=d["seconds"], skipped=d.get("skipped", []))

    def series(self, key: str, split: str = "train") -> tuple[list[int], list[float]]:
        """(steps, values) of one metric, e.g. ``history.series("mlm_accuracy", "eval")``."""
        rows = [r for r in getattr(self, split) if key in r]
        return [int(r["step"]) for r in rows], [r[key] for r in rows]

    @property
    def final(self) -> dict[str, float]:
        """The last evaluation's metrics."""
        return dict(self.eval[-1]) if self.eval else {}

    def plot(self, **kwargs):
        from .viz import plot_history

        return plot_history(self, **kwargs)


class LivePlot:
    """Redraws the loss curves in place in Jupyter (at most every 2 s); a no-op elsewhere."""

    def __init__(self, history: History, every_s: float = 2.0):
        self.history, self.every_s, self.last, self.handle = history, every_s, 0.0, None
        try:
            from IPython import get_ipython

            self.active = get_ipython() is not None
        except ImportError:
            self.active = False

    def update(self, force: bool = False) -> None:
        if not self.active or (not force and time.perf_counter() - self.last < self.every_s):
            return
        import matplotlib.pyplot as plt
        from IPython.display import display

        from .viz import plot_history

        fig = plot_history(self.history)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)
        plt.close(fig)
        self.last = time.perf_counter()

    def close(self) -> None:
        self.update(force=True)


def reported(output: Any) -> dict[str, torch.Tensor]:
    """The losses and metrics an output reports besides ``loss``, under their names in the history.

    ``output.losses["generator"]`` is logged as ``generator_loss``; ``output.metrics["x"]`` as ``x``.
    Outputs without these dicts (every BERT head) report nothing more.
    """
    found: dict[str, torch.Tensor] = {}
    for suffix, kind in (("_loss", "losses"), ("", "metrics")):
        for name, value in (getattr(output, kind, None) or {}).items():
            key = f"{name}{suffix}"
            if key in ("step", "loss", "lr") or key in found:
                raise ValueError(
                    f"The model reports {kind}[{name!r}], logged as {key!r}, which another record already uses; "
                    f"rename it (history keys: step, loss, lr, <loss name>_loss, <metric name>)."
                )
            found[key] = torch.as_tensor(value).detach()
    return found


@dataclass
class LogWindow:
    """The sums over the steps since the last ``history.train`` record: loss, reported extras, step count."""

    loss: float = 0.0
    extras: dict[str, float] = field(default_factory=dict)
    count: int = 0

    def add(self, loss: float, extras: dict[str, float]) -> None:
        self.loss += loss
        for name, value in extras.items():
            self.extras[name] = self.extras.get(name, 0.0) + value
        self.count += 1

    def reset(self) -> None:
        self.loss, self.extras, self.count = 0.0, {}, 0
