"""NSP checks: the right answer passes; a stub and the usual mistakes fail with a precise message."""

import math

import torch

import bertlib
from bertlib import checks
from tests.helpers import SENTENCES, tiny_tokenizer


def stub(*args):
    raise NotImplementedError


def good_segments(ids, sep, mask):
    is_sep = (ids == sep).long()
    return ((is_sep.cumsum(-1) - is_sep >= 1) & mask.bool()).long()


def good_head(hidden, dense, clf):
    return clf(torch.tanh(dense(hidden[:, 0])))


def test_correct_answers_pass():
    assert checks.check_segment_ids(good_segments).passed
    assert checks.check_nsp_head(good_head).passed
    assert checks.check_nsp_loss_predictions(math.log(2), -(math.log(0.9) + math.log(0.1)) / 2).passed


def test_reference_segment_ids_agree_with_the_tokenizer():
    tok = tiny_tokenizer()
    batch = tok(SENTENCES[:4], SENTENCES[4:], padding="longest")
    got = good_segments(batch["input_ids"], tok.sep_token_id, batch["attention_mask"])
    assert torch.equal(got, batch["token_type_ids"])


def test_reference_head_agrees_with_bertlib():
    torch.manual_seed(0)
    model = bertlib.BertForPreTraining(bertlib.BertConfig.preset("test")).eval()
    ids = torch.randint(5, 101, (3, 6))
    with torch.no_grad():
        out = model(ids)
        got = good_head(out.last_hidden_state, model.bert.pooler.dense, model.cls.seq_relationship)
    torch.testing.assert_close(got, out.seq_relationship_logits)


def test_stubs_fail():
    for check in (checks.check_segment_ids, checks.check_nsp_head):
        r = check(stub)
        assert not r and r.points == 0 and "Not implemented yet" in r.message


def test_segment_mistakes_are_named():
    def inclusive(ids, sep, mask):  # counts the [SEP] at the position itself
        return (((ids == sep).long().cumsum(-1) >= 1) & mask.bool()).long() * ((ids == sep).long().cumsum(-1) < 3)

    def pads_are_one(ids, sep, mask):
        is_sep = (ids == sep).long()
        seg = (is_sep.cumsum(-1) - is_sep >= 1).long()
        return seg

    r = checks.check_segment_ids(inclusive)
    assert not r and "first [SEP] got segment 1" in r.message
    r = checks.check_segment_ids(pads_are_one)
    assert not r and "Padding got segment 1" in r.message
    r = checks.check_segment_ids(lambda ids, sep, mask: good_segments(ids, sep, mask).bool())
    assert not r and "torch.long" in r.message
    r = checks.check_segment_ids(lambda ids, sep, mask: torch.zeros_like(ids))
    assert not r and "largest difference" in r.message


def test_head_mistakes_are_named():
    r = checks.check_nsp_head(lambda h, d, c: c(d(h[:, 0])))
    assert not r and "tanh" in r.message
    r = checks.check_nsp_head(lambda h, d, c: c(h[:, 0]))
    assert not r and "pooler" in r.message
    r = checks.check_nsp_head(lambda h, d, c: c(torch.tanh(d(h.mean(1)))))
    assert not r and "[CLS] vector, position 0" in r.message
    r = checks.check_nsp_head(lambda h, d, c: good_head(h, d, c).softmax(-1))
    assert not r and "probabilities" in r.message
    r = checks.check_nsp_head(lambda h, d, c: good_head(h, d, c)[:, :1])
    assert not r and "shape" in r.message


def test_loss_predictions_are_explained():
    r = checks.check_nsp_loss_predictions(0.5, 1.2)
    assert not r and "accuracy of a coin flip" in r.message
    r = checks.check_nsp_loss_predictions(1.0, 1.2)
    assert not r and "natural log" in r.message
    r = checks.check_nsp_loss_predictions(math.log(2), -math.log(0.9))
    assert not r and "only the IsNext half" in r.message
    r = checks.check_nsp_loss_predictions(None, None)
    assert not r and "None" in r.message
