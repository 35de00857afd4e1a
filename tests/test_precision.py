"""Mixed precision: validation, hardware detection, the slow-CPU warning, determinism, fp32 checkpoints, fp16 scaling."""

import dataclasses
import json
import math
import warnings

import pytest
import torch
from safetensors import safe_open

import bertlib
from bertlib import BertConfig, BertForPreTraining, PretrainingDataset, Trainer, TrainingConfig
from bertlib import precision as P
from bertlib.pretrained import SMALL_BERT_RECIPE, SmallBertRecipe
from tests.helpers import DOCUMENTS, tiny_tokenizer

FLAGS = "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 avx2 {extra}\n\n"


def cpuinfo(tmp_path, extra=""):
    path = tmp_path / f"cpuinfo-{extra or 'plain'}"
    path.write_text(FLAGS.format(extra=extra))
    return path


@pytest.fixture
def cpu(tmp_path, monkeypatch):
    """Point the detection at a fake /proc/cpuinfo: cpu(native=True) adds avx512_bf16 to its flags."""

    def use(native: bool):
        monkeypatch.setattr(P, "CPUINFO", cpuinfo(tmp_path, "avx512f avx512_bf16" if native else "avx512f"))

    return use


def trainer(precision, tmp_path=None, steps=6, **overrides):
    tok = tiny_tokenizer()
    bertlib.set_seed(0)
    model = BertForPreTraining(BertConfig.preset("test", vocab_size=tok.vocab_size))
    data = PretrainingDataset(bertlib.make_nsp_pairs(DOCUMENTS * 4, seed=0), tok, max_length=32)
    cfg = TrainingConfig(
        steps=steps,
        batch_size=4,
        lr=1e-3,
        warmup_steps=2,
        eval_every=3,
        log_every=1,
        progress=False,
        device="cpu",
        precision=precision,
        checkpoint_dir=str(tmp_path / "ckpt") if tmp_path else None,
        **overrides,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", P.SlowPrecisionWarning)  # this test machine may emulate bf16
        return Trainer(model, data, cfg, eval_data=data, tokenizer=tok)


@pytest.mark.parametrize("bad", ["float16", "BF16", "", None, 16, "half"])
def test_unknown_precision_is_refused_with_the_choices(bad):
    with pytest.raises(ValueError, match="precision must be one of 'fp32', 'bf16', 'fp16', 'auto'"):
        TrainingConfig(precision=bad)
    with pytest.raises(ValueError, match="precision must be one of"):
        SmallBertRecipe(precision=bad)


def test_detection_reads_the_cpu_flags(tmp_path):
    assert P.cpu_bf16_native(cpuinfo(tmp_path, "avx512f avx512_bf16"))
    assert P.cpu_bf16_native(cpuinfo(tmp_path, "amx_tile amx_bf16"))
    assert not P.cpu_bf16_native(cpuinfo(tmp_path, "avx512f avx512_vnni"))  # AVX-512 alone is not bf16
    assert not P.cpu_bf16_native(cpuinfo(tmp_path))


def test_auto_picks_bf16_only_on_a_cpu_that_has_it(cpu):
    cpu(native=True)
    assert P.resolve_precision("auto", "cpu") == "bf16"
    cpu(native=False)
    assert P.resolve_precision("auto", "cpu") == "fp32"
    assert P.resolve_precision("fp32", "cpu") == "fp32"


def test_emulated_bf16_warns_that_it_is_slow_and_native_does_not(cpu):
    cpu(native=False)
    with pytest.warns(P.SlowPrecisionWarning, match="emulates them.*much slower than in fp32.*'auto'"):
        assert P.resolve_precision("bf16", "cpu") == "bf16"
    cpu(native=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert P.resolve_precision("bf16", "cpu") == "bf16"
        assert P.resolve_precision("auto", "cpu") == "bf16"


def test_trainer_resolves_auto_from_the_hardware(cpu):
    cpu(native=False)
    assert trainer("auto").precision.name == "fp32"
    cpu(native=True)
    t = trainer("auto")
    assert (t.precision.name, t.precision.dtype, t.precision.scaled) == ("bf16", torch.bfloat16, False)


def test_bf16_training_is_deterministic_and_really_in_bf16():
    a, b, f = trainer("bf16"), trainer("bf16"), trainer("fp32")
    ha, hb, hf = a.train(), b.train(), f.train()
    assert ha.train == hb.train and ha.eval == hb.eval
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values(), strict=True):
        assert torch.equal(v, w), k
    # The arithmetic did change: bf16 keeps 8 bits of mantissa, so the losses differ from fp32's ...
    assert [r["loss"] for r in ha.train] != [r["loss"] for r in hf.train]
    # ... but only by rounding.
    for x, y in zip(ha.train, hf.train, strict=True):
        assert x["loss"] == pytest.approx(y["loss"], rel=0.05)


def test_master_weights_optimizer_and_checkpoint_stay_fp32(tmp_path):
    t = trainer("bf16", tmp_path)
    t.train()
    assert {p.dtype for p in t.model.parameters()} == {torch.float32}
    assert {v.dtype for s in t.optimizer.state.values() for v in s.values() if v.is_floating_point()} == {torch.float32}
    folder = tmp_path / "ckpt" / "checkpoint-6"
    with safe_open(folder / "model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float32}
    with safe_open(folder / "optimizer.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys() if not k.endswith(".step")} == {torch.float32}
    assert json.loads((folder / "config.json").read_text()).get("torch_dtype", "float32") == "float32"


def test_fp16_scales_the_loss_and_survives_overflow(tmp_path):
    """fp16 on a CPU (emulated, so slow, but PyTorch allows it): a GradScaler guards the update."""
    t = trainer("fp16", tmp_path, steps=4)
    assert t.precision.scaled and t.precision.scaler.get_scale() == 65536.0
    t.precision.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**40)  # overflows fp16 gradients at once
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    t.train(until=1)  # an overflowed step: skipped by the scaler, not stopped as divergence
    assert t.precision.scaler.get_scale() == 2.0**39
    assert all(torch.equal(v, t.model.state_dict()[k]) for k, v in before.items())
    t.precision.scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    t.train()
    assert not all(torch.equal(v, t.model.state_dict()[k]) for k, v in before.items())
    state = json.loads((tmp_path / "ckpt" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["grad_scaler"]["scale"] == t.precision.scaler.get_scale()  # resumes with the same scale
    assert all(r["loss"] == r["loss"] for r in t.history.train)  # no NaN in the logged losses


def test_fp16_skips_a_nan_step_and_goes_on():
    t = trainer("fp16", steps=3, skip_nonfinite_steps=1)
    forward, calls = t._train_model.forward, []

    def nan_at_first(**batch):
        calls.append(1)
        loss = forward(**batch)
        return loss * float("nan") if len(calls) == 1 else loss

    t._train_model.forward = nan_at_first
    history = t.train()  # the scaler is reset after the skipped step, so the next unscale_ works
    assert [s["step"] for s in history.skipped] == [1] and len(calls) == 3
    assert all(math.isfinite(r["loss"]) for r in history.train)


def test_each_precision_has_its_own_cached_small_bert():
    assert SMALL_BERT_RECIPE.to_dict()["precision"] == "fp32"  # the lessons' model: fp32 by default
    bf16 = dataclasses.replace(SMALL_BERT_RECIPE, precision="bf16")
    assert bf16.to_dict()["precision"] == "bf16"
    assert bf16.short_hash("x") != SMALL_BERT_RECIPE.short_hash("x")


def test_auto_recipe_is_cached_under_the_precision_it_resolves_to(cpu):
    from bertlib.pretrained import _resolved

    auto = dataclasses.replace(SMALL_BERT_RECIPE, precision="auto")
    cpu(native=False)
    assert _resolved(auto, "cpu") == SMALL_BERT_RECIPE
    cpu(native=True)
    assert _resolved(auto, "cpu").precision == "bf16"


def test_precision_benchmark_times_every_variant_and_prints_a_row_per_precision():
    pytest.importorskip("transformers")
    from benchmarks.precision import bench_precision, markdown_table

    r = bench_precision("test", ["bf16"], repeats=1, batches_per_repeat=1, memory=False)
    assert set(r["variants"]) == {"bertlib", "transformers sdpa", "bertlib bf16", "transformers sdpa bf16"}
    assert set(r["ceiling_gflops"]) == {"fp32", "bf16"} and all(v > 0 for v in r["ceiling_gflops"].values())
    assert all(v["tokens_per_s"] > 0 for v in r["variants"].values())
    rows = markdown_table([r]).splitlines()[2:]
    assert [row.split("|")[3].strip() for row in rows] == ["fp32", "bf16"]


def test_gpu_check_plans_every_lesson_and_refuses_bad_arguments(capsys):
    from tests.helpers import load_script

    gpu_check = load_script("gpu_check")
    assert gpu_check.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    lessons = sorted(p.name for p in (gpu_check.ROOT / "lessons").glob("*.ipynb"))
    assert [line.split("/")[1].split()[0] for line in out.splitlines() if "execute lessons/" in line] == lessons
    assert "benchmarks.precision --device cuda --setups small large" in out
    gpu_check.main(["--dry-run", "--skip-bench", "--lessons", "lessons/02_tokenization.ipynb"])
    out = capsys.readouterr().out
    assert "02_tokenization" in out and "01_transfer" not in out and "benchmarks.precision" not in out
    for bad in (["--skip-lessons", "--skip-bench"], ["--setups", "huge"], ["--repeats", "0"]):
        with pytest.raises(SystemExit):
            gpu_check.parse_args(bad)
    with pytest.raises(SystemExit, match="no such notebook"):
        gpu_check.main(["--dry-run", "--lessons", "lessons/99_missing.ipynb"])
    if not torch.cuda.is_available():  # a real run without a GPU stops with a clear message, writes nothing
        assert gpu_check.main(["--skip-lessons", "--out", "/nonexistent/gpu"]) == 2
        assert "no CUDA GPU is visible" in capsys.readouterr().err


def test_gpu_check_records_the_device_a_lesson_used(tmp_path):
    import nbformat

    from tests.helpers import load_script

    gpu_check = load_script("gpu_check")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1 + 1")])
    path = gpu_check.ROOT / "lessons" / f".gpu_check_test_{tmp_path.name}.ipynb"
    nbformat.write(nb, path)
    try:
        row = gpu_check.run_lesson(path, cell_timeout=60)
    finally:
        path.unlink()
    assert row["ok"] and row["cuda"] == torch.cuda.is_available() and row["errors_in_outputs"] == 0
    assert "| ok |" in gpu_check.lesson_table([row])
