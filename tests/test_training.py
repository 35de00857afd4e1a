"""The training loop: learning, determinism, atomic checkpoints, exact resume, clear checkpoint errors."""

import json
from dataclasses import dataclass

import pytest
import torch

import bertlib
from bertlib import (
    BertConfig,
    BertForPreTraining,
    BertForPreTrainingOutput,
    CheckpointError,
    PretrainingDataset,
    Trainer,
    TrainingConfig,
)
from tests.helpers import DOCUMENTS, tiny_tokenizer


def setup(tmp_path=None, steps=12, lr=1e-3, **overrides):
    tok = tiny_tokenizer()
    bertlib.set_seed(0)
    model = BertForPreTraining(BertConfig.preset("test", vocab_size=tok.vocab_size))
    pairs = bertlib.make_nsp_pairs(DOCUMENTS * 4, seed=0)
    data = PretrainingDataset(pairs, tok, max_length=32)
    cfg = TrainingConfig(
        steps=steps,
        batch_size=4,
        lr=lr,
        warmup_steps=2,
        eval_every=4,
        log_every=2,
        progress=False,
        checkpoint_dir=str(tmp_path / "ckpt") if tmp_path else None,
        **overrides,
    )
    return Trainer(model, data, cfg, eval_data=data, tokenizer=tok), tok


def params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_loss_goes_down_and_history_is_recorded():
    trainer, _ = setup(steps=40, lr=5e-3)
    history = trainer.train()
    losses = [r["loss"] for r in history.train]
    assert losses[-1] < losses[0] - 1.0  # from ln(vocab) + ln(2) towards memorising 24 pairs
    assert {"mlm_accuracy", "nsp_accuracy", "loss"} <= set(history.final)
    assert history.series("mlm_accuracy", "eval")[0] == [4, 8, 12, 16, 20, 24, 28, 32, 36, 40]


def test_same_seed_same_numbers():
    a, _ = setup()
    b, _ = setup()
    ha, hb = a.train(), b.train()
    assert ha.train == hb.train and ha.eval == hb.eval
    for k, v in params(a.model).items():
        assert torch.equal(v, params(b.model)[k]), k


def test_gradient_accumulation_sees_the_same_batch():
    a, _ = setup(steps=1)
    b, _ = setup(steps=1, grad_accum_steps=2)
    seen = {id(a): [], id(b): []}
    for t in (a, b):
        t.eval_data = None
        forward = t.model.forward
        t.model.forward = lambda *args, _t=t, _f=forward, **kw: (seen[id(_t)].append(kw), _f(*args, **kw))[1]
        t.train()
    assert len(seen[id(a)]) == 1 and len(seen[id(b)]) == 2
    for key in ("input_ids", "labels", "next_sentence_label"):
        torch.testing.assert_close(torch.cat([kw[key] for kw in seen[id(b)]]), seen[id(a)][0][key])
    # the same data, so the loss is the same up to averaging per slice
    assert abs(a.history.train[-1]["loss"] - b.history.train[-1]["loss"]) < 0.05


def test_interrupted_run_resumes_exactly(tmp_path):
    full, _ = setup(tmp_path / "full")
    full.train()
    # Run the first 8 steps only (as if killed), saving every 4 ...
    part, _ = setup(tmp_path / "part", steps=12, save_every=4)
    part.train(until=8)
    assert sorted(p.name for p in (tmp_path / "part/ckpt").iterdir()) == ["checkpoint-4", "checkpoint-8"]
    # ... then a fresh process picks up the latest checkpoint and finishes.
    resumed, _ = setup(tmp_path / "part", steps=12, save_every=4)
    resumed.train()
    assert resumed.history.train == full.history.train
    for k, v in params(full.model).items():
        torch.testing.assert_close(params(resumed.model)[k], v, atol=0, rtol=0)


