"""Masking checks: the right answer passes; a stub and the usual mistakes fail with a precise message."""

import torch
import torch.nn.functional as F

from bertlib import checks


def stub(*args):
    raise NotImplementedError


def good_loss(logits, labels):
    sel = labels != -100
    return -logits.log_softmax(-1)[sel].gather(-1, labels[sel][:, None]).mean()


def good_corruption(input_ids, selected, u, random_ids, mask_token_id):
    inputs = input_ids.clone()
    inputs[selected & (u < 0.8)] = mask_token_id
    swap = selected & (u >= 0.8) & (u < 0.9)
    inputs[swap] = random_ids[swap]
    return inputs, torch.where(selected, input_ids, torch.full_like(input_ids, -100))


def test_correct_answers_pass():
    assert checks.check_mlm_loss(good_loss).passed
    assert checks.check_mlm_loss(
        lambda lg, lb: F.cross_entropy(lg.flatten(0, 1), lb.flatten(), ignore_index=-100)
    ).passed
    assert checks.check_bert_corruption(good_corruption).passed
    assert checks.check_corruption_rates(
        {"mask": 0.12, "random": 0.015, "unchanged": 0.015, "not_selected": 0.85}
    ).passed


def test_stubs_fail():
    for check in (checks.check_mlm_loss, checks.check_bert_corruption):
        r = check(stub)
        assert not r and r.points == 0 and "Not implemented yet" in r.message


def test_mlm_loss_mistakes_are_named():
    def over_all_positions(lg, lb):  # -100 clamped to token 0 and averaged in
        return -lg.log_softmax(-1).gather(-1, lb.clamp(min=0)[..., None]).mean()

    def divided_by_all(lg, lb):
        sel = (lb != -100).float()
        per = -lg.log_softmax(-1).gather(-1, lb.clamp(min=0)[..., None])[..., 0]
        return (per * sel).sum() / lb.numel()

    r = checks.check_mlm_loss(over_all_positions)
    assert not r and "-100 count in your loss" in r.message
    r = checks.check_mlm_loss(divided_by_all)
    assert not r and "divide by the number of selected positions" in r.message
    r = checks.check_mlm_loss(lambda lg, lb: good_loss(lg, lb) * (lb != -100).sum())
    assert not r and "sum of the per-position losses" in r.message
    r = checks.check_mlm_loss(lambda lg, lb: -lg.log_softmax(-1).gather(-1, lb.clamp(min=0)[..., None])[..., 0])
    assert not r and "Return one number" in r.message
    r = checks.check_mlm_loss(lambda lg, lb: good_loss(lg.transpose(0, 1).reshape(lg.shape), lb))
    assert not r and "largest difference" in r.message


def test_corruption_mistakes_are_named():
    def labels_from_inputs(ids, sel, u, rnd, m):
        inputs, _ = good_corruption(ids, sel, u, rnd, m)
        return inputs, torch.where(sel, inputs, torch.full_like(ids, -100))

    def everywhere(ids, sel, u, rnd, m):  # forgets `selected` when corrupting
        return good_corruption(ids, torch.ones_like(sel), u, rnd, m)[0], good_corruption(ids, sel, u, rnd, m)[1]

    def swapped_thresholds(ids, sel, u, rnd, m):  # u <= 0.8 instead of u < 0.8
        inputs = ids.clone()
        inputs[sel & (u <= 0.8)] = m
        swap = sel & (u > 0.8) & (u <= 0.9)
        inputs[swap] = rnd[swap]
        return inputs, good_corruption(ids, sel, u, rnd, m)[1]

    r = checks.check_bert_corruption(labels_from_inputs)
    assert not r and "original tokens" in r.message
    r = checks.check_bert_corruption(everywhere)
    assert not r and "not selected changed" in r.message
    r = checks.check_bert_corruption(lambda ids, sel, u, rnd, m: (ids, good_corruption(ids, sel, u, rnd, m)[1]))
    assert not r and "nothing changed" in r.message
    r = checks.check_bert_corruption(swapped_thresholds)
    assert not r and "largest difference" in r.message and "u < 0.8" in r.message
    r = checks.check_bert_corruption(
        lambda ids, sel, u, rnd, m: (good_corruption(ids, sel, u, rnd, m)[0], ids.masked_fill(~sel, 0))
    )
    assert not r and "must hold -100" in r.message


def test_rate_predictions_are_explained():
    r = checks.check_corruption_rates({"mask": 0.8, "random": 0.1, "unchanged": 0.1, "not_selected": 0.85})
    assert not r and "multiply each share by 0.15" in r.message
    r = checks.check_corruption_rates({"mask": None, "random": None, "unchanged": None, "not_selected": None})
    assert not r and "None" in r.message
    r = checks.check_corruption_rates({"mask": 0.12, "random": 0.03, "unchanged": 0.0, "not_selected": 0.85})
    assert not r and "'random'" in r.message
    r = checks.check_corruption_rates({"mask": 0.12, "random": 0.015})
    assert not r and "Missing keys" in r.message
    r = checks.check_corruption_rates({"mask": 0.15, "random": 0.015, "unchanged": 0.015, "not_selected": 0.85})
    assert not r and "add up to" in r.message
