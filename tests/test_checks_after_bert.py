"""Checks of chapter 11: the right answers pass; stubs and the usual mistakes fail with a precise message."""

import random

import torch

import bertlib
from bertlib import checks
from bertlib.pretraining import IN_ORDER, SWAPPED


def stub(*args):
    raise NotImplementedError


def good_rtd(ids, corrupted, mask):
    return (corrupted != ids).long().masked_fill(mask == 0, -100)


def sop_by_hand(documents, seed, swap_first=False):
    rng = random.Random(seed)
    pairs = []
    for doc in documents:
        for j in range(len(doc) - 1):
            swap = rng.random() < 0.5
            if swap != swap_first:  # swap_first=True: the labels say the opposite of what was done
                pairs.append(bertlib.SentencePair(doc[j + 1], doc[j], SWAPPED))
            else:
                pairs.append(bertlib.SentencePair(doc[j], doc[j + 1], IN_ORDER))
    return pairs


def test_correct_answers_pass():
    assert checks.check_rtd_labels(good_rtd).passed
    assert checks.check_sop_pairs(sop_by_hand).passed
    assert checks.check_sop_pairs(bertlib.make_sop_pairs).passed
    assert checks.check_factorized_embedding(30_000 * 768, 30_000 * 128 + 128 * 768).passed


def test_reference_rtd_labels_count_a_sampled_original_as_original():
    ids = torch.tensor([[2, 7, 8, 3, 0]])
    corrupted = torch.tensor([[2, 7, 9, 3, 0]])  # position 1 "replaced" by itself, position 2 really replaced
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    want = torch.tensor([[0, 0, 1, 0, -100]])
    assert torch.equal(checks.after_bert.reference_rtd_labels(ids, corrupted, mask), want)


def test_stubs_fail():
    for check in (checks.check_rtd_labels, checks.check_sop_pairs):
        r = check(stub)
        assert not r and r.points == 0 and "Not implemented yet" in r.message
    r = checks.check_factorized_embedding(None, None)
    assert not r and "None" in r.message


def test_rtd_mistakes_are_named():
    r = checks.check_rtd_labels(lambda i, c, m: 1 - good_rtd(i, c, m).clamp(min=0))
    assert not r and "flipped" in r.message
    r = checks.check_rtd_labels(lambda i, c, m: (c != i).long())
    assert not r and "Padding" in r.message
    r = checks.check_rtd_labels(lambda i, c, m: (c != i) & m.bool())
    assert not r and "torch.long" in r.message
    r = checks.check_rtd_labels(lambda i, c, m: torch.zeros_like(i))
    assert not r and "largest difference" in r.message


def test_sop_mistakes_are_named():
    def nsp_like(documents, seed):  # negatives from another document
        rng = random.Random(seed)
        docs = [d for d in documents if d]
        return [
            bertlib.SentencePair(d[j], d[j + 1], IN_ORDER)
            if rng.random() < 0.5
            else bertlib.SentencePair(d[j], rng.choice(docs[(k + 1) % len(docs)]), SWAPPED)
            for k, d in enumerate(docs)
            for j in range(len(d) - 1)
        ]

    r = checks.check_sop_pairs(nsp_like)
    assert not r and "mixes two documents" in r.message
    r = checks.check_sop_pairs(lambda docs, seed: sop_by_hand(docs, seed, swap_first=True))
    assert not r and "same draws" in r.message
    r = checks.check_sop_pairs(
        lambda docs, seed: [bertlib.SentencePair(p.a, p.b, 1 - p.label) for p in sop_by_hand(docs, seed)]
    )
    assert not r and "label" in r.message
    r = checks.check_sop_pairs(lambda docs, seed: sop_by_hand(docs, seed)[:-1])
    assert not r and "pairs, expected" in r.message
    r = checks.check_sop_pairs(lambda docs, seed: [(p.a, p.b, p.label) for p in sop_by_hand(docs, seed)])
    assert not r and "SentencePair" in r.message


def test_factorized_embedding_mistakes_are_named():
    r = checks.check_factorized_embedding(30_000 * 768, 30_000 * 128)
    assert not r and "E x H projection" in r.message
    r = checks.check_factorized_embedding(30_000 * 128, 1)
    assert not r and "V x H" in r.message
    r = checks.check_factorized_embedding(30_000 * 768, 5)
    assert not r and "count both" in r.message


def test_reference_rtd_labels_agree_with_bertlib():
    g = torch.Generator().manual_seed(0)
    ids, corrupted = torch.randint(5, 30, (3, 8), generator=g), torch.randint(5, 30, (3, 8), generator=g)
    mask = (torch.arange(8) < torch.tensor([[8], [5], [2]])).long()
    want = bertlib.rtd_labels(ids, corrupted, mask)
    assert torch.equal(checks.after_bert.reference_rtd_labels(ids, corrupted, mask), want)
    assert checks.check_rtd_labels(bertlib.rtd_labels).passed
