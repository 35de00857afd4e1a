"""MLM masking statistics, special tokens never masked, NSP balance, batches."""

import pytest
import torch

import bertlib
from bertlib import IS_NEXT, NOT_NEXT, PretrainingDataset, make_nsp_pairs, mask_tokens
from tests.helpers import DOCUMENTS, SENTENCES, tiny_tokenizer


@pytest.fixture(scope="module")
def big_batch():
    tok = tiny_tokenizer()
    batch = tok(SENTENCES * 500, SENTENCES[::-1] * 500)
    return tok, batch


def test_masking_statistics_match_the_paper(big_batch):
    tok, batch = big_batch
    ids, mask = batch["input_ids"], batch["attention_mask"]
    inputs, labels = mask_tokens(ids, tok, attention_mask=mask, generator=bertlib.seeded_generator(0))
    eligible = mask.bool() & ~torch.isin(ids, torch.tensor(sorted(tok.special_token_ids)))
    selected = labels != -100
    n = int(selected.sum())
    assert abs(n / int(eligible.sum()) - 0.15) < 0.005  # 15% of the real, non-special tokens
    became_mask = (inputs[selected] == tok.mask_token_id).float().mean()
    unchanged = (inputs[selected] == ids[selected]).float().mean()
    random_ = 1 - became_mask - unchanged
    assert abs(became_mask - 0.8) < 0.01
    assert abs(unchanged - 0.1) < 0.01  # includes the rare random draw of the same word
    assert abs(random_ - 0.1) < 0.01
    assert torch.equal(labels[selected], ids[selected])  # labels hold the original tokens
    assert torch.equal(inputs[~selected], ids[~selected])  # nothing else is touched


def test_special_and_padding_tokens_are_never_selected(big_batch):
    tok, batch = big_batch
    ids, mask = batch["input_ids"], batch["attention_mask"]
    _, labels = mask_tokens(ids, tok, mlm_probability=1.0, attention_mask=mask, generator=bertlib.seeded_generator(1))
    special = torch.isin(ids, torch.tensor(sorted(tok.special_token_ids))) | ~mask.bool()
    assert (labels[special] == -100).all()
    assert (labels[~special] != -100).all()


def test_random_replacements_are_never_special_tokens(big_batch):
    tok, batch = big_batch
    inputs, labels = mask_tokens(
        batch["input_ids"],
        tok,
        mask_fraction=0.0,
        random_fraction=1.0,
        attention_mask=batch["attention_mask"],
        generator=bertlib.seeded_generator(2),
    )
    replaced = inputs[labels != -100]
    assert not torch.isin(replaced, torch.tensor(sorted(tok.special_token_ids))).any()


