"""Metrics of one batch, chosen by the output class of the head (bertlib.metrics)."""

import torch

from bertlib import (
    BertForPreTrainingOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from bertlib.metrics import batch_metrics

IDS = torch.zeros(2, 4, dtype=torch.long)  # only the batch size is read


def test_pretraining_counts_masked_hits_and_nsp_hits():
    out = BertForPreTrainingOutput(
        loss=torch.tensor(3.0),
        mlm_loss=torch.tensor(2.0),
        nsp_loss=torch.tensor(1.0),
        masked_logits=torch.tensor([[0.0, 5.0, 0.0], [5.0, 0.0, 0.0], [0.0, 0.0, 5.0]]),  # predicts 1, 0, 2
        masked_labels=torch.tensor([1, 2, 2]),
        seq_relationship_logits=torch.tensor([[2.0, 0.0], [2.0, 0.0]]),  # IsNext twice
    )
    m = batch_metrics(out, {"input_ids": IDS, "next_sentence_label": torch.tensor([0, 1])})
    assert m == {
        "loss": (6.0, 2),
        "mlm_loss": (4.0, 2),
        "nsp_loss": (2.0, 2),
        "mlm_accuracy": (2.0, 3),
        "nsp_accuracy": (1.0, 2),
    }


def test_pretraining_with_every_position_scored_counts_the_labelled_ones():
    logits = torch.zeros(2, 4, 3)
    logits[0, 1, 2] = logits[1, 2, 1] = 5.0
    labels = torch.full((2, 4), -100)
    labels[0, 1], labels[1, 2], labels[1, 3] = 2, 0, 0
    m = batch_metrics(BertForPreTrainingOutput(prediction_logits=logits), {"input_ids": IDS, "labels": labels})
    assert m == {"mlm_accuracy": (2.0, 3)}  # hits at [0, 1] and at [1, 3] (argmax 0 of a zero row)


def test_classification_tagging_and_spans():
    seq = SequenceClassifierOutput(logits=torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    assert batch_metrics(seq, {"input_ids": IDS, "labels": torch.tensor([1, 1])}) == {"accuracy": (1.0, 2)}
    regression = SequenceClassifierOutput(logits=torch.tensor([[0.3], [0.9]]))
    assert batch_metrics(regression, {"input_ids": IDS, "labels": torch.tensor([0.2, 1.0])}) == {}
    tags = TokenClassifierOutput(logits=torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]))
    labels = torch.tensor([[0, 0], [1, -100]])
    assert batch_metrics(tags, {"input_ids": IDS, "labels": labels}) == {"accuracy": (2.0, 3)}
    spans = QuestionAnsweringModelOutput(
        start_logits=torch.tensor([[0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]]),
        end_logits=torch.tensor([[0.0, 0.0, 3.0, 0.0], [0.0, 0.0, 3.0, 0.0]]),
    )
    batch = {"input_ids": IDS, "start_positions": torch.tensor([1, 2]), "end_positions": torch.tensor([2, 3])}
    assert batch_metrics(spans, batch) == {"exact_match": (1.0, 2)}


def test_another_output_class_reports_its_loss_only():
    class Custom:
        loss = torch.tensor(0.5)
        logits = torch.tensor([[0.0, 1.0], [1.0, 0.0]])

    assert batch_metrics(Custom(), {"input_ids": IDS, "labels": torch.tensor([1, 0])}) == {"loss": (1.0, 2)}
