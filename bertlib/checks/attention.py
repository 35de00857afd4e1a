"""Checks for self-attention: weights, masked attention, splitting heads, shuffled tokens."""

from __future__ import annotations

import torch

from ..attention import extended_attention_mask, scaled_dot_product_attention
from ..utils import seeded_generator
from .core import CheckFailure, compare, exercise

# Odd sizes on purpose: a transposed reshape that 4 x 4 would hide shows up here.
_CASES = [(1, 1, 4, 8), (2, 3, 5, 7), (3, 2, 1, 6)]  # (batch, heads, tokens, head size)


def _qkv(shape, seed):
    g = seeded_generator(seed)
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
        compare(
            "weights",
            got,
            want,
            case=f"q, k of shape {shape}",
            hint="Divide the scores by sqrt(d) (d = q.size(-1)) and take the softmax over the last axis (the keys).",
        )
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
        compare(
            "weights",
            got[1],
            want_w,
            case=f"shape {shape} with padding",
            hint="Padding keys must get weight 0: add a very negative number (torch.finfo(dtype).min) "
            "to their scores before the softmax; mask[:, None, None, :] broadcasts over heads and queries.",
        )
        compare(
            "output",
            got[0],
            want_out,
            case=f"shape {shape} with padding",
            hint="output = weights @ v.",
        )
    return "Padding tokens receive exactly zero attention."


@exercise("attention.split_heads", "Splitting the hidden size into heads", points=1)
def check_split_heads(fn) -> str:
    """fn(x, num_heads) -> (B, heads, T, H / heads) from x of shape (B, T, H)."""
    for B, T, H, nh in [(2, 5, 12, 3), (1, 7, 8, 2), (3, 1, 10, 5)]:
        x = torch.randn(B, T, H, generator=seeded_generator(H))
        want = x.view(B, T, nh, H // nh).transpose(1, 2)
        compare(
            "heads",
            fn(x, nh),
            want,
            case=f"x of shape {(B, T, H)}, {nh} heads",
            hint="view as (B, T, heads, head_size) first, then swap the T and heads axes; "
            "viewing straight to (B, heads, T, head_size) mixes tokens across heads.",
        )
    return "Each head sees every token, with its own slice of the features."


def attention_config(H: int, nh: int):
    """The smallest BertConfig around one attention block of width H with nh heads, no dropout."""
    from ..config import BertConfig

    return BertConfig(
        vocab_size=11,
        hidden_size=H,
        num_hidden_layers=1,
        num_attention_heads=nh,
        intermediate_size=H,
        attention_probs_dropout_prob=0.0,
    )


def _self_attention(config_seed: int, H: int, nh: int):
    """A BertSelfAttention with seeded random weights and no dropout (no position information)."""
    from ..attention import BertSelfAttention

    config = attention_config(H, nh)
    # Seeded weights without touching the reader's global random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config_seed)
        return BertSelfAttention(config).eval()


@exercise("attention.permutation", "Predict the outputs for shuffled tokens", points=1)
def check_shuffled_tokens(fn) -> str:
    """fn(out, perm) -> the self-attention outputs for the shuffled input ``x[:, perm]``.

    ``out`` (B, T, H) is self-attention applied to ``x``; ``perm`` (T,) reorders the
    tokens. The answer must come from ``out`` and ``perm`` alone, without running
    attention again.
    """
    # Permutations that are not their own inverse, so out[:, perm] and the inverse order differ.
    cases = [
        (1, 5, 8, 2, [2, 0, 4, 1, 3]),
        (2, 7, 12, 3, [3, 6, 0, 5, 1, 2, 4]),
        (3, 4, 6, 1, [1, 2, 3, 0]),
    ]
    for i, (B, T, H, nh, order) in enumerate(cases):
        perm = torch.tensor(order)
        x = torch.randn(B, T, H, generator=seeded_generator(40 + i))
        layer = _self_attention(i, H, nh)
        with torch.no_grad():
            out = layer(x)[0]
            want = layer(x[:, perm])[0]  # what attention really computes on the shuffled tokens
        got = fn(out.clone(), perm.clone())
        where = f"B={B}, T={T}, perm={perm.tolist()}"
        if isinstance(got, torch.Tensor) and got.shape == out.shape:
            if torch.allclose(got, out, atol=1e-5):
                raise CheckFailure(
                    f"({where}) You returned the outputs in their old order. Self-attention has no notion of "
                    "position: each token's output depends on the *set* of tokens, so when the tokens move, "
                    "their outputs move with them."
                )
            if torch.allclose(got, out[:, torch.argsort(perm)], atol=1e-5):
                raise CheckFailure(
                    f"({where}) You applied the inverse permutation. Position j of the shuffled input holds "
                    "token perm[j], so its output is out[:, perm[j]]."
                )
        compare(
            "outputs",
            got,
            want,
            case=where,
            hint="Reorder the outputs the way the tokens were reordered: index the token axis with perm.",
        )
    return (
        "Attention is permutation-equivariant: shuffle the tokens and the outputs shuffle the same way. "
        "That is why BERT adds position embeddings."
    )