def test_masking_is_reproducible_by_generator(big_batch):
    tok, batch = big_batch
    a = mask_tokens(batch["input_ids"][:50], tok, generator=bertlib.seeded_generator(3))
    b = mask_tokens(batch["input_ids"][:50], tok, generator=bertlib.seeded_generator(3))
    c = mask_tokens(batch["input_ids"][:50], tok, generator=bertlib.seeded_generator(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[1], c[1])


def test_nsp_pairs_are_balanced_and_correct():
    docs = [[f"d{d} s{s}" for s in range(6)] for d in range(200)]
    pairs = make_nsp_pairs(docs, seed=0)
    assert len(pairs) == 200 * 5
    is_next = [p for p in pairs if p.label == IS_NEXT]
    assert abs(len(is_next) / len(pairs) - 0.5) < 0.03
    for p in pairs:
        da, sa = p.a.split()
        db, sb = p.b.split()
        if p.label == IS_NEXT:
            assert da == db and int(sb[1:]) == int(sa[1:]) + 1
        else:
            assert p.label == NOT_NEXT and da != db  # always from another document
    assert make_nsp_pairs(docs, seed=0) == pairs and make_nsp_pairs(docs, seed=1) != pairs


@pytest.mark.parametrize(
    "docs, words",
    [
        ([], "empty corpus"),
        ([["a", "b"]], "at least two documents"),
        ([["a"], ["b"]], "at least two sentences"),
    ],
)
def test_nsp_clear_errors(docs, words):
    with pytest.raises(ValueError, match=words):
        make_nsp_pairs(docs)


def test_pretraining_batches():
    tok = tiny_tokenizer()
    data = PretrainingDataset(make_nsp_pairs(DOCUMENTS, seed=0), tok, max_length=16)
    batch = data.collate([0, 1, 2], bertlib.seeded_generator(0))
    assert set(batch) == {"input_ids", "token_type_ids", "attention_mask", "labels", "next_sentence_label"}
    assert batch["input_ids"].shape == batch["labels"].shape and batch["input_ids"].shape[1] <= 16
    assert batch["next_sentence_label"].shape == (3,)
    assert (batch["labels"][batch["attention_mask"] == 0] == -100).all()
    mlm_only = PretrainingDataset(SENTENCES, tok, max_length=16, nsp=False).collate([0, 1], bertlib.seeded_generator(0))
    assert "next_sentence_label" not in mlm_only
    with pytest.raises(ValueError, match="empty"):
        PretrainingDataset([], tok)
    with pytest.raises(ValueError, match="no NSP labels"):
        PretrainingDataset(SENTENCES, tok)


def test_sop_pairs_are_consecutive_sentences_in_or_out_of_order():
    from bertlib.pretraining import IN_ORDER, SWAPPED, make_sop_pairs

    docs = [[f"d{d} s{s}" for s in range(6)] for d in range(200)]
    pairs = make_sop_pairs(docs, seed=0)
    assert len(pairs) == 200 * 5
    swapped = [p for p in pairs if p.label == SWAPPED]
    assert abs(len(swapped) / len(pairs) - 0.5) < 0.03
    for p in pairs:
        (da, sa), (db, sb) = p.a.split(), p.b.split()
        assert da == db  # never another document: topic and names cannot tell the classes apart
        step = int(sb[1:]) - int(sa[1:])
        assert step == (1 if p.label == IN_ORDER else -1)
    # every consecutive pair appears exactly once, in one order or the other
    assert sorted(tuple(sorted((p.a, p.b))) for p in pairs) == sorted(
        (d[j], d[j + 1]) for d in docs for j in range(len(d) - 1)
    )
    assert make_sop_pairs(docs, seed=0) == pairs and make_sop_pairs(docs, seed=1) != pairs
    assert {p.label for p in make_sop_pairs(docs, p_swap=0.0)} == {IN_ORDER}
    assert {p.label for p in make_sop_pairs(docs, p_swap=1.0)} == {SWAPPED}


def test_sop_pairs_work_with_a_single_document_and_draw_like_the_recipe():
    import random

    from bertlib.pretraining import IN_ORDER, SWAPPED, make_sop_pairs

    doc = ["a b", "c d", "e f", "g h"]
    rng = random.Random(7)
    want = []
    for j in range(3):  # one draw per pair, in document order
        swap = rng.random() < 0.5
        want.append((doc[j + 1], doc[j], SWAPPED) if swap else (doc[j], doc[j + 1], IN_ORDER))
    assert [(p.a, p.b, p.label) for p in make_sop_pairs([doc], seed=7)] == want


@pytest.mark.parametrize(
    "docs, kwargs, error, words",
    [
        ([], {}, ValueError, "two sentences"),
        ([["a"], ["b"]], {}, ValueError, "two sentences"),
        (["a b", "c d"], {}, TypeError, "lists of sentences"),
        ([["a", "b"]], {"p_swap": 1.5}, ValueError, "probability"),
    ],
)
def test_sop_clear_errors(docs, kwargs, error, words):
    from bertlib.pretraining import make_sop_pairs

    with pytest.raises(error, match=words):
        make_sop_pairs(docs, **kwargs)
