"""What a model accepts: each bad input is named with its fix, and good inputs pass unchanged."""

import pytest
import torch

from bertlib import BertConfig
from bertlib.model_inputs import additive_mask, check_batch_shape, check_token_ids, segment_ids

CONFIG = BertConfig.preset("test", vocab_size=50, max_position_embeddings=8)


def test_a_batch_is_two_dimensional():
    ids = torch.tensor([[2, 5, 3]])
    assert check_batch_shape(ids) is ids
    with pytest.raises(ValueError, match=r"got shape \(3,\); for one sentence use input_ids\[None\]"):
        check_batch_shape(ids[0])


@pytest.mark.parametrize(
    "ids, message",
    [
        (torch.zeros(1, 0, dtype=torch.long), "0 tokens per sequence"),
        (torch.tensor([[2, -100, 3]]), "Token id -100 is negative"),
        (torch.tensor([[2, 50, 3]]), "Token id 50 is outside this model's vocabulary of 50 ids"),
        (torch.ones(1, 9, dtype=torch.long), "The input has 9 tokens but this model has only 8 position"),
    ],
)
def test_bad_token_ids_are_named(ids, message):
    with pytest.raises(ValueError, match=message):
        check_token_ids(ids, CONFIG)


def test_rotary_positions_have_no_length_cap_and_good_ids_pass():
    check_token_ids(torch.tensor([[0, 49, 7]]), CONFIG)
    rotary = BertConfig.preset("test", vocab_size=50, max_position_embeddings=8, position_embedding_type="rotary")
    check_token_ids(torch.ones(1, 9, dtype=torch.long), rotary)  # no table to run out of


def test_segment_ids_default_to_sentence_a_and_are_checked():
    ids = torch.tensor([[2, 5, 3], [2, 6, 3]])
    assert torch.equal(segment_ids(None, ids, CONFIG), torch.zeros_like(ids))
    given = torch.tensor([[0, 0, 1], [0, 1, 1]])
    assert segment_ids(given, ids, CONFIG) is given
    with pytest.raises(ValueError, match=r"token_type_ids has shape \(1, 3\), input_ids \(2, 3\)"):
        segment_ids(given[:1], ids, CONFIG)
    with pytest.raises(ValueError, match="Segment id 2 is out of range"):
        segment_ids(given + 1, ids, CONFIG)


def test_the_mask_is_ones_and_zeros_and_becomes_additive():
    ids = torch.tensor([[2, 5, 0]])
    assert additive_mask(None, ids, torch.float32) is None
    mask = additive_mask(torch.tensor([[1, 1, 0]]), ids, torch.float32)
    assert mask.shape == (1, 1, 1, 3)
    assert mask[0, 0, 0, :2].tolist() == [0.0, 0.0] and mask[0, 0, 0, 2] == torch.finfo(torch.float32).min
    with pytest.raises(ValueError, match="attention_mask holds 2"):
        additive_mask(torch.tensor([[1, 2, 0]]), ids, torch.float32)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 2\)"):
        additive_mask(torch.tensor([[1, 1]]), ids, torch.float32)
