"""What a training run leaves behind: the loss and metric records, and their live plot."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["History", "LivePlot"]


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
