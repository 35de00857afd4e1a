"""Seeds, generators, devices and versions (bertlib.utils)."""

import pytest
import torch

import bertlib


def test_get_device_is_cpu_here_and_rejects_missing_cuda(monkeypatch):
    monkeypatch.delenv("BERTLIB_DEVICE", raising=False)
    if not torch.cuda.is_available():
        assert bertlib.get_device().type in ("cpu", "mps")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            bertlib.get_device("cuda")


def test_set_seed_repeats_every_random_stream():
    draws = []
    for _ in range(2):
        bertlib.set_seed(3)
        import random

        import numpy as np

        draws.append((random.random(), float(np.random.rand()), torch.rand(2).tolist()))
    assert draws[0] == draws[1]
    bertlib.set_seed(4)
    assert torch.rand(2).tolist() != draws[0][2]


def test_generator_is_explicit_and_leaves_the_global_stream_alone():
    state = torch.random.get_rng_state()
    a = torch.rand(3, generator=bertlib.seeded_generator(5))
    b = torch.rand(3, generator=bertlib.seeded_generator(5))
    assert torch.equal(a, b) and not torch.equal(a, torch.rand(3, generator=bertlib.seeded_generator(6)))
    assert torch.equal(torch.random.get_rng_state(), state)


def test_versions_reports_the_package_version():
    v = bertlib.versions()
    assert v["bertlib"] == bertlib.__version__ and v["torch"] == torch.__version__
    assert v["device"] == str(bertlib.get_device())
