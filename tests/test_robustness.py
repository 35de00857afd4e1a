"""Bad input and faults: every case gets a clear error (naming the problem and the fix), never a wrong result."""

import warnings

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertForPreTraining, CheckpointError, CheckpointWarning, TrainingConfig
from bertlib.minilm import load_minilm
from bertlib.task_examples import Example
from bertlib.tasks import Task
from tests.helpers import DOCUMENTS, SENTENCES, model_and_batch, tiny_tokenizer
from tests.test_training import setup


# ------------------------------------------------------------------ tokenizer
def test_a_too_small_vocabulary_keeps_the_alphabet_and_warns():
    texts = ["anna lives in oakton .", "ben works at the bakery ."]
    with pytest.warns(UserWarning, match="too small"):
        tok = bertlib.train_tokenizer(texts, vocab_size=12)
    assert "[UNK]" not in tok.tokenize("anna lives")
    korean = ["지수는 도서관에서 책을 읽는다 .", "민준은 빵집에서 일한다 ."]
    with pytest.warns(UserWarning):
        ko = bertlib.train_tokenizer(korean, vocab_size=10, lowercase=False)
    assert "[UNK]" not in ko.tokenize(korean[0])


def test_a_str_instead_of_a_list_is_a_type_error():
    with pytest.raises(TypeError, match="not one str"):
        bertlib.train_tokenizer("anna lives in oakton .")
    with pytest.raises(TypeError, match="list of tokens"):
        bertlib.train_tokenizer(SENTENCES, extra_special_tokens="[ENT]")


def test_bad_ids_and_a_missing_folder_are_named(tmp_path):
    tok = tiny_tokenizer()
    with pytest.raises(ValueError, match="Token id -1"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="Token id 99999"):
        tok.convert_ids_to_tokens([99999])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tok.save(tmp_path / "missing" / "tokenizer.json")


# ------------------------------------------------------------------- training
def test_resume_refuses_another_runs_checkpoint(tmp_path):
    first, _ = setup(tmp_path, steps=4)
    first.train()
    other, _ = setup(tmp_path, steps=4, lr=2e-3)
    with pytest.raises(CheckpointError, match="lr=0.001 there, 0.002 here"):
        other.train()
    reseeded, _ = setup(tmp_path, steps=4, seed=1)
    with pytest.raises(CheckpointError, match="seed"):
        reseeded.train()
    fewer, _ = setup(tmp_path, steps=2)
    with pytest.raises(CheckpointError, match="already trained 4 steps"):
        fewer.train()
    fresh, _ = setup(tmp_path, steps=4, lr=2e-3)
    fresh.train(resume=False)  # the explicit way to start over
    assert fresh.step == 4


def test_a_diverging_run_stops_and_keeps_its_finite_checkpoints(tmp_path):
    trainer, _ = setup(tmp_path, steps=30, lr=1e6, save_every=1, keep_checkpoints=2, max_grad_norm=None)
    with pytest.raises(FloatingPointError, match="at step .*lower learning rate"):
        trainer.train()
    folders = sorted((tmp_path / "ckpt").glob("checkpoint-*"))
    for folder in folders:
        model = BertForPreTraining.from_pretrained(folder)
        assert all(torch.isfinite(p).all() for p in model.parameters())


def test_rotation_spares_a_users_copy(tmp_path):
    trainer, _ = setup(tmp_path, steps=8, save_every=2, keep_checkpoints=1)
    trainer.train(until=4)
    copy = tmp_path / "ckpt" / "checkpoint-4-keep"
    (tmp_path / "ckpt" / "checkpoint-4").rename(copy)
    (copy / "trainer_state.json").write_text((copy / "trainer_state.json").read_text())
    trainer.train()
    assert copy.is_dir()


def test_bad_max_grad_norm_and_lr():
    for bad in (-1.0, 0.0, float("nan")):
        with pytest.raises(ValueError, match="max_grad_norm"):
            TrainingConfig(max_grad_norm=bad)
    with pytest.raises(ValueError, match="lr"):
        TrainingConfig(lr=float("nan"))


def test_broken_training_checkpoints_are_named(tmp_path):
    trainer, _ = setup(tmp_path, steps=4)
    trainer.train()
    folder = tmp_path / "ckpt" / "checkpoint-4"
    state = folder / "trainer_state.json"
    good = state.read_text()
    state.write_text("{broken")
    again, _ = setup(tmp_path, steps=4)
    with pytest.raises(CheckpointError, match="trainer_state.json is corrupted"):
        again.load_checkpoint()
    state.write_text(good)
    (folder / "optimizer.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no optimizer.safetensors"):
        again.load_checkpoint()


