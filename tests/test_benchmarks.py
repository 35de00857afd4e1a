"""Smoke tests of the benchmark suite (benchmarks/): it runs on a toy size and
produces every field the book's performance page and results files use.

Timings are never asserted: they depend on the machine and its load.
"""

from __future__ import annotations

import json

import nbformat
import pytest
import yaml

from benchmarks.book import lesson_times
from benchmarks.flops import PARTS, forward_flops, gemm_shapes
from benchmarks.memory import measure_here
from benchmarks.run import main
from benchmarks.setups import SETUPS, make_batches

pytest.importorskip("transformers")  # the comparison needs it (a test dependency)


def _measured_flops(config, B, T, n_labelled, mode, **kwargs):
    """Matrix-product FLOPs of one BertForPreTraining forward, counted by PyTorch as it runs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import bertlib

    g = bertlib.utils.seeded_generator(0)
    ids = torch.randint(5, config.vocab_size, (B, T), generator=g)
    labels = torch.full((B, T), -100)
    labels.view(-1)[torch.randperm(B * T, generator=g)[:n_labelled]] = 7
    model = getattr(bertlib.BertForPreTraining(config), mode)()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(ids, labels=labels, next_sentence_label=torch.zeros(B, dtype=torch.long), **kwargs)
    return counter.get_total_flops()


def test_flop_count_matches_what_pytorch_counts():
    """forward_flops against PyTorch's own count of every matrix product (explicit attention path)."""
    config = SETUPS["test"].config()
    config.attn_implementation = "eager"  # the fused kernel's count depends on the kernel
    B, T, n = 4, 16, 9
    f = forward_flops(config, B, T, n)
    assert tuple(f) == PARTS
    products = sum(v for k, v in f.items() if k != "embeddings")  # the embeddings' sum is elementwise
    assert _measured_flops(config, B, T, n, "eval") == products
    every = forward_flops(config, B, T, B * T)
    assert _measured_flops(config, B, T, n, "eval", logits_at="all") == sum(
        v for k, v in every.items() if k != "embeddings"
    )
    # Training runs the last layer only at [CLS] and the labelled rows (kept = B + n). Each sequence's
    # kept rows are padded to the longest one's, so PyTorch counts a little more than the formula.
    sparse = sum(v for k, v in forward_flops(config, B, T, n, kept=B + n).items() if k != "embeddings")
    measured = _measured_flops(config, B, T, n, "train")
    assert sparse <= measured <= 1.02 * sparse
    assert measured < products
    # Forward + two backward products for each of the 6 linear layers per block.
    shapes = gemm_shapes(config, B * T)
    assert len(shapes) == 9
    assert sum(2 * m * k * nn * c for m, k, nn, c, _, _ in shapes) == pytest.approx(
        3 * (f["attention projections"] + f["feed-forward"])
    )


def test_batches_are_deterministic_and_masked():
    a, b = make_batches(SETUPS["test"], 2, seed=3), make_batches(SETUPS["test"], 2, seed=3)
    for x, y in zip(a, b, strict=True):
        assert (
            x.keys() == y.keys() == {"input_ids", "token_type_ids", "attention_mask", "labels", "next_sentence_label"}
        )
        assert all((x[k] == y[k]).all() for k in x)
        assert (x["labels"] != -100).any()


def test_suite_runs_and_writes_results(tmp_path, capsys):
    figure, page = tmp_path / "perf.png", tmp_path / "performance.md"
    page.write_text("---\nmyst:\n  substitutions: {}\n---\n\n# Performance notes\n\n{{ mini_vs_eager }}\n")
    # One thread: two OpenMP threads on a machine loaded by other jobs can take
    # tens of ms per tiny op (a barrier waits for a descheduled thread).
    code = main(
        [
            "--setups",
            "test",
            "--repeats",
            "1",
            "--batches",
            "1",
            "--no-memory",
            "--threads",
            "1",
            "--min-seconds",
            "0.01",
            "--out",
            str(tmp_path),
            "--figure",
            str(figure),
            "--page",
            str(page),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Training step throughput" in printed and "Where the FLOPs go" in printed
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"date", "machine", "training", "flops", "inference", "targets", "wall_seconds"} <= results.keys()
    assert results["settings"]["threads"] == 1
    train = results["training"][0]
    assert {"bertlib", "transformers eager", "transformers sdpa", "bertlib, head at every position"} <= set(
        train["variants"]
    )
    for v in train["variants"].values():
        assert v["tokens_per_s"] > 0 and v["gflops"] > 0 and v["fraction_of_ceiling"] > 0
    assert train["ceiling_gflops"] > 0
    assert set(train["ratios"]) == {"bertlib / transformers eager", "bertlib / transformers sdpa"}
    lat = results["inference"][0]["latency_ms"]
    assert set(lat) == {"bertlib, with attentions", "transformers eager, with attentions", "bertlib, no attentions"}
    md = (tmp_path / "results.md").read_text()
    assert results["machine"]["cpu"] in md and "## Where the FLOPs go" in md
    assert figure.stat().st_size > 10_000  # a real PNG
    # The page's front matter now holds the run's numbers; its body is untouched.
    text = page.read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["myst"]["substitutions"]["test_vs_eager"].endswith("x")
    assert front["myst"]["substitutions"]["bench_cpu"] == results["machine"]["cpu"]
    assert text.endswith("# Performance notes\n\n{{ mini_vs_eager }}\n")


def test_memory_measurement_fields():
    m = measure_here("test", "bertlib", steps=1, threads=1)
    assert m["peak_rss_mb"] >= m["rss_before_mb"] > 0
    assert m["step_mb"] >= 0 and m["grads_and_adam_mb"] == pytest.approx(3 * m["parameters_mb"])


def test_lesson_times_read_the_build_cache(tmp_path):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    assert lesson_times(tmp_path) == []  # no build yet
    lesson = tmp_path / "lessons" / "01_x.ipynb"
    lesson.parent.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(nb, lesson)
    cache = get_cache(tmp_path / "_build" / ".jupyter_cache")
    cache.cache_notebook_bundle(CacheBundleIn(nb, str(lesson), data={"execution_seconds": 12.5}), check_validity=False)
    rows = lesson_times(tmp_path)
    assert [(r["lesson"], r["seconds"]) for r in rows] == [("lessons/01_x.ipynb", 12.5)]
