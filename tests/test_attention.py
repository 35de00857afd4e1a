"""Self-attention: the additive padding mask, the explicit formula, the two paths (bertlib.attention)."""

import math

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertModel
from bertlib.attention import BertSelfAttention, extended_attention_mask, scaled_dot_product_attention
from tests.helpers import model_and_batch


def test_eager_and_sdpa_paths_agree_in_training_mode_without_dropout():
    torch.manual_seed(0)
    config = BertConfig.preset("test")
    model = BertModel(config).train()
    ids = torch.randint(5, config.vocab_size, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    sdpa = model(ids, attention_mask=mask).last_hidden_state
    eager = model(ids, attention_mask=mask, output_attentions=True).last_hidden_state
    torch.testing.assert_close(sdpa, eager, atol=1e-5, rtol=0)


def test_attention_mask_must_be_zero_or_one():
    model, ids = model_and_batch()
    with pytest.raises(ValueError, match="attention_mask holds 2"):
        model(ids, attention_mask=torch.tensor([[1, 1, 2, 1, 1]]))


def test_the_additive_mask_zeroes_padding_keys_exactly():
    mask = extended_attention_mask(torch.tensor([[1, 1, 0]]), torch.float32)
    assert mask.shape == (1, 1, 1, 3)
    assert mask[0, 0, 0, :2].tolist() == [0.0, 0.0] and mask[0, 0, 0, 2] == torch.finfo(torch.float32).min
    q = k = v = torch.randn(1, 2, 3, 4, generator=bertlib.seeded_generator(0))
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert torch.equal(weights[..., 2], torch.zeros(1, 2, 3))  # no weight at all on the padded key
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 2, 3))
    torch.testing.assert_close(out, weights @ v)


def test_the_explicit_path_is_the_formula():
    g = bertlib.seeded_generator(1)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=g) for _ in range(3))
    out, weights = scaled_dot_product_attention(q, k, v)
    by_hand = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(4), dim=-1)
    torch.testing.assert_close(weights, by_hand)
    torch.testing.assert_close(out, by_hand @ v)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_self_attention_splits_heads_and_masks_padding(attn):
    torch.manual_seed(2)
    config = BertConfig.preset("test", attn_implementation=attn)
    layer = BertSelfAttention(config).eval()
    x = torch.randn(2, 6, config.hidden_size, generator=bertlib.seeded_generator(3))
    mask = extended_attention_mask(torch.tensor([[1] * 6, [1] * 4 + [0] * 2]), x.dtype)
    out, weights = layer(x, mask)
    assert out.shape == x.shape and (weights is None) == (attn == "sdpa")
    changed = x.clone()
    changed[1, 4:] = 100.0  # padding may hold anything: real tokens do not see it
    torch.testing.assert_close(layer(changed, mask)[0][1, :4], out[1, :4])
