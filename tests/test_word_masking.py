"""Whole-word masking: all pieces of a word together, the usual rates, clear errors."""

import pytest
import torch

import bertlib
from bertlib.word_masking import WholeWordPretrainingDataset, mask_whole_words, word_ids_tensor
from tests.helpers import SENTENCES


@pytest.fixture(scope="module")
def pieces():
    # A vocabulary this small splits most words into several pieces.
    tok = bertlib.train_tokenizer(SENTENCES, vocab_size=60)
    enc = tok(SENTENCES * 200, SENTENCES[::-1] * 200, return_offsets=True)
    return tok, enc


def word_groups(word_ids: list):
    """(row, start, end) of every word: a run of equal, non-None word ids."""
    groups = []
    for r, row in enumerate(word_ids):
        t = 0
        while t < len(row):
            if row[t] is None:
                t += 1
                continue
            end = t
            while end + 1 < len(row) and row[end + 1] == row[t]:
                end += 1
            groups.append((r, t, end + 1))
            t = end + 1
    return groups


def test_every_piece_of_a_word_is_selected_together(pieces):
    tok, enc = pieces
    _, labels = mask_whole_words(
        enc["input_ids"],
        enc["word_ids"],
        tok,
        attention_mask=enc["attention_mask"],
        generator=bertlib.seeded_generator(0),
    )
    groups = word_groups(enc["word_ids"])
    multi = [g for g in groups if g[2] - g[1] > 1]
    assert len(multi) > 1000  # the test means something only if words have several pieces
    chosen = 0
    for r, start, end in groups:
        picked = labels[r, start:end] != -100
        assert picked.all() or not picked.any(), f"word at row {r}, tokens {start}-{end} was split"
        chosen += bool(picked.all())
    assert abs(chosen / len(groups) - 0.15) < 0.01  # 15% of the words
    # The labels are the original pieces.
    selected = labels != -100
    assert torch.equal(labels[selected], enc["input_ids"][selected])


def test_selected_tokens_are_corrupted_80_10_10_and_specials_never_selected(pieces):
    tok, enc = pieces
    ids, mask = enc["input_ids"], enc["attention_mask"]
    inputs, labels = mask_whole_words(
        ids, enc["word_ids"], tok, attention_mask=mask, generator=bertlib.seeded_generator(1)
    )
    selected = labels != -100
    special = torch.isin(ids, torch.tensor(sorted(tok.special_token_ids))) | ~mask.bool()
    assert not selected[special].any()
    assert abs(selected.sum() / (~special).sum() - 0.15) < 0.01  # each token's word has p = 0.15
    became_mask = (inputs[selected] == tok.mask_token_id).float().mean()
    unchanged = (inputs[selected] == ids[selected]).float().mean()
    assert abs(became_mask - 0.8) < 0.015
    assert abs(unchanged - 0.1) < 0.015 + 1 / tok.vocab_size  # a random word may be the same piece
    assert torch.equal(inputs[~selected], ids[~selected])


def test_word_ids_that_restart_in_the_second_sentence_are_different_words(pieces):
    tok, enc = pieces
    # Word 0 of sentence A and word 0 of sentence B share the id 0 but must be drawn separately.
    first_b = [row.index(None, 1) + 1 for row in enc["word_ids"]]  # position after the first [SEP]
    same = differ = 0
    for seed in range(5):
        _, labels = mask_whole_words(
            enc["input_ids"],
            enc["word_ids"],
            tok,
            attention_mask=enc["attention_mask"],
            generator=bertlib.seeded_generator(seed),
        )
        for r, b in enumerate(first_b):
            a_picked, b_picked = labels[r, 1] != -100, labels[r, b] != -100
            same += bool(a_picked and b_picked)
            differ += bool(a_picked != b_picked)
    assert differ > 0
    assert same < differ  # independent draws: both picked has probability 0.0225, one of them 0.255


def test_same_generator_gives_the_same_masks_and_tensor_word_ids_equal_lists(pieces):
    tok, enc = pieces
    args = (enc["input_ids"][:64], enc["word_ids"][:64], tok)
    first = mask_whole_words(*args, attention_mask=enc["attention_mask"][:64], generator=bertlib.seeded_generator(7))
    again = mask_whole_words(
        enc["input_ids"][:64],
        word_ids_tensor(enc["word_ids"][:64]),
        tok,
        attention_mask=enc["attention_mask"][:64],
        generator=bertlib.seeded_generator(7),
    )
    other = mask_whole_words(*args, attention_mask=enc["attention_mask"][:64], generator=bertlib.seeded_generator(8))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], other[1])


def test_bad_input_is_rejected_with_a_clear_error(pieces):
    tok, enc = pieces
    ids = enc["input_ids"][:2]
    with pytest.raises(ValueError, match="shape of input_ids"):
        mask_whole_words(ids, enc["word_ids"][:3], tok)
    with pytest.raises(ValueError, match="shape of input_ids"):
        mask_whole_words(ids, torch.zeros(2, ids.shape[1] + 1, dtype=torch.long), tok)
    with pytest.raises(ValueError, match="longer than"):
        mask_whole_words(ids, [list(range(ids.shape[1] + 1))] * 2, tok)
    with pytest.raises(ValueError, match="non-negative ints"):
        mask_whole_words(ids, [[-3] * ids.shape[1]] * 2, tok)
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_whole_words(ids, enc["word_ids"][:2], tok, mlm_probability=0.0)
    with pytest.raises(ValueError, match="mask_fraction"):
        mask_whole_words(ids, enc["word_ids"][:2], tok, mask_fraction=0.9, random_fraction=0.2)


def test_whole_word_dataset_trains_the_model_on_sentences_and_pairs():
    tok = bertlib.train_tokenizer(SENTENCES, vocab_size=60)
    config = bertlib.BertConfig.preset("tiny", vocab_size=tok.vocab_size)
    pairs = bertlib.make_nsp_pairs([SENTENCES[0:3], SENTENCES[3:6], SENTENCES[6:8]], seed=0)
    for data in (
        WholeWordPretrainingDataset(SENTENCES, tok, nsp=False, mlm_probability=0.5),
        WholeWordPretrainingDataset(pairs, tok, max_length=32, mlm_probability=0.5),
    ):
        batch = data.collate(range(len(data)), bertlib.seeded_generator(0))
        assert "word_ids" not in batch
        enc_words = [ex["word_ids"] for ex in data.examples]
        for r, row in enumerate(enc_words):
            labels = batch["labels"][r, : len(row)]
            for w in set(row) - {-1}:
                # within one sentence, equal consecutive ids form a word: all labelled or none
                runs = word_groups([[x if x == w else None for x in row]])
                for _, start, end in runs:
                    picked = labels[start:end] != -100
                    assert picked.all() or not picked.any()
        out = bertlib.BertForPreTraining(config)(**batch)
        assert torch.isfinite(out.mlm_loss)
    assert (
        WholeWordPretrainingDataset(SENTENCES, tok, nsp=False).fingerprint()
        != bertlib.PretrainingDataset(SENTENCES, tok, nsp=False).fingerprint()
    )
