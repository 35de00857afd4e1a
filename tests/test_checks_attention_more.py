"""The shuffled-tokens check: the right answer passes; a stub and the usual mistakes fail, and say why."""

import torch

from bertlib import checks


def stub(*args):
    raise NotImplementedError


def test_permuted_outputs_pass():
    r = checks.check_shuffled_tokens(lambda out, perm: out[:, perm])
    assert r.passed and "position embeddings" in r.message


def test_stub_fails():
    r = checks.check_shuffled_tokens(stub)
    assert not r and "Not implemented yet" in r.message


def test_unchanged_order_is_explained():
    r = checks.check_shuffled_tokens(lambda out, perm: out)
    assert not r and "old order" in r.message and "no notion of position" in r.message


def test_inverse_permutation_is_explained():
    r = checks.check_shuffled_tokens(lambda out, perm: out[:, torch.argsort(perm)])
    assert not r and "inverse permutation" in r.message


def test_wrong_axis_reports_the_difference():
    # Shuffling the features instead of the tokens: a plain numerical mismatch, with the hint.
    r = checks.check_shuffled_tokens(lambda out, perm: out[..., : len(perm)].flip(-1))
    assert not r and ("shape" in r.message or "largest difference" in r.message)
    r = checks.check_shuffled_tokens(lambda out, perm: out.flip(1))
    assert not r and "largest difference" in r.message and "index the token axis with perm" in r.message


def test_check_leaves_the_global_seed_alone():
    torch.manual_seed(123)
    a = torch.rand(3)
    torch.manual_seed(123)
    checks.check_shuffled_tokens(lambda out, perm: out[:, perm])
    assert torch.equal(torch.rand(3), a)
