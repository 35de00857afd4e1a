"""Checks for embeddings: one-hot lookup, sinusoidal positions, the SGNS loss, cosine, a fourth embedding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import BertConfig
from ..model import BertEmbeddings
from ..utils import seeded_generator
from ..word2vec import sgns_loss
from .core import CheckFailure, compare, exercise

__all__ = [
    "check_one_hot_lookup",
    "check_sinusoidal_encoding",
    "check_sgns_loss",
    "check_cosine_matrix",
    "check_entity_embeddings",
    "sinusoidal_encoding",
]


def sinusoidal_encoding(n_positions: int, dim: int) -> torch.Tensor:
    """The Transformer's fixed position encodings (Vaswani et al. 2017, section 3.5), (n_positions, dim).

    ``PE[p, 2i] = sin(p / 10000^(2i/dim))`` and ``PE[p, 2i+1] = cos(p / 10000^(2i/dim))``;
    with an odd ``dim`` the last column is a sine without its cosine partner.
    """
    pos = torch.arange(n_positions, dtype=torch.float32)[:, None]  # (n, 1)
    two_i = torch.arange(0, dim, 2, dtype=torch.float32)  # (ceil(dim / 2),)
    angle = pos / 10000 ** (two_i / dim)  # (n, ceil(dim / 2)): one frequency per sin/cos pair
    pe = torch.zeros(n_positions, dim)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : dim // 2])  # an odd dim has one cosine fewer
    return pe


@exercise("embeddings.one_hot", "One-hot vector times embedding matrix", points=1)
def check_one_hot_lookup(fn) -> str:
    """fn(ids (...,) LongTensor, weight (V, D)) -> (..., D): one_hot(ids) @ weight."""
    for shape, V, D in [((2, 3), 7, 5), ((4,), 11, 3), ((1, 1), 4, 6), ((3, 2), 9, 1)]:
        g = seeded_generator(V * D)
        weight = torch.randn(V, D, generator=g, requires_grad=True)
        ids = torch.randint(0, V - 1, shape, generator=g)  # the last row is never used, on purpose
        case = f"ids of shape {shape}, weight of shape {(V, D)}"
        try:
            got = fn(ids, weight)
        except NotImplementedError:  # a subclass of RuntimeError: leave it to run_check
            raise
        except RuntimeError as e:
            raise CheckFailure(
                f"Your code raised RuntimeError for {case}: {e}. Hint: one_hot needs "
                f"num_classes=weight.size(0); by default it uses ids.max() + 1, which is too "
                f"small when the last words are not in the batch."
            ) from None
        compare(
            "rows",
            got,
            weight[ids].detach(),
            case=case,
            hint="one_hot(ids, V) has shape (..., V); multiply it by weight (V, D), not by weight.T, "
            "and convert it to float first.",
        )
        if not got.requires_grad:
            raise CheckFailure(
                "The result does not depend on weight through autograd: keep the computation "
                "differentiable (no .detach(), no torch.no_grad()), so training can update the rows."
            )
        got.sum().backward()
        counts = torch.bincount(ids.flatten(), minlength=V).float()[:, None].expand(V, D)
        compare(
            "weight.grad",
            weight.grad,
            counts,
            case=case,
            hint="Each row's gradient should count how often its id occurs.",
        )
    return "A one-hot vector picks out one row: the embedding layer is a lookup."


@exercise("embeddings.sinusoidal", "Sinusoidal position encodings", points=1)
def check_sinusoidal_encoding(fn) -> str:
    """fn(n_positions, dim) -> (n_positions, dim) float tensor of sines and cosines."""
    for n, d in [(10, 16), (50, 6), (7, 9), (3, 1)]:
        want = sinusoidal_encoding(n, d)
        case = f"n_positions={n}, dim={d}"
        try:
            got = fn(n, d)
        except NotImplementedError:
            raise
        except RuntimeError as e:
            raise CheckFailure(
                f"Your code raised RuntimeError for {case}: {e}. Hint: with an odd dim there are "
                f"(dim + 1) // 2 sine columns but only dim // 2 cosine columns."
            ) from None
        if isinstance(got, torch.Tensor) and got.shape == want.shape and d > 1:
            got = got.float()
            swapped = torch.zeros_like(want)
            if d % 2 == 0:  # sines where the cosines belong, and back
                swapped[:, 0::2], swapped[:, 1::2] = want[:, 1::2], want[:, 0::2]
            if d % 2 == 0 and torch.allclose(got, swapped, atol=1e-5):
                raise CheckFailure(
                    f"({case}) sine and cosine are swapped: even columns 0, 2, 4, ... hold the "
                    f"sines, odd columns the cosines."
                )
            slow = torch.arange(n, dtype=torch.float32)[:, None] / 10000 ** (torch.arange((d + 1) // 2) / d)
            if torch.allclose(got[:, 0::2], torch.sin(slow), atol=1e-5) and not torch.allclose(got, want, atol=1e-5):
                raise CheckFailure(
                    f"({case}) the frequencies are off: the exponent is 2i / dim for the column "
                    f"pair (2i, 2i + 1), i.e. torch.arange(0, dim, 2) / dim, not i / dim."
                )
        compare(
            "encoding",
            got,
            want,
            case=case,
            hint="PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(p / 10000^(2i/dim)).",
        )
    return "Every position gets its own pattern of waves, all within [-1, 1]."


@exercise("embeddings.sgns_loss", "The skip-gram negative-sampling loss", points=1)
def check_sgns_loss(fn) -> str:
    """fn(centre (B, D), positive (B, D), negatives (B, K, D)) -> scalar mean loss."""
    for B, K, D in [(4, 3, 5), (1, 1, 2), (7, 5, 3)]:
        g = seeded_generator(B * 100 + K * 10 + D)
        c, p, n = (torch.randn(*s, generator=g) * 1.5 for s in [(B, D), (B, D), (B, K, D)])
        want = sgns_loss(c, p, n)
        got = fn(c, p, n)
        case = f"B={B}, K={K}, D={D}"
        if isinstance(got, torch.Tensor) and got.dim() > 0:
            raise CheckFailure(
                f"({case}) the loss has shape {tuple(got.shape)}: return a scalar, the mean of "
                f"the per-pair losses over the batch."
            )
        if isinstance(got, torch.Tensor) and B > 1:
            per_pair = -(F.logsigmoid((c * p).sum(-1)) + F.logsigmoid(-(n @ c[:, :, None]).squeeze(-1)).sum(-1))
            if torch.allclose(got, per_pair.sum(), atol=1e-5):
                raise CheckFailure(f"({case}) you summed over the batch: take the mean over the B pairs.")
            no_minus = -(F.logsigmoid((c * p).sum(-1)) + F.logsigmoid((n @ c[:, :, None]).squeeze(-1)).sum(-1))
            if torch.allclose(got, no_minus.mean(), atol=1e-5):
                raise CheckFailure(
                    f"({case}) the negatives should score low: use log σ(-u_k·v) for them, "
                    f"with the minus sign inside the sigmoid."
                )
        compare(
            "loss",
            got,
            want,
            case=case,
            hint="loss = -[log σ(u_o·v) + Σ_k log σ(-u_k·v)], averaged over the batch; "
            "F.logsigmoid is the stable log σ.",
        )
    return "Real pairs are pulled together, random pairs pushed apart."


@exercise("embeddings.cosine", "A matrix of cosine similarities", points=1)
def check_cosine_matrix(fn) -> str:
    """fn(a (N, D), b (M, D)) -> (N, M) cosine similarities between every row of a and every row of b."""
    for N, M, D in [(3, 4, 5), (1, 6, 7), (5, 5, 2)]:
        g = seeded_generator(N + 10 * M + 100 * D)
        a = torch.randn(N, D, generator=g) * torch.rand(N, 1, generator=g).mul(5).add(0.1)  # rows of unequal length
        b = torch.randn(M, D, generator=g) * torch.rand(M, 1, generator=g).mul(5).add(0.1)
        want = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
        compare(
            "similarities",
            fn(a, b),
            want,
            case=f"a {(N, D)}, b {(M, D)}",
            hint="Divide each row by its own length (norm over the last axis, dim=-1) before the "
            "dot products; a plain a @ b.T measures lengths too.",
        )
    a, b = torch.zeros(2, 3), torch.ones(2, 3)
    compare(
        "similarities",
        fn(a, b),
        torch.zeros(2, 2),
        case="a row of zeros",
        hint="A zero vector has no direction: clamp the norm (norm.clamp_min(1e-8)) so its similarity is 0, not NaN.",
    )
    return "Cosine similarity ignores length and keeps only direction."


@exercise("embeddings.entity", "A fourth embedding: entities", points=2)
def check_entity_embeddings(cls) -> str:
    """cls(config): a BertEmbeddings subclass with ``entity_embeddings`` and forward(ids, token_type_ids, entity_ids)."""
    config = BertConfig.preset("test")
    module = cls(config)
    if not isinstance(module, BertEmbeddings):
        raise CheckFailure("Subclass bertlib.model.BertEmbeddings so the word, segment and position tables are there.")
    ent = getattr(module, "entity_embeddings", None)
    if not isinstance(ent, nn.Embedding) or tuple(ent.weight.shape) != (2, config.hidden_size):
        raise CheckFailure(
            f"Give the module an nn.Embedding `entity_embeddings` of shape (2, {config.hidden_size}): "
            f"0 = not an entity, 1 = inside an entity."
        )
    if ent.weight.abs().max() > 0:
        raise CheckFailure(
            "Initialise entity_embeddings to zeros: then a pretrained model behaves exactly as before "
            "until training moves the new rows."
        )
    module.eval()
    g = seeded_generator(7)
    with torch.no_grad():
        ent.weight.normal_(generator=g)  # non-zero now, so a missing term shows
    for B, T in [(2, 5), (1, 9), (3, 1)]:
        ids = torch.randint(0, config.vocab_size, (B, T), generator=g)
        seg = torch.randint(0, 2, (B, T), generator=g)
        ents = torch.randint(0, 2, (B, T), generator=g)
        m = module
        total = m.word_embeddings(ids) + m.token_type_embeddings(seg) + m.position_embeddings.weight[:T] + ent(ents)
        with torch.no_grad():
            compare(
                "embeddings",
                m(ids, seg, ents),
                m.LayerNorm(total),
                case=f"input of shape {(B, T)}",
                hint="Sum all four embeddings (word + segment + position + entity), then LayerNorm.",
            )
            compare(
                "embeddings without entity_ids",
                m(ids, seg),
                m.LayerNorm(total - ent(ents) + ent.weight[0]),
                case=f"input of shape {(B, T)}",
                hint="With entity_ids=None, treat every token as entity type 0.",
            )
    return "Four tables, one sum: the model can now tell entity tokens apart."
