"""Encoder checks: LayerNorm, the pre-LN block, the parameter count.

Each check passes the right answer, fails a stub, and names the typical mistakes.
"""

import math

import torch
import torch.nn.functional as F

from bertlib import PRESETS, BertConfig, BertModel, checks
from bertlib.checks.encoder import _CONFIGS, _pieces


def stub(*args):
    raise NotImplementedError


# ----------------------------------------------------------------------------- LayerNorm
def good_layer_norm(x, weight, bias, eps):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps) * weight + bias


def test_layer_norm_passes_and_stub_fails():
    assert checks.check_layer_norm(good_layer_norm).passed
    assert checks.check_layer_norm(lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], w, b, eps)).passed
    r = checks.check_layer_norm(stub)
    assert not r and "Not implemented yet" in r.message


def test_layer_norm_mistakes_are_named():
    unbiased = checks.check_layer_norm(
        lambda x, w, b, eps: (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) * w + b
    )
    assert not unbiased and "unbiased variance" in unbiased.message
    no_affine = checks.check_layer_norm(lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], None, None, eps))
    assert not no_affine and "weight (gamma)" in no_affine.message
    batch_axis = checks.check_layer_norm(
        lambda x, w, b, eps: (
            (x - x.mean(0, keepdim=True)) / torch.sqrt(x.var(0, keepdim=True, unbiased=False) + eps) * w + b
        )
    )
    assert not batch_axis and "batch axis" in batch_axis.message
    no_eps = checks.check_layer_norm(
        lambda x, w, b, eps: (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True, unbiased=False) * w + b
    )
    assert not no_eps and "NaN" in no_eps.message and "eps" in no_eps.message
    eps_outside = checks.check_layer_norm(
        lambda x, w, b, eps: (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True, unbiased=False) + eps) * w + b
    )
    assert (
        not eps_outside
        and "largest difference" in eps_outside.message
        and "inside the square root" in eps_outside.message
    )


# ----------------------------------------------------------------------------- pre-LN block
def good_pre_ln(x, attention, ffn, norm1, norm2):
    h = x + attention(norm1(x))
    return h + ffn(norm2(h))


def test_pre_ln_block_passes_and_stub_fails():
    assert checks.check_pre_ln_block(good_pre_ln).passed
    assert not checks.check_pre_ln_block(stub)


def test_pre_ln_block_mistakes_are_named():
    def post_ln(x, attention, ffn, norm1, norm2):
        h = norm1(x + attention(x))
        return norm2(h + ffn(h))

    def no_residual(x, attention, ffn, norm1, norm2):
        return ffn(norm2(attention(norm1(x))))

    r = checks.check_pre_ln_block(post_ln)
    assert not r and "post-LN" in r.message
    r = checks.check_pre_ln_block(no_residual)
    assert not r and "residual connections are missing" in r.message
    r = checks.check_pre_ln_block(lambda x, a, f, n1, n2: good_pre_ln(x, a, f, n2, n1))
    assert not r and "swapped" in r.message
    r = checks.check_pre_ln_block(lambda x, a, f, n1, n2: x + a(n1(x)))  # forgot the FFN sub-layer
    assert not r and "largest difference" in r.message


# ----------------------------------------------------------------------------- parameter count
def good_count(c):
    H, inner, L = c.hidden_size, c.intermediate_size, c.num_hidden_layers
    embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * H + 2 * H
    layer = 4 * (H * H + H) + (H * inner + inner) + (inner * H + H) + 2 * 2 * H
    return embeddings + L * layer + H * H + H


def test_the_checks_reference_matches_bertmodel():
    for overrides in [*_CONFIGS, PRESETS["large"], PRESETS["test"]]:
        config = BertConfig(**overrides)
        with torch.device("meta"):
            assert sum(_pieces(config).values()) == BertModel(config).num_parameters()


def test_parameter_count_passes_and_stub_fails():
    r = checks.check_parameter_count(good_count)
    assert r.passed and r.points == 2
    assert not checks.check_parameter_count(stub)


def test_parameter_count_mistakes_are_named():
    no_pooler = checks.check_parameter_count(lambda c: good_count(c) - c.hidden_size**2 - c.hidden_size)
    assert not no_pooler and "pooler" in no_pooler.message
    no_ln = checks.check_parameter_count(lambda c: good_count(c) - 2 * c.hidden_size * (2 * c.num_hidden_layers + 1))
    assert not no_ln and "LayerNorms" in no_ln.message

    def ffn_4h(c):
        H, L = c.hidden_size, c.num_hidden_layers
        return good_count(c) - L * (2 * H * c.intermediate_size + c.intermediate_size) + L * (8 * H * H + 4 * H)

    r = checks.check_parameter_count(ffn_4h)
    assert not r and "intermediate_size" in r.message
    r = checks.check_parameter_count(lambda c: good_count(c) + 1)
    assert not r and "off by -1" in r.message
    r = checks.check_parameter_count(lambda c: "110M")
    assert not r and "Return a number" in r.message
    assert checks.check_parameter_count(lambda c: float(good_count(c))).passed
    assert not checks.check_parameter_count(lambda c: math.nan)
