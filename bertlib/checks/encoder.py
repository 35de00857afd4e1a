"""Checks for the Transformer encoder: LayerNorm, the pre-LN block, the parameter count."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..attention import BertSelfAttention
from ..config import PRESETS, BertConfig
from ..model import BertModel
from ..utils import seeded_generator
from .attention import attention_config
from .core import CheckFailure, compare, exercise


def _close(got, want: torch.Tensor, atol: float = 1e-5) -> bool:
    """True when ``got`` is a tensor of ``want``'s shape within ``atol`` (NaN never matches)."""
    return (
        isinstance(got, torch.Tensor)
        and got.shape == want.shape
        and bool(torch.allclose(got.detach().double(), want.double(), atol=atol))
    )


# ----------------------------------------------------------------------------- LayerNorm
def _layer_norm_cases():
    """(x, weight, bias, eps): odd widths, one token, a row of zeros and a row of tiny variance."""
    g = seeded_generator(7)
    out = []
    for shape, eps in [((2, 5, 7), 1e-12), ((3, 1, 6), 1e-12), ((4, 9), 1e-5)]:
        x = torch.randn(*shape, generator=g) * 3 + 1
        H = shape[-1]
        x.view(-1, H)[0] = 0.0  # variance 0: only eps keeps the division finite
        if eps > 1e-6:
            # Variance ~1e-6, comparable to eps: eps must go inside the sqrt.
            x.view(-1, H)[1] *= 1e-3
        out.append((x, torch.randn(H, generator=g), torch.randn(H, generator=g), eps))
    return out


@exercise("encoder.layer_norm", "LayerNorm by hand", points=1)
def check_layer_norm(fn) -> str:
    """fn(x, weight, bias, eps) -> LayerNorm over the last axis of x (..., H)."""
    for x, w, b, eps in _layer_norm_cases():
        case = f"x of shape {tuple(x.shape)}, eps={eps:g}"
        want = F.layer_norm(x, x.shape[-1:], w, b, eps)
        got = fn(x.clone(), w.clone(), b.clone(), eps)
        mu = x.mean(-1, keepdim=True)
        if _close(got, (x - mu) / torch.sqrt(x.var(-1, keepdim=True, unbiased=True) + eps) * w + b, 1e-4):
            raise CheckFailure(
                f"({case}) You used the unbiased variance (dividing by H - 1). LayerNorm divides "
                "by H: x.var(-1, unbiased=False, keepdim=True)."
            )
        if _close(got, F.layer_norm(x, x.shape[-1:], None, None, eps)):
            raise CheckFailure(
                f"({case}) The normalisation is right, but the result must then be scaled by "
                "weight (gamma) and shifted by bias (beta), one value per feature."
            )
        if (
            x.dim() == 3
            and x.size(0) > 1
            and _close(
                got,
                (x - x.mean(0, keepdim=True)) / torch.sqrt(x.var(0, keepdim=True, unbiased=False) + eps) * w + b,
            )
        ):
            raise CheckFailure(
                f"({case}) You normalised over the batch axis, which is what batch norm does. "
                "LayerNorm normalises each token on its own, over its features: the last axis."
            )
        compare(
            "LayerNorm",
            got,
            want,
            atol=1e-4,
            case=case,
            hint="mean and biased variance over the last axis (keepdim=True), then "
            "(x - mean) / sqrt(var + eps) * weight + bias; eps goes inside the square root.",
        )
    return "Each token is normalised over its own features, whatever the batch holds."


# ----------------------------------------------------------------------------- pre-LN block
class _Attention(nn.Module):
    """Multi-head self-attention with its output projection: (B, T, H) -> (B, T, H)."""

    def __init__(self, H: int, nh: int):
        super().__init__()
        self.self = BertSelfAttention(attention_config(H, nh))
        self.dense = nn.Linear(H, H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.self(x)[0])


def _block_parts(seed: int, H: int, nh: int, inner: int):
    # Seeded weights without touching the reader's global random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        attention = _Attention(H, nh).eval()
        ffn = nn.Sequential(nn.Linear(H, inner), nn.GELU(), nn.Linear(inner, H)).eval()
        norms = [nn.LayerNorm(H) for _ in range(2)]
        for norm in norms:  # random gamma and beta, so the two norms cannot be swapped unnoticed
            nn.init.normal_(norm.weight, 1.0, 0.3)
            nn.init.normal_(norm.bias, 0.0, 0.3)
    return attention, ffn, norms[0], norms[1]