def test_half_written_checkpoint_is_ignored(tmp_path):
    trainer, _ = setup(tmp_path, steps=4)
    trainer.train()
    # a crash during a later save leaves only a hidden temp folder behind
    (tmp_path / "ckpt/.checkpoint-8.tmp").mkdir()
    again, _ = setup(tmp_path, steps=4)
    assert again.load_checkpoint() and again.step == 4


def test_checkpoint_folder_is_the_hugging_face_layout(tmp_path):
    trainer, tok = setup(tmp_path, steps=4)
    trainer.train()
    folder = tmp_path / "ckpt/checkpoint-4"
    assert {p.name for p in folder.iterdir()} == {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "optimizer.safetensors",
        "trainer_state.json",
    }
    model = BertForPreTraining.from_pretrained(folder)
    assert not model.training
    for k, v in params(trainer.model).items():
        assert torch.equal(params(model)[k], v)
    assert bertlib.BertTokenizer.from_pretrained(folder).get_vocab() == tok.get_vocab()
    assert json.loads((folder / "trainer_state.json").read_text())["step"] == 4


def test_missing_and_corrupted_checkpoints_are_clear_errors(tmp_path):
    model = BertForPreTraining(BertConfig.preset("test"))
    with pytest.raises(CheckpointError, match="does not exist"):
        BertForPreTraining.from_pretrained(tmp_path / "nowhere")
    model.save_pretrained(tmp_path / "m")
    weights = tmp_path / "m/model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # truncated download
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        BertForPreTraining.from_pretrained(tmp_path / "m")
    weights.unlink()
    with pytest.raises(CheckpointError, match="No weights file"):
        BertForPreTraining.from_pretrained(tmp_path / "m")
    (tmp_path / "m/config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        BertForPreTraining.from_pretrained(tmp_path / "m")


def test_tokenizer_that_does_not_match_the_model(tmp_path):
    tok = tiny_tokenizer()
    small = BertForPreTraining(BertConfig.preset("test", vocab_size=50))
    with pytest.raises(CheckpointError, match="do not belong together"):
        small.save_pretrained(tmp_path, tokenizer=tok)
        BertForPreTraining.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="tokenizer does not match the model"):
        small(**tok(["anna lives in oakton and works as a baker"]))


def test_weights_of_a_different_shape_are_named(tmp_path):
    BertForPreTraining(BertConfig.preset("test")).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="shape"):
        BertForPreTraining.from_pretrained(tmp_path, intermediate_size=38)


def test_old_gamma_beta_layernorm_names_load(tmp_path):
    # Checkpoints converted from the original TensorFlow BERT (bert-base-uncased on the Hub among
    # them) call the LayerNorm parameters gamma and beta.
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.preset("test"))
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    renamed = {
        k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
        for k, v in state.items()
    }
    assert sum(k.endswith("LayerNorm.gamma") for k in renamed) > 0
    save_file(renamed, tmp_path / "model.safetensors")
    loaded = BertForPreTraining.from_pretrained(tmp_path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert loaded.loading_info["missing_keys"] == []


def test_frozen_body_and_discriminative_learning_rates():
    trainer, _ = setup(steps=2)
    model = trainer.model
    body, head = model.bert.parameters(), model.cls.parameters()
    groups = [{"params": list(body), "lr": 1e-5}, {"params": list(head), "lr": 1e-3}]
    t = Trainer(model, trainer.train_data, trainer.config, param_groups=groups)
    t.train()
    assert [g["initial_lr"] for g in t.optimizer.param_groups] == [1e-5, 1e-3]
    for p in model.bert.parameters():
        p.requires_grad_(False)
    before = params(model.bert)
    Trainer(model, trainer.train_data, trainer.config).train()
    assert all(torch.equal(v, params(model.bert)[k]) for k, v in before.items())


def test_gradient_clipping_covers_only_the_trained_weights():
    # Training only the NSP head gives the same head whether the rest of the model is frozen or
    # merely left out of the optimizer: the gradients of weights that are not trained must not
    # enter the clipping norm.
    def nsp_head_after_training(freeze_rest):
        trainer, _ = setup(steps=4, max_grad_norm=1e-3)
        model = trainer.model
        head = list(model.cls.seq_relationship.parameters())
        if freeze_rest:
            for p in model.parameters():
                p.requires_grad_(False)
            for p in head:
                p.requires_grad_(True)
        Trainer(model, trainer.train_data, trainer.config, param_groups=[{"params": head}]).train()
        assert all(p.grad is None for p in model.parameters())
        return [p.detach().clone() for p in head]

    for a, b in zip(nsp_head_after_training(True), nsp_head_after_training(False), strict=True):
        assert torch.equal(a, b)


def test_bad_training_settings():
    with pytest.raises(ValueError, match="divisible by grad_accum_steps"):
        TrainingConfig(batch_size=10, grad_accum_steps=3)
    trainer, _ = setup()
    for p in trainer.model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="frozen"):
        Trainer(trainer.model, trainer.train_data, trainer.config)