def test_a_classifier_cannot_resume_a_pretraining_checkpoint(tmp_path):
    trainer, tok = setup(tmp_path, steps=4)
    trainer.train()
    clf = bertlib.BertForSequenceClassification(BertConfig.preset("test", vocab_size=tok.vocab_size))
    rows = [{"input_ids": tok.encode(s)["input_ids"], "labels": i % 2} for i, s in enumerate(SENTENCES)]
    other = bertlib.Trainer(clf, bertlib.EncodedDataset(rows), trainer.config)
    with pytest.raises(CheckpointError, match="another model"):
        other.train()


def test_a_dataset_without_labels_is_named():
    tok = tiny_tokenizer()
    clf = bertlib.BertForSequenceClassification(BertConfig.preset("test", vocab_size=tok.vocab_size))
    rows = [{"input_ids": tok.encode(s)["input_ids"]} for s in SENTENCES]
    trainer = bertlib.Trainer(clf, bertlib.EncodedDataset(rows), TrainingConfig(steps=1, batch_size=2, progress=False))
    with pytest.raises(ValueError, match="no labels"):
        trainer.train()


# --------------------------------------------------------------------- config


# ---------------------------------------------------------------------- model


def test_bad_ids_get_clear_errors():
    model, ids = model_and_batch()
    with pytest.raises(ValueError, match="Token id -5 is negative"):
        model(torch.tensor([[2, -5, 3]]))
    with pytest.raises(ValueError, match="Segment id -1 is negative"):
        model(ids, token_type_ids=torch.full_like(ids, -1))
    with pytest.raises(ValueError, match="0 tokens"):
        model(ids[:, :0])


# ----------------------------------------------------------------------- data
def test_nsp_pairs_need_documents():
    with pytest.raises(TypeError, match="lists of sentences"):
        bertlib.make_nsp_pairs(SENTENCES)
    assert bertlib.make_nsp_pairs(DOCUMENTS)  # the valid form still works


def test_a_wrong_answer_start_is_refused():
    tok = tiny_tokenizer()
    task = Task("qa", "span", [], [], [])
    good = Example("where does anna live ?", "anna lives in oakton .", answer_start=14, answer_text="oakton")
    bertlib.finetuning.encode([good], task, tok)
    bad = Example("where does anna live ?", "anna lives in oakton .", answer_start=5, answer_text="oakton")
    with pytest.raises(ValueError, match="answer_start=5"):
        bertlib.finetuning.encode([bad], task, tok)


# ----------------------------------------------------------- checkpoint folder


def test_overriding_the_architecture_of_a_checkpoint_is_refused(tmp_path):
    bertlib.set_seed(0)
    BertForPreTraining(BertConfig.preset("test")).save_pretrained(tmp_path)  # 3 heads
    with pytest.raises(CheckpointError, match="num_attention_heads=3.*allow_architecture_change"):
        BertForPreTraining.from_pretrained(tmp_path, num_attention_heads=4)
    changed = BertForPreTraining.from_pretrained(tmp_path, num_attention_heads=4, allow_architecture_change=True)
    assert changed.config.num_attention_heads == 4
    same = BertForPreTraining.from_pretrained(tmp_path, hidden_dropout_prob=0.2, num_labels=3)  # not architecture
    assert (same.config.hidden_dropout_prob, same.config.num_labels) == (0.2, 3)  # the overrides took
    assert same.config.num_attention_heads == 3  # and the architecture is the checkpoint's


def test_resume_refuses_a_model_with_another_config(tmp_path):
    first, tok = setup(tmp_path, steps=4)
    first.train()
    bigger = BertForPreTraining(BertConfig.preset("test", vocab_size=tok.vocab_size, hidden_dropout_prob=0.2))
    other = bertlib.Trainer(bigger, first.train_data, first.config)
    with pytest.raises(CheckpointError, match="hidden_dropout_prob=0.0 there, 0.2 here"):
        other.train()


# ------------------------------------------------------------ non-finite steps
def poison(trainer, steps, where="loss"):
    """Make the given (1-based) steps' loss NaN, or their gradients inf."""
    calls = {"n": 0}
    forward = trainer._train_model.forward

    def bad_forward(**batch):
        calls["n"] += 1  # one micro-batch per step in these tests
        loss = forward(**batch)
        return loss * float("nan") if where == "loss" and calls["n"] in steps else loss

    trainer._train_model.forward = bad_forward
    if where == "grad":
        weight = trainer.model.bert.embeddings.word_embeddings.weight
        weight.register_hook(lambda g: torch.full_like(g, float("inf")) if calls["n"] in steps else g)


