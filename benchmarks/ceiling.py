"""The machine's ceiling: how fast fp32 (or bf16, fp16) matrix products run on the model's own shapes.

A training step cannot go faster than its matrix products would alone, so we
time exactly the products of the encoder's linear layers (forward and both
backward products, see :func:`benchmarks.flops.gemm_shapes`) with
``torch.mm`` into preallocated outputs, and divide their FLOPs by their time.
This is the FLOP-weighted rate of the products the model really runs, which
is a fairer ceiling for a small model than one large square product (its
rate is reported next to it as the machine's peak).
"""

from __future__ import annotations

import time

import torch

__all__ = ["MatmulCeiling", "peak_gflops"]


class MatmulCeiling:
    """Preallocated operands for a list of products; :meth:`measure` times them once each.

    Args:
        shapes: (m, k, n, count, a_transposed, b_transposed) tuples from
            :func:`benchmarks.flops.gemm_shapes`; a product that occurs ``count`` times
            in a step is timed once and weighted by ``count``.
        min_seconds: time each product for at least this long (repeating it), so
            that very small products are not dominated by the clock.
        clock: the timer, ``time.perf_counter`` (wall) or ``time.process_time`` (CPU).
    """

    def __init__(
        self,
        shapes: list[tuple[int, int, int, int, bool, bool]],
        min_seconds: float = 0.02,
        seed: int = 0,
        clock=time.perf_counter,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ):
        g = torch.Generator().manual_seed(seed)

        def operand(rows: int, cols: int, transposed: bool) -> torch.Tensor:
            # A transposed view, as autograd passes weights and gradients to the kernels.
            x = torch.randn(cols, rows, generator=g).t() if transposed else torch.randn(rows, cols, generator=g)
            return x.to(device=device, dtype=dtype)

        self.items = [
            (operand(m, k, ta), operand(k, n, tb), torch.empty(m, n, dtype=dtype, device=device), count)
            for m, k, n, count, ta, tb in shapes
        ]
        self.min_seconds, self.clock = min_seconds, clock
        self._sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)

    def measure(self) -> float:
        """One measurement of the ceiling, in GFLOP/s (total FLOPs / total time of the step's products)."""
        flops = seconds = 0.0
        for a, b, out, count in self.items:
            torch.mm(a, b, out=out)  # warm the caches and the kernel choice
            self._sync()
            reps, t0 = 0, self.clock()
            while True:
                torch.mm(a, b, out=out)
                reps += 1
                self._sync()
                elapsed = self.clock() - t0
                if elapsed >= self.min_seconds:
                    break
            flops += count * 2.0 * a.size(0) * a.size(1) * b.size(1)
            seconds += count * elapsed / reps
        return flops / seconds / 1e9


def peak_gflops(size: int = 1024, repeats: int = 5, clock=time.perf_counter) -> float:
    """Best-of-``repeats`` rate of one (size x size) @ (size x size) fp32 product, in GFLOP/s."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        t0 = clock()
        torch.mm(a, b, out=out)
        best = min(best, clock() - t0)
    return 2.0 * size**3 / best / 1e9
