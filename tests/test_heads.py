"""The pretraining heads: MLM at the labelled positions, NSP, their losses (bertlib.heads)."""

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertForPreTraining
from tests.helpers import model_and_batch


def test_labels_are_checked_and_an_empty_mask_gives_zero_loss():
    model, ids = model_and_batch()
    with pytest.raises(ValueError, match="MLM label 500"):
        model(ids, labels=torch.tensor([[-100, 500, -100, -100, -100]]))
    with pytest.raises(ValueError, match="NSP label 3"):
        model(ids, labels=torch.full_like(ids, -100), next_sentence_label=torch.tensor([3]))
    for logits_at in ("masked", "all"):
        for mode in (model.eval, model.train):
            mode()
            loss = model(ids, labels=torch.full_like(ids, -100), logits_at=logits_at).mlm_loss
            assert loss.item() == 0.0 and torch.isfinite(loss)
    tagger = bertlib.BertForTokenClassification(BertConfig.preset("test", num_labels=3))
    with pytest.raises(ValueError, match="Label 7"):
        tagger(ids, labels=torch.tensor([[-100, 7, 0, 1, -100]]))
    assert tagger(ids, labels=torch.full_like(ids, -100)).loss.item() == 0.0
    regressor = bertlib.BertForSequenceClassification(BertConfig.preset("test", num_labels=1))
    with pytest.raises(ValueError, match="one label per example"):
        regressor(ids.repeat(2, 1), labels=torch.zeros(2, 2))


def test_masked_logits_are_the_full_logits_at_the_labelled_positions():
    torch.manual_seed(4)
    config = BertConfig.preset("test")
    model = BertForPreTraining(config).eval()
    ids = torch.randint(5, config.vocab_size, (2, 7), generator=bertlib.seeded_generator(5))
    labels = torch.full_like(ids, -100)
    labels[0, [1, 5]] = ids[0, [1, 5]]
    labels[1, 3] = ids[1, 3]
    with torch.no_grad():
        fast = model(ids, labels=labels)
        full = model(ids, labels=labels, logits_at="all")
    assert fast.prediction_logits is None and fast.masked_logits.shape == (3, config.vocab_size)
    torch.testing.assert_close(fast.masked_logits, full.prediction_logits[labels != -100])
    assert fast.masked_labels.tolist() == ids[labels != -100].tolist()
    torch.testing.assert_close(fast.mlm_loss, full.mlm_loss)


def test_the_decoder_is_the_word_embedding_matrix():
    model = BertForPreTraining(BertConfig.preset("test"))
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    with torch.no_grad():
        model.bert.embeddings.word_embeddings.weight[7] += 1.0  # moves the output row with it
    assert torch.equal(model.cls.predictions.decoder.weight[7], model.bert.embeddings.word_embeddings.weight[7])