@exercise("encoder.pre_ln_block", "A pre-LN encoder block", points=1)
def check_pre_ln_block(fn) -> str:
    """fn(x, attention, ffn, norm1, norm2) -> h + ffn(norm2(h)), where h = x + attention(norm1(x))."""
    for i, (B, T, H, nh, inner) in enumerate([(2, 5, 12, 3, 20), (1, 1, 8, 2, 13), (3, 4, 6, 1, 9)]):
        attention, ffn, n1, n2 = _block_parts(i, H, nh, inner)
        x = torch.randn(B, T, H, generator=seeded_generator(60 + i)) * 2
        with torch.no_grad():
            h = x + attention(n1(x))
            want = h + ffn(n2(h))
            got = fn(x.clone(), attention, ffn, n1, n2)
            post = n1(x + attention(x))
            post = n2(post + ffn(post))
            no_res = ffn(n2(attention(n1(x))))
            hs = x + attention(n2(x))
            swapped = hs + ffn(n1(hs))
        case = f"x of shape {(B, T, H)}"
        if _close(got, post, 1e-4):
            raise CheckFailure(
                f"({case}) This is the post-LN block, BERT's: norm(x + sublayer(x)). In the "
                "pre-LN block the norm comes first, inside the branch: x + sublayer(norm(x))."
            )
        if _close(got, no_res, 1e-4):
            raise CheckFailure(
                f"({case}) The residual connections are missing: add the branch's input back, "
                "h = x + attention(norm1(x)) and out = h + ffn(norm2(h))."
            )
        if _close(got, swapped, 1e-4):
            raise CheckFailure(
                f"({case}) norm1 and norm2 are swapped: norm1 belongs to the attention "
                "sub-layer, norm2 to the feed-forward sub-layer."
            )
        compare(
            "block output",
            got,
            want,
            atol=1e-4,
            case=case,
            hint="h = x + attention(norm1(x)); return h + ffn(norm2(h)).",
        )
    return "In the pre-LN block the residual path x -> output passes through no LayerNorm at all."


# ----------------------------------------------------------------------------- parameter count
def _pieces(c: BertConfig) -> dict[str, int]:
    """The parameter count of BertModel(c), piece by piece (the reference the check compares with)."""
    H, inner, L = c.hidden_size, c.intermediate_size, c.num_hidden_layers
    return {
        "token, position and segment embeddings": (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * H,
        "LayerNorms (gamma and beta, 2H each: one after the embeddings, two per layer)": 2 * H * (2 * L + 1),
        "attention weights": L * 4 * H * H,
        "attention biases": L * 4 * H,
        "feed-forward weights": L * 2 * H * inner,
        "feed-forward biases": L * (inner + H),
        "pooler (a dense H x H layer with bias on [CLS])": H * H + H,
    }


_CONFIGS = [
    dict(
        vocab_size=37,
        hidden_size=20,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=50,
        max_position_embeddings=33,
        type_vocab_size=3,
    ),
    {k: v for k, v in PRESETS["test"].items() if not k.endswith("dropout_prob")},  # odd sizes, BERT's dropout
    dict(),  # bert-base
]


@exercise("encoder.parameter_count", "Predict the parameter count", points=2)
def check_parameter_count(fn) -> str:
    """fn(config) -> the number of parameters of BertModel(config), from the sizes alone."""
    for overrides in _CONFIGS:
        config = BertConfig(**overrides)
        with torch.device("meta"):  # allocates nothing, even for bert-base
            want = BertModel(config).num_parameters()
        pieces = _pieces(config)  # sums to `want` (tests/test_checks_encoder.py makes sure)
        got = fn(config)
        desc = (
            f"vocab {config.vocab_size}, hidden {config.hidden_size}, layers {config.num_hidden_layers}, "
            f"intermediate {config.intermediate_size}, positions {config.max_position_embeddings}, "
            f"segments {config.type_vocab_size}"
        )
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool) or not math.isfinite(got):
            raise CheckFailure(f"Return a number, got {type(got).__name__}.")
        if got == want:
            continue
        diff = want - got
        missing = [name for name, n in pieces.items() if n == diff]
        if missing:
            raise CheckFailure(f"({desc}) {got:,} is {diff:,} short: exactly the {missing[0]}.")
        ffn_4h = (
            want
            - pieces["feed-forward weights"]
            - pieces["feed-forward biases"]
            + config.num_hidden_layers * (8 * config.hidden_size**2 + 5 * config.hidden_size)
        )
        if got == ffn_4h:
            raise CheckFailure(
                f"({desc}) You assumed the feed-forward width is 4H; use config.intermediate_size "
                "(4H in bert-base, but not in every config)."
            )
        raise CheckFailure(
            f"({desc}) got {got:,}, expected {want:,} (off by {diff:+,}). Count per piece: "
            "embeddings (V + P + S) x H; per layer Q, K, V, O (H x H + H each), the FFN "
            "(H x I + I, then I x H + H), two LayerNorms (2H each); one more LayerNorm after "
            "the embeddings; the pooler H x H + H."
        )
    return "Your formula matches BertModel exactly, bert-base included."
