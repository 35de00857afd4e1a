"""Seeds, devices and versions: the first cell of every lesson."""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from .version import __version__

__all__ = ["set_seed", "get_device", "versions", "seeded_generator", "in_colab", "setup_notebook"]


def set_seed(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and PyTorch so a lesson gives the same numbers on every run.

    Args:
        seed: the seed.
        deterministic: also ask PyTorch for deterministic algorithms where it
            has them (on CPU every op we use already is; this matters on CUDA).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        # cuBLAS needs this set for deterministic matmuls on CUDA.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def seeded_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with ``seed`` (explicit randomness, no global state)."""
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def get_device(prefer: str | None = None) -> torch.device:
    """The best available device: CUDA, then Apple MPS, then CPU.

    Args:
        prefer: force a device ("cpu", "cuda", "mps"); the environment
            variable ``BERTLIB_DEVICE`` does the same for a whole notebook.
    """
    prefer = prefer or os.environ.get("BERTLIB_DEVICE")
    if prefer:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                "CUDA was requested but no CUDA GPU is visible; use get_device() to fall back to the CPU."
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def in_colab() -> bool:
    """True when running inside Google Colab."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a lesson depends on (for the setup cell)."""
    import tokenizers

    out = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "bertlib": __version__,
        "device": str(get_device()),
        "threads": str(torch.get_num_threads()),
    }
    return out


def setup_notebook(seed: int = 0) -> torch.device:
    """The first cell of every lesson: seed everything, pick the device, prepare widgets.

    In Colab this also turns on the custom widget manager that ipywidgets 8
    needs there. Returns the device (CUDA, then MPS, then CPU).
    """
    set_seed(seed)
    if in_colab():
        from google.colab import output

        output.enable_custom_widget_manager()
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False})
    return get_device()