def test_nonfinite_steps_are_skipped_when_asked(tmp_path):
    clean, _ = setup(steps=8)
    clean.train()
    for where in ("loss", "grad"):
        trainer, _ = setup(tmp_path / where, steps=8, skip_nonfinite_steps=1, save_every=1)
        poison(trainer, {3, 6}, where)
        trainer.train(until=2)
        before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        trainer.train(until=3)
        for k, v in trainer.model.state_dict().items():  # step 3 changed no weight
            assert torch.equal(v, before[k]), k
        trainer.train()
        assert trainer.step == 8
        assert [r["step"] for r in trainer.history.skipped] == [3, 6]
        assert where in trainer.history.skipped[0]["reason"]
        # The schedule goes on as if the steps had run; AdamW counted only the 6 real updates.
        assert [r["lr"] for r in trainer.history.skipped] == [1e-3 * trainer.lr_factor(s - 1) for s in (3, 6)]
        assert [r["lr"] for r in trainer.history.train] == [r["lr"] for r in clean.history.train]
        assert {int(s["step"]) for s in trainer.optimizer.state.values()} == {6}
        assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
        assert BertForPreTraining.from_pretrained(tmp_path / where / "ckpt" / "checkpoint-8").training is False


def test_too_many_nonfinite_steps_in_a_row_stop_training(tmp_path):
    trainer, _ = setup(tmp_path, steps=10, skip_nonfinite_steps=2, save_every=1, keep_checkpoints=2)
    poison(trainer, {4, 5, 6, 7})
    with pytest.raises(FloatingPointError, match=r"loss nan at steps 4 to 6, more than skip_nonfinite_steps=2"):
        trainer.train()
    assert [r["step"] for r in trainer.history.skipped] == [4, 5]
    # The last checkpoints hold finite weights and resume where the run stopped.
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["checkpoint-4", "checkpoint-5"]
    again, _ = setup(tmp_path, steps=10, skip_nonfinite_steps=2, save_every=1, keep_checkpoints=2)
    assert again.load_checkpoint() and again.step == 5 and again._nonfinite.streak == 2


def test_without_skipping_the_first_nonfinite_step_stops(tmp_path):
    trainer, _ = setup(tmp_path, steps=6, save_every=1)
    poison(trainer, {3}, "grad")
    with pytest.raises(FloatingPointError, match=r"gradient norm (nan|inf) at step 3 \(lr=.*skip_nonfinite_steps"):
        trainer.train()
    assert trainer.step == 2 and all(torch.isfinite(p).all() for p in trainer.model.parameters())
    with pytest.raises(ValueError, match="skip_nonfinite_steps"):
        TrainingConfig(skip_nonfinite_steps=-1)


# ------------------------------------------------------ missing and unused keys
def save_models(tmp_path):
    tok = tiny_tokenizer()
    config = BertConfig.preset("test", vocab_size=tok.vocab_size)
    bertlib.set_seed(0)
    BertForPreTraining(config).save_pretrained(tmp_path / "pretraining", tokenizer=tok)
    bertlib.BertModel(config).save_pretrained(tmp_path / "encoder", tokenizer=tok)
    bertlib.BertForSequenceClassification(config).save_pretrained(tmp_path / "classifier")
    return config


TASK_MODELS = [
    bertlib.BertModel,
    bertlib.BertForSequenceClassification,
    bertlib.BertForTokenClassification,
    bertlib.BertForQuestionAnswering,
]


def test_ordinary_loads_do_not_warn(tmp_path):
    save_models(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for source in ("pretraining", "encoder"):  # the small BERT and MiniLM's layout, into each class
            for cls in TASK_MODELS:
                cls.from_pretrained(tmp_path / source, num_labels=3)
        BertForPreTraining.from_pretrained(tmp_path / "pretraining")
        for cls in TASK_MODELS:  # the real MiniLM (a bare encoder with a pooler)
            load_minilm(cls)
    assert [str(w.message) for w in caught] == []
    encoder = bertlib.BertModel.from_pretrained(tmp_path / "pretraining")
    assert encoder.loading_info["unexpected_keys"][0].startswith("cls.")  # recorded, not warned about


def test_unexpected_or_missing_keys_are_warned_about(tmp_path):
    save_models(tmp_path)
    with pytest.warns(CheckpointWarning, match=r"7 weights are not in the checkpoint .*: cls\.predictions\.bias"):
        BertForPreTraining.from_pretrained(tmp_path / "encoder")  # an MLM head left random
    with pytest.warns(CheckpointWarning, match=r"2 weights of the checkpoint are not used .*classifier\.bias"):
        bertlib.BertModel.from_pretrained(tmp_path / "classifier")  # a fine-tuned head dropped
    from safetensors.torch import load_file, save_file

    weights = tmp_path / "encoder" / "model.safetensors"
    save_file({**load_file(weights), **{f"adapter.{i:02d}": torch.zeros(1) for i in range(13)}}, weights)
    with pytest.warns(CheckpointWarning, match=r"13 weights .*adapter\.09 and 3 more\. Load it into"):
        bertlib.BertModel.from_pretrained(tmp_path / "encoder")
