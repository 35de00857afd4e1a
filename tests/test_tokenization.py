"""WordPiece training, pair encoding, truncation, padding, save/load."""

import pytest
import torch

from bertlib import SPECIAL_TOKENS, BertTokenizer, train_tokenizer
from tests.helpers import SENTENCES, tiny_tokenizer


def test_special_tokens_have_the_first_ids():
    tok = tiny_tokenizer()
    assert [tok.get_vocab()[t] for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == (0, 2, 3, 4)


def test_pair_encoding_has_cls_seps_and_segments():
    tok = tiny_tokenizer()
    enc = tok.encode("her cat", "his dog is rex")
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert tokens == ["[CLS]", "her", "cat", "[SEP]", "his", "dog", "is", "rex", "[SEP]"]
    assert enc["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert enc["attention_mask"] == [1] * 9


def test_truncation_leaves_room_for_specials():
    tok = tiny_tokenizer()
    single = tok.encode(SENTENCES[0], max_length=6)
    assert len(single["input_ids"]) == 6
    assert single["input_ids"][0] == tok.cls_token_id and single["input_ids"][-1] == tok.sep_token_id
    pair = tok.encode(SENTENCES[0], SENTENCES[1], max_length=9)
    assert len(pair["input_ids"]) == 9 and pair["input_ids"].count(tok.sep_token_id) == 2


def test_batch_padding_and_mask():
    tok = tiny_tokenizer()
    batch = tok(["her cat", "ben lives in riverside"], max_length=12, padding="max_length")
    assert batch["input_ids"].shape == (2, 12) and batch["input_ids"].dtype == torch.long
    assert batch["attention_mask"][0].tolist() == [1] * 4 + [0] * 8
    assert batch["input_ids"][0, 4:].eq(tok.pad_token_id).all()
    longest = tok(["her cat", "ben lives in riverside"])
    assert longest["input_ids"].shape == (2, 6)


def test_unknown_characters_become_unk_and_decode_round_trips():
    tok = tiny_tokenizer()
    assert "[UNK]" in tok.tokenize("zebra ✈")
    text = "her cat is called pepper"
    assert tok.decode(tok.encode(text)["input_ids"]) == text


def test_save_and_load(tmp_path):
    tok = tiny_tokenizer()
    tok.save(tmp_path / "tokenizer.json")
    back = BertTokenizer.from_file(tmp_path / "tokenizer.json")
    assert back.get_vocab() == tok.get_vocab()
    assert back.encode("her cat", "rex") == tok.encode("her cat", "rex")


def test_extra_special_tokens_are_never_split():
    tok = train_tokenizer(SENTENCES, vocab_size=400, extra_special_tokens=["[ENT]", "[/ENT]"])
    assert tok.tokenize("[ENT] anna [/ENT] bakes") == ["[ENT]", "anna", "[/ENT]", "bakes"]
    assert {tok.get_vocab()["[ENT]"], tok.get_vocab()["[/ENT]"]} <= tok.special_token_ids


@pytest.mark.parametrize("texts, words", [([], "empty corpus"), (["", "  "], "empty corpus")])
def test_empty_corpus_is_a_clear_error(texts, words):
    with pytest.raises(ValueError, match=words):
        train_tokenizer(texts)


def test_bad_arguments():
    tok = tiny_tokenizer()
    with pytest.raises(ValueError, match="2 first sentences but 1"):
        tok(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="needs max_length"):
        tok(["a"], padding="max_length")
    with pytest.raises(FileNotFoundError):
        BertTokenizer.from_file("/nonexistent/tokenizer.json")
