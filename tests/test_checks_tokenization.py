"""Checks of the tokenization chapter: right answers pass, stubs and typical mistakes fail with a clear message."""

import itertools

import torch
from torch import nn

from bertlib import checks
from bertlib.checks.tokenization import pair_truncation_lengths, reference_bert_inputs
from tests.helpers import tiny_tokenizer


def stub(*args):
    raise NotImplementedError


def good_inputs(tokens_a, tokens_b, max_length):
    return reference_bert_inputs(tokens_a, tokens_b, max_length)


def test_reference_truncation_matches_bertlibs_tokenizer():
    tok = tiny_tokenizer()
    words = "anna lives in oakton and works as a baker every morning she bakes bread".split()
    assert all(len(tok.tokenize(w)) == 1 for w in words)  # one token per word, so counts are comparable
    for n_a, n_b, m in itertools.product(range(1, 7), range(1, 7), range(4, 16)):
        a, b = words[:n_a], words[n_a : n_a + n_b]
        if len(b) < n_b:
            continue
        enc = tok.encode(" ".join(a), " ".join(b), max_length=m)
        got = (enc["token_type_ids"].count(0) - 2, enc["token_type_ids"].count(1) - 1)
        assert got == pair_truncation_lengths(n_a, n_b, m - 3), (n_a, n_b, m)
        want = reference_bert_inputs(a, b, m)
        padded = tok.encode(" ".join(a), " ".join(b), max_length=m)
        assert tok.convert_ids_to_tokens(padded["input_ids"]) == want["tokens"][: len(padded["input_ids"])]


def test_bert_inputs_check():
    assert checks.check_bert_inputs(good_inputs).passed
    r = checks.check_bert_inputs(stub)
    assert not r and "Not implemented yet" in r.message

    # Mistake 1: the first [SEP] put in segment 1.
    def sep_in_b(a, b, m):
        out = good_inputs(a, b, m)
        if b is not None:
            out["token_type_ids"][out["tokens"].index("[SEP]")] = 1
        return out

    r = checks.check_bert_inputs(sep_in_b)
    assert not r and "token_type_ids differs" in r.message and "first [SEP]" in r.message
    # Mistake 2: no padding.
    r = checks.check_bert_inputs(
        lambda a, b, m: {
            k: [x for x, mk in zip(v, good_inputs(a, b, m)["attention_mask"], strict=True) if mk]
            for k, v in good_inputs(a, b, m).items()
        }
    )
    assert not r and "padded" in r.message

    # Mistake 3: truncating to max_length words, forgetting the room for [CLS]/[SEP].
    def no_room(a, b, m):
        out = good_inputs(a[:m], None if b is None else b[:m], m + 3)
        return {k: v[:m] for k, v in out.items()}

    r = checks.check_bert_inputs(no_room)
    assert not r and "Hint" in r.message and "max_length - 2" in r.message

    # Mistake 4: truncating only sentence B in a pair.
    def cut_b_only(a, b, m):
        if b is None:
            return good_inputs(a, b, m)
        return good_inputs(a, b[: max(0, m - 3 - len(a))], m)

    r = checks.check_bert_inputs(cut_b_only)
    assert not r and "shorter" in r.message


def test_memory_growth_check():
    right = {
        "hidden states, length x2": 2,
        "attention weights, length x2": 4,
        "hidden states, batch x2": 2,
        "attention weights, batch x2": 2,
        "attention weights, batch 16 -> 2": 1 / 8,
    }
    assert checks.check_memory_growth(right).passed
    assert checks.check_memory_growth(lambda: right).passed  # the lesson passes a function
    r = checks.check_memory_growth(stub)
    assert not r and "Not implemented" in r.message
    r = checks.check_memory_growth(right | {"attention weights, length x2": 2})
    assert not r and "T appears twice" in r.message and "you said 2" in r.message
    r = checks.check_memory_growth({"hidden states, length x2": 2})
    assert not r and "Missing" in r.message


def grow(model, tokenizer, new_tokens):
    ids = tokenizer.add_special_tokens(new_tokens)
    old = model.embeddings.word_embeddings
    new = nn.Embedding(tokenizer.vocab_size, old.embedding_dim, padding_idx=old.padding_idx)
    with torch.no_grad():
        new.weight[: old.num_embeddings] = old.weight
        new.weight[old.num_embeddings :] = old.weight.mean(0)
    model.embeddings.word_embeddings = new
    model.config.vocab_size = tokenizer.vocab_size
    return ids


def test_grow_vocabulary_check():
    assert checks.check_grow_vocabulary(grow).passed
    assert not checks.check_grow_vocabulary(stub)

    def no_config(model, tokenizer, new_tokens):
        ids = grow(model, tokenizer, new_tokens)
        model.config.vocab_size -= len(new_tokens)
        return ids

    r = checks.check_grow_vocabulary(no_config)
    assert not r and "config.vocab_size" in r.message

    def fresh_matrix(model, tokenizer, new_tokens):
        ids = tokenizer.add_special_tokens(new_tokens)
        model.embeddings.word_embeddings = nn.Embedding(tokenizer.vocab_size, model.config.hidden_size, padding_idx=0)
        model.config.vocab_size = tokenizer.vocab_size
        return ids

    r = checks.check_grow_vocabulary(fresh_matrix)
    assert not r and "old rows" in r.message

    def no_padding_idx(model, tokenizer, new_tokens):
        ids = grow(model, tokenizer, new_tokens)
        w = model.embeddings.word_embeddings.weight.detach()
        model.embeddings.word_embeddings = nn.Embedding.from_pretrained(w, freeze=False)
        return ids

    r = checks.check_grow_vocabulary(no_padding_idx)
    assert not r and "padding_idx" in r.message
