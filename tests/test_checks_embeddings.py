"""Checks of the embeddings chapter: right answers pass, stubs and typical mistakes fail with a clear message."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from bertlib import checks
from bertlib.checks.embeddings import sinusoidal_encoding
from bertlib.model import BertEmbeddings


def stub(*args):
    raise NotImplementedError


def test_one_hot_lookup_check():
    good = checks.check_one_hot_lookup(lambda ids, w: F.one_hot(ids, w.size(0)).float() @ w)
    assert good.passed
    assert checks.check_one_hot_lookup(lambda ids, w: w[ids]).passed  # the lookup itself is the same thing
    assert "Not implemented" in checks.check_one_hot_lookup(stub).message
    r = checks.check_one_hot_lookup(lambda ids, w: F.one_hot(ids).float() @ w)
    assert not r and "num_classes=weight.size(0)" in r.message
    r = checks.check_one_hot_lookup(lambda ids, w: F.one_hot(ids, w.size(0)).float() @ w.detach())
    assert not r and "differentiable" in r.message
    r = checks.check_one_hot_lookup(lambda ids, w: F.one_hot(ids, w.size(1)).float() @ w.T)
    assert not r


def test_sinusoidal_encoding_reference():
    pe = sinusoidal_encoding(6, 5)
    assert pe.shape == (6, 5) and pe.abs().max() <= 1
    assert math.isclose(float(pe[3, 2]), math.sin(3 / 10000 ** (2 / 5)), rel_tol=1e-6)
    assert math.isclose(float(pe[3, 3]), math.cos(3 / 10000 ** (2 / 5)), rel_tol=1e-6)
    assert math.isclose(float(pe[3, 4]), math.sin(3 / 10000 ** (4 / 5)), rel_tol=1e-6)


def even_only(n, d):  # the usual first attempt: right for even dims, crashes for odd ones
    pos = torch.arange(n).float()[:, None]
    angle = pos / 10000 ** (torch.arange(0, d, 2).float() / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return pe


def test_sinusoidal_check():
    assert checks.check_sinusoidal_encoding(sinusoidal_encoding).passed
    assert not checks.check_sinusoidal_encoding(stub)
    r = checks.check_sinusoidal_encoding(even_only)
    assert not r and "odd dim" in r.message
    r = checks.check_sinusoidal_encoding(
        lambda n, d: (
            sinusoidal_encoding(n, d)[:, [i ^ 1 for i in range(d)]] if d % 2 == 0 else sinusoidal_encoding(n, d)
        )
    )
    assert not r and "swapped" in r.message

    def slow_freq(n, d):
        angle = torch.arange(n).float()[:, None] / 10000 ** (torch.arange((d + 1) // 2).float() / d)
        pe = torch.zeros(n, d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle[:, : d // 2])
        return pe

    r = checks.check_sinusoidal_encoding(slow_freq)
    assert not r and "2i / dim" in r.message


def reference_loss(c, p, n):
    pos = F.logsigmoid((c * p).sum(-1))
    neg = F.logsigmoid(-torch.einsum("bd,bkd->bk", c, n)).sum(-1)
    return -(pos + neg).mean()


def test_sgns_loss_check():
    assert checks.check_sgns_loss(reference_loss).passed
    assert not checks.check_sgns_loss(stub)
    r = checks.check_sgns_loss(lambda c, p, n: reference_loss(c, p, n) * c.size(0))
    assert not r and "summed over the batch" in r.message
    r = checks.check_sgns_loss(
        lambda c, p, n: -(F.logsigmoid((c * p).sum(-1)) + F.logsigmoid(torch.einsum("bd,bkd->bk", c, n)).sum(-1)).mean()
    )
    assert not r and "minus sign" in r.message
    r = checks.check_sgns_loss(lambda c, p, n: -(F.logsigmoid((c * p).sum(-1))))
    assert not r and "scalar" in r.message


def test_cosine_check():
    good = checks.check_cosine_matrix(lambda a, b: F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T)
    assert good.passed
    assert checks.check_cosine_matrix(lambda a, b: F.cosine_similarity(a[:, None], b[None], dim=-1)).passed
    assert not checks.check_cosine_matrix(stub)
    r = checks.check_cosine_matrix(lambda a, b: a @ b.T)
    assert not r and "own length" in r.message
    r = checks.check_cosine_matrix(lambda a, b: F.normalize(a, dim=0) @ F.normalize(b, dim=0).T)
    assert not r and "largest difference" in r.message
    r = checks.check_cosine_matrix(
        lambda a, b: (a / a.norm(dim=-1, keepdim=True)) @ (b / b.norm(dim=-1, keepdim=True)).T
    )
    assert not r and "zero vector" in r.message


class GoodEntities(BertEmbeddings):
    def __init__(self, config):
        super().__init__(config)
        self.entity_embeddings = nn.Embedding(2, config.hidden_size)
        nn.init.zeros_(self.entity_embeddings.weight)

    def forward(self, input_ids, token_type_ids=None, entity_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if entity_ids is None:
            entity_ids = torch.zeros_like(input_ids)
        T = input_ids.size(1)
        x = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(token_type_ids)
            + self.position_embeddings(self.position_ids[:, :T])
            + self.entity_embeddings(entity_ids)
        )
        return self.dropout(self.LayerNorm(x))


class AfterNorm(GoodEntities):
    def forward(self, input_ids, token_type_ids=None, entity_ids=None):
        base = BertEmbeddings.forward(self, input_ids, token_type_ids)
        return base if entity_ids is None else base + self.entity_embeddings(entity_ids)


class RandomInit(GoodEntities):
    def __init__(self, config):
        super().__init__(config)
        nn.init.normal_(self.entity_embeddings.weight)


def test_entity_check():
    assert checks.check_entity_embeddings(GoodEntities).passed
    assert not checks.check_entity_embeddings(stub)
    r = checks.check_entity_embeddings(AfterNorm)
    assert not r and "then LayerNorm" in r.message
    r = checks.check_entity_embeddings(RandomInit)
    assert not r and "zeros" in r.message
    r = checks.check_entity_embeddings(lambda config: nn.Linear(2, 2))
    assert not r and "Subclass" in r.message
