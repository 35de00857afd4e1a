"""The pretraining checks accept the right answers and name the usual mistakes."""

import math

import torch
import torch.nn.functional as F

from bertlib import checks

IGNORE = -100


# ---------------------------------------------------------------- the summed loss
def loss_right(logits, labels, nsp_logits, nsp_labels):
    mlm = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE)
    return mlm + F.cross_entropy(nsp_logits, nsp_labels)


def loss_by_hand(logits, labels, nsp_logits, nsp_labels):
    sel = labels != IGNORE  # the same maths with log_softmax and a boolean mask
    mlm = -logits.log_softmax(-1)[sel].gather(-1, labels[sel][:, None]).mean()
    return mlm - nsp_logits.log_softmax(-1).gather(-1, nsp_labels[:, None]).mean()


def loss_stub(logits, labels, nsp_logits, nsp_labels):
    raise NotImplementedError("Exercise 8.1: your code here")


def loss_mlm_only(logits, labels, nsp_logits, nsp_labels):
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten())


def loss_mean_of_two(logits, labels, nsp_logits, nsp_labels):
    return loss_right(logits, labels, nsp_logits, nsp_labels) / 2


def loss_per_sentence(logits, labels, nsp_logits, nsp_labels):
    per = [
        F.cross_entropy(lg[lb != IGNORE], lb[lb != IGNORE])
        for lg, lb in zip(logits, labels, strict=True)
        if (lb != IGNORE).any()
    ]
    return torch.stack(per).mean() + F.cross_entropy(nsp_logits, nsp_labels)


def loss_double_softmax(logits, labels, nsp_logits, nsp_labels):
    return loss_right(logits.softmax(-1), labels, nsp_logits, nsp_labels)


def loss_item(logits, labels, nsp_logits, nsp_labels):
    return loss_right(logits, labels, nsp_logits, nsp_labels).item()


def test_loss_accepts_correct_answers():
    for fn in (loss_right, loss_by_hand):
        result = checks.check_pretraining_loss(fn)
        assert result.passed, result.message


def test_loss_names_each_mistake():
    expected = {
        loss_stub: "Not implemented yet",
        loss_mlm_only: "only the MLM loss",
        loss_mean_of_two: "mean of the two losses",
        loss_per_sentence: "averaged per sentence",
        loss_double_softmax: "softmax applied before cross_entropy",
        loss_item: "still has its gradient",
    }
    for fn, words in expected.items():
        result = checks.check_pretraining_loss(fn)
        assert not result.passed and words in result.message, (fn.__name__, result.message)


def test_loss_reports_a_wrong_shape_crash():
    result = checks.check_pretraining_loss(lambda lg, lb, n, y: F.cross_entropy(lg, lb) + F.cross_entropy(n, y))
    assert not result.passed and "raised" in result.message


# ---------------------------------------------------------------- the schedule
def lr_right(step, warmup_steps, total_steps):
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def lr_off_by_one(step, warmup_steps, total_steps):
    if step < warmup_steps:
        return step / warmup_steps
    return lr_right(step, warmup_steps, total_steps)


def lr_decay_over_total(step, warmup_steps, total_steps):
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(0.0, (total_steps - step) / total_steps)


def lr_negative(step, warmup_steps, total_steps):
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return (total_steps - step) / max(1, total_steps - warmup_steps)


def test_lr_schedule():
    assert checks.check_lr_schedule(lr_right).passed
    for fn, words in [
        (lr_off_by_one, "Off by one"),
        (lr_decay_over_total, "(total_steps - warmup_steps)"),
        (lr_negative, "not go negative"),
        (lambda s, w, t: 1.0, "Rise linearly"),
    ]:
        result = checks.check_lr_schedule(fn)
        assert not result.passed and words in result.message, result.message
    stub = checks.check_lr_schedule(lambda s, w, t: (_ for _ in ()).throw(NotImplementedError()))
    assert not stub.passed and "Not implemented" in stub.message


# ---------------------------------------------------------------- the first loss
def test_initial_loss_prediction():
    V = 1000
    good = checks.check_initial_loss(math.log(V) + math.log(2), V, measured=7.6)
    assert good.passed and "7.600" in good.message
    for guess, words in [
        (math.log(V), "MLM part only"),
        (math.log2(V) + 1, "natural logarithm"),
        (float(V), "count or a probability"),
        (5.0, "not it"),
    ]:
        result = checks.check_initial_loss(guess, V)
        assert not result.passed and words in result.message, result.message
    assert "shape" in checks.check_initial_loss(torch.ones(2), V).message
