"""Checks for the self-attention chapter: weights, masked attention, splitting heads."""

from __future__ import annotations

import torch

from ..model import extended_attention_mask, scaled_dot_product_attention
from ..utils import generator
from .core import CheckFailure, compare, exercise

# Odd sizes on purpose: a transposed reshape that 4 x 4 would hide shows up here.
_CASES = [(1, 1, 4, 8), (2, 3, 5, 7), (3, 2, 1, 6)]  # (batch, heads, tokens, head size)


def _qkv(shape, seed):
    g = generator(seed)
    return [torch.randn(*shape, generator=g) for _ in range(3)]


def _padding_mask(B, T):
    lengths = [max(1, T - i) for i in range(B)]  # first example full, later ones padded
    return torch.tensor([[1] * n + [0] * (T - n) for n in lengths])


@exercise("attention.weights", "Scaled dot-product attention weights", points=1)
def check_attention_weights(fn) -> str:
    """fn(q, k) -> softmax(q kᵀ / √d) of shape (..., T, T)."""
    for i, shape in enumerate(_CASES):
        q, k, v = _qkv(shape, i)
        _, want = scaled_dot_product_attention(q, k, v)
        got = fn(q, k)
        compare("weights", got, want, case=f"q, k of shape {shape}",
                hint="Divide the scores by sqrt(d) (d = q.size(-1)) and take the softmax over the last axis (the keys).")
    return "Each row is a probability distribution over the keys."


@exercise("attention.masked", "Attention with a padding mask", points=2)
def check_masked_attention(fn) -> str:
    """fn(q, k, v, attention_mask) -> (output, weights); attention_mask is (B, T) with 0 for padding."""
    for i, shape in enumerate(_CASES):
        q, k, v = _qkv(shape, 10 + i)
        mask = _padding_mask(shape[0], shape[2])
        want_out, want_w = scaled_dot_product_attention(q, k, v, extended_attention_mask(mask, q.dtype))
        got = fn(q, k, v, mask)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise CheckFailure("Return a tuple (output, weights).")
        compare("weights", got[1], want_w, case=f"shape {shape} with padding",
                hint="Padding keys must get weight 0: add a very negative number (torch.finfo(dtype).min) "
                     "to their scores before the softmax; mask[:, None, None, :] broadcasts over heads and queries.")
        compare("output", got[0], want_out, case=f"shape {shape} with padding", hint="output = weights @ v.")
    return "Padding tokens receive exactly zero attention."


@exercise("attention.split_heads", "Splitting the hidden size into heads", points=1)
def check_split_heads(fn) -> str:
    """fn(x, num_heads) -> (B, heads, T, H / heads) from x of shape (B, T, H)."""
    for B, T, H, nh in [(2, 5, 12, 3), (1, 7, 8, 2), (3, 1, 10, 5)]:
        x = torch.randn(B, T, H, generator=generator(H))
        want = x.view(B, T, nh, H // nh).transpose(1, 2)
        compare("heads", fn(x, nh), want, case=f"x of shape {(B, T, H)}, {nh} heads",
                hint="view as (B, T, heads, head_size) first, then swap the T and heads axes; "
                     "viewing straight to (B, heads, T, head_size) mixes tokens across heads.")
    return "Each head sees every token, with its own slice of the features."
