"""Exercise checks: a correct answer passes, a stub or a wrong answer fails with a precise message."""

import json
import math

import torch

from bertlib import checks


def good_weights(q, k):
    return (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).softmax(-1)


def good_masked(q, k, v, mask):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    scores = scores.masked_fill(mask[:, None, None, :] == 0, torch.finfo(q.dtype).min)
    w = scores.softmax(-1)
    return w @ v, w


def stub(*args):
    raise NotImplementedError


def test_correct_answers_pass():
    assert checks.check_attention_weights(good_weights).passed
    assert checks.check_masked_attention(good_masked).passed
    assert checks.check_split_heads(lambda x, nh: x.view(x.size(0), x.size(1), nh, -1).transpose(1, 2)).passed


def test_stub_fails_and_says_so():
    r = checks.check_attention_weights(stub)
    assert not r and r.points == 0 and "Not implemented yet" in r.message


def test_wrong_answers_are_explained():
    unscaled = checks.check_attention_weights(lambda q, k: (q @ k.transpose(-2, -1)).softmax(-1))
    assert not unscaled and "largest difference" in unscaled.message and "sqrt(d)" in unscaled.message
    wrong_axis = checks.check_attention_weights(lambda q, k: good_weights(q, k).transpose(-2, -1))
    assert not wrong_axis
    unmasked = checks.check_masked_attention(lambda q, k, v, m: good_masked(q, k, v, torch.ones_like(m)))
    assert not unmasked and "Padding keys must get weight 0" in unmasked.message
    naive = checks.check_split_heads(lambda x, nh: x.view(x.size(0), nh, x.size(1), -1))
    assert not naive and "mixes tokens" in naive.message
    crash = checks.check_split_heads(lambda x, nh: x.foo())
    assert not crash and "AttributeError" in crash.message
    shape = checks.check_masked_attention(lambda q, k, v, m: (v, good_masked(q, k, v, m)[1][..., :-1]))
    assert not shape and "shape" in shape.message


def test_results_are_recorded_for_the_autograder(tmp_path, monkeypatch):
    log = tmp_path / "grades.jsonl"
    monkeypatch.setenv("BERTLIB_GRADE_FILE", str(log))
    checks.check_attention_weights(good_weights)
    checks.check_split_heads(stub)
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["exercise"], r["passed"]) for r in rows] == [
        ("attention.weights", True),
        ("attention.split_heads", False),
    ]
    assert rows[0]["points"] == rows[0]["max_points"] == 1


def test_html_display():
    html = checks.check_attention_weights(stub)._repr_html_()
    assert "attention.weights" in html and "0/1" in html
