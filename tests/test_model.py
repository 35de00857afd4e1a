"""The model on its own: shapes, config validation, clear errors for bad input, determinism."""

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertForPreTraining, BertModel


def test_parameter_counts_match_the_paper():
    # Devlin et al. report 110M (base) and 340M (large), counting the encoder with embeddings and pooler.
    assert round(BertModel(BertConfig.preset("base")).num_parameters() / 1e6) == 109
    large = sum(p.numel() for p in BertModel(BertConfig.preset("large")).parameters())
    assert 334e6 < large < 336e6


def test_shapes_and_outputs():
    config = BertConfig.preset("test")
    model = BertModel(config).eval()
    ids = torch.randint(5, config.vocab_size, (2, 9))
    out = model(ids, output_attentions=True, output_hidden_states=True)
    assert out.last_hidden_state.shape == (2, 9, config.hidden_size)
    assert out.pooler_output.shape == (2, config.hidden_size)
    assert len(out.hidden_states) == config.num_hidden_layers + 1
    assert [a.shape for a in out.attentions] == [(2, config.num_attention_heads, 9, 9)] * config.num_hidden_layers


def test_sequence_longer_than_the_model_allows():
    config = BertConfig.preset("test")
    with pytest.raises(ValueError, match=r"41 tokens but this model has only 40 position embeddings.*Truncate"):
        BertModel(config)(torch.ones(1, 41, dtype=torch.long))


def test_token_ids_outside_the_vocabulary_name_the_tokenizer():
    config = BertConfig.preset("test")
    with pytest.raises(ValueError, match="tokenizer does not match the model"):
        BertModel(config)(torch.tensor([[2, 500, 3]]))


def test_bad_shapes_and_segments():
    model = BertModel(BertConfig.preset("test"))
    with pytest.raises(ValueError, match=r"\(batch, seq_len\)"):
        model(torch.tensor([2, 7, 3]))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        model(torch.tensor([[2, 7, 3]]), attention_mask=torch.tensor([[1, 1]]))
    with pytest.raises(ValueError, match="Segment id 2 is out of range"):
        model(torch.tensor([[2, 7, 3]]), token_type_ids=torch.tensor([[0, 1, 2]]))


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    model = BertModel(BertConfig.preset("test")).eval()
    ids = torch.tensor([[2, 11, 12, 13, 3]])
    padded = torch.tensor([[2, 11, 12, 13, 3, 0, 0]])
    with torch.no_grad():
        a = model(ids).last_hidden_state
        b = model(padded, attention_mask=torch.tensor([[1] * 5 + [0, 0]])).last_hidden_state
    torch.testing.assert_close(a, b[:, :5], atol=1e-6, rtol=0)


def test_same_seed_same_init_and_outputs():
    outs = []
    for _ in range(2):
        bertlib.set_seed(7)
        model = BertForPreTraining(BertConfig.preset("test")).eval()
        outs.append(model(torch.tensor([[2, 9, 10, 3]])).prediction_logits)
    assert torch.equal(outs[0], outs[1])
