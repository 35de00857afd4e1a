"""The fine-tuning heads and their output classes (bertlib.task_heads)."""

import pytest
import torch

import bertlib
from bertlib import BertConfig


def test_labels_out_of_range_for_a_task_head():
    model = bertlib.BertForSequenceClassification(BertConfig.preset("test", num_labels=2))
    with pytest.raises(ValueError, match="num_labels=2"):
        model(torch.tensor([[2, 7, 3]]), labels=torch.tensor([4]))


@pytest.mark.parametrize(
    "model_class, output_class, fields",
    [
        (bertlib.BertForSequenceClassification, bertlib.SequenceClassifierOutput, {"logits": (2, 3)}),
        (bertlib.BertForTokenClassification, bertlib.TokenClassifierOutput, {"logits": (2, 5, 3)}),
        (
            bertlib.BertForQuestionAnswering,
            bertlib.QuestionAnsweringModelOutput,
            {"start_logits": (2, 5), "end_logits": (2, 5)},
        ),
    ],
)
def test_each_head_returns_its_own_output_class(model_class, output_class, fields):
    """Hugging Face's class and field names: code written for transformers reads ours unchanged."""
    model = model_class(BertConfig.preset("test", num_labels=3)).eval()
    out = model(
        torch.tensor([[2, 7, 8, 9, 3], [2, 10, 11, 3, 0]]), attention_mask=torch.tensor([[1] * 5, [1] * 4 + [0]])
    )
    assert type(out) is output_class
    assert {name: tuple(getattr(out, name).shape) for name in fields} == fields
    assert out.loss is None and out.last_hidden_state.shape == (2, 5, 24)
