"""The kinds of fine-tuning task, declared once (bertlib.task_kinds)."""

import pytest
import torch

import bertlib
from bertlib.finetuning import encode, predict
from bertlib.task_kinds import TASK_KINDS, align_word_tags, kind_of_output, task_kind
from bertlib.tasks import load_task


def test_every_kind_names_its_model_and_output_class():
    assert set(TASK_KINDS) == {"sequence", "pair", "token", "span"}
    for name, kind in TASK_KINDS.items():
        assert kind.name == name
        model = kind.model_class(bertlib.BertConfig.preset("test", num_labels=3)).eval()
        out = model(torch.tensor([[2, 7, 3]]))
        assert isinstance(out, kind.output_class) and kind_of_output(out).model_class is kind.model_class
    assert TASK_KINDS["pair"].has_text_pair and not TASK_KINDS["sequence"].has_text_pair


def test_an_unknown_kind_or_output_is_named():
    with pytest.raises(ValueError, match="unknown task kind 'summary'"):
        task_kind("summary")
    with pytest.raises(TypeError, match="not the output of a task model"):
        kind_of_output(bertlib.BertForPreTrainingOutput())


def test_align_word_tags_labels_the_first_piece_of_each_word():
    assert align_word_tags([None, 0, 1, 1, 2, None, None], [3, 0, 5]) == [-100, 3, 0, -100, 5, -100, -100]


@pytest.mark.parametrize("name", ["sentiment", "nli", "entities", "qa"])
def test_predict_reads_each_kind_back(name):
    task = load_task(name, seed=0)
    tokenizer = bertlib.train_tokenizer([e.text + " " + (e.text_pair or "") for e in task.train[:200]], vocab_size=1000)
    data = encode(task.test[:6], task, tokenizer, max_length=256)
    kind = task_kind(task.kind)
    config = bertlib.BertConfig.preset(
        "test", vocab_size=tokenizer.vocab_size, num_labels=max(len(task.labels), 1), max_position_embeddings=256
    )
    torch.manual_seed(0)
    out = predict(kind.model_class(config), data)
    if task.kind == "span":
        assert out["starts"].shape == (6,) and len(out["answers"]) == 6
        assert bool((out["starts"] <= out["ends"]).all())
    else:
        assert out["predictions"].shape == out["labels"].shape
    if task.kind == "token":
        assert len(out["word_predictions"]) == 6
