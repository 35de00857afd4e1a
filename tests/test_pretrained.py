"""The cached small BERT: trained once per recipe, loaded after that, retrained when damaged."""

import dataclasses
import json

import pytest
import torch

import bertlib
from bertlib import pretrained
from bertlib.pretrained import (
    SmallBertRecipe,
    load_small_bert,
    load_small_bert_history,
    small_bert_path,
)

# The cached model's pipeline at toy size: a few documents, the odd-sized "test" preset, three steps.
TINY = SmallBertRecipe(
    n_documents=40,
    held_out_fraction=0.2,
    vocab_size=150,
    preset="test",
    max_length=32,
    steps=3,
    batch_size=4,
    warmup_steps=1,
)


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_same_recipe_same_weights_and_a_history():
    a, tok_a, hist_a = pretrained.pretrain_small_bert(TINY, progress=False, device="cpu")
    b, tok_b, hist_b = pretrained.pretrain_small_bert(TINY, progress=False, device="cpu")
    assert_same_weights(a, b)
    assert tok_a.get_vocab() == tok_b.get_vocab()
    assert hist_a.train == hist_b.train and hist_a.eval == hist_b.eval
    assert {"mlm_accuracy", "nsp_accuracy"} <= set(hist_a.final)
    assert not a.training and a.config.vocab_size == tok_a.vocab_size


def test_first_call_trains_and_caches_then_loads_without_training(tmp_path, monkeypatch):
    model, tok = load_small_bert(cache_dir=tmp_path, progress=False, recipe=TINY)
    folder = small_bert_path(TINY, tmp_path)
    assert {p.name for p in folder.iterdir()} == {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "recipe.json",
        "history.json",
    }
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and "tmp" in p.name] == []
    assert json.loads((folder / "recipe.json").read_text()) == dataclasses.asdict(TINY)

    def no_training(*args, **kwargs):
        raise AssertionError("a cache hit must not train")

    monkeypatch.setattr(pretrained, "pretrain_small_bert", no_training)
    again, tok_again = load_small_bert(cache_dir=tmp_path, progress=False, recipe=TINY)
    assert_same_weights(model, again)
    assert tok_again.get_vocab() == tok.get_vocab()
    assert isinstance(again, bertlib.BertForPreTraining) and not again.training
    assert load_small_bert_history(tmp_path, TINY).final == load_small_bert_history(tmp_path, TINY).final != {}


def test_the_cache_root_comes_from_bertlib_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTLIB_CACHE", str(tmp_path / "elsewhere"))
    path = small_bert_path(TINY)
    assert path.parent == tmp_path / "elsewhere"
    assert len(path.name) == len("small-bert-") + 10
    # a different recipe lives in a different folder; the same recipe always in the same one
    assert small_bert_path(dataclasses.replace(TINY, steps=4)) != path == small_bert_path(TINY)


@pytest.mark.parametrize("damage", ["truncate weights", "delete tokenizer", "other recipe"])
def test_a_damaged_cache_is_trained_again(tmp_path, monkeypatch, damage):
    model, _ = load_small_bert(cache_dir=tmp_path, progress=False, recipe=TINY)
    folder = small_bert_path(TINY, tmp_path)
    if damage == "truncate weights":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "delete tokenizer":
        (folder / "tokenizer.json").unlink()
    else:
        (folder / "recipe.json").write_text(json.dumps(dataclasses.asdict(dataclasses.replace(TINY, lr=0.1))))
    calls = []
    real = pretrained.pretrain_small_bert
    monkeypatch.setattr(pretrained, "pretrain_small_bert", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.warns(UserWarning, match="unreadable.*training it again"):
        again, _ = load_small_bert(cache_dir=tmp_path, progress=False, recipe=TINY)
    assert calls == [1]
    assert_same_weights(model, again)  # deterministic: the retrained model is the one that was lost
    load_small_bert(cache_dir=tmp_path, progress=False, recipe=TINY)  # and the repaired cache loads
    assert calls == [1]


def test_history_before_the_model_is_cached_is_a_clear_error(tmp_path):
    with pytest.raises(bertlib.CheckpointError, match="load_small_bert"):
        load_small_bert_history(tmp_path, TINY)


def test_the_cache_name_follows_the_code_that_decides_the_weights(tmp_path):
    """Another checkout's training code never hands out this checkout's cached model (issue 12)."""
    import shutil
    from pathlib import Path

    from bertlib.code_fingerprint import code_fingerprint, weight_modules

    modules = weight_modules()
    assert {"pretrained", "code_fingerprint", "model", "heads", "training", "tokenization", "wordpiece", "data"} <= set(
        modules
    )
    assert "checks" not in modules and "grading" not in modules  # exercises and tooling do not decide weights

    copy = tmp_path / "bertlib"
    shutil.copytree(Path(pretrained.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_fingerprint(copy)
    assert before == code_fingerprint(Path(pretrained.__file__).parent)

    model = copy / "model.py"
    source = model.read_text(encoding="utf-8")
    model.write_text(source.replace('"""', '"""Edited docs. ', 1) + "\n# a comment\n", encoding="utf-8")
    code_fingerprint.cache_clear()
    assert code_fingerprint(copy) == before, "docs and comments must not retrain the model"

    model.write_text(source + "\nEXTRA = 1\n", encoding="utf-8")
    code_fingerprint.cache_clear()
    assert code_fingerprint(copy) != before, "a change to the code must give a new cache folder"