@dataclass
class _PartsOutput(BertForPreTrainingOutput):
    losses: dict | None = None
    metrics: dict | None = None


class _PartsModel(BertForPreTraining):
    """BertForPreTraining that also reports its loss's parts and a metric, as an objective module does."""

    def forward(self, **batch):
        out = super().forward(**batch)
        masked = (batch["labels"] != -100).float().sum() / batch["attention_mask"].sum()
        return _PartsOutput(
            **vars(out), losses={"mlm": out.mlm_loss, "nsp": out.nsp_loss}, metrics={"masked_fraction": masked}
        )


def parts_setup(tmp_path=None, **overrides):
    trainer, tok = setup(tmp_path, **overrides)
    parts = _PartsModel(trainer.model.config)
    parts.load_state_dict(trainer.model.state_dict())  # the very weights setup() trains
    return Trainer(parts, trainer.train_data, trainer.config, eval_data=trainer.eval_data, tokenizer=tok)


@pytest.mark.parametrize("accum", [1, 2])
def test_the_history_records_the_losses_and_metrics_an_output_reports(accum):
    plain, _ = setup(grad_accum_steps=accum)
    plain.train()
    trainer = parts_setup(grad_accum_steps=accum)
    trainer.train()
    for record, same in zip(trainer.history.train, plain.history.train, strict=True):
        assert record.keys() == {"step", "loss", "lr", "mlm_loss", "nsp_loss", "masked_fraction"}
        assert record["loss"] == same["loss"]  # reporting changes no number
        # Each part is averaged over the log window like the loss, so the parts add up to it.
        assert record["mlm_loss"] + record["nsp_loss"] == pytest.approx(record["loss"], rel=1e-6)
        assert 0.05 < record["masked_fraction"] < 0.3  # 15% of the real non-special tokens
    evaluated = trainer.history.eval[-1]
    assert evaluated["mlm_loss"] + evaluated["nsp_loss"] == pytest.approx(evaluated["loss"], rel=1e-6)
    assert "masked_fraction" in evaluated


def test_reported_losses_survive_a_checkpoint_and_resume(tmp_path):
    full = parts_setup(tmp_path / "full")
    full.train()
    part = parts_setup(tmp_path / "part", save_every=4)
    part.train(until=8)
    resumed = parts_setup(tmp_path / "part", save_every=4)
    resumed.train()
    assert resumed.history.train == full.history.train
    assert resumed.history.train[0]["nsp_loss"] > 0  # recorded before the interruption, read back


def test_a_reported_name_that_collides_with_the_history_keys_is_an_error():
    from bertlib.history import reported

    with pytest.raises(ValueError, match="'lr'.*rename it"):
        reported(_PartsOutput(loss=torch.tensor(1.0), metrics={"lr": torch.tensor(0.1)}))
    assert reported(BertForPreTrainingOutput(loss=torch.tensor(1.0))) == {}  # BERT's heads report nothing more
