"""The model on its own: shapes, config validation, clear errors for bad input, determinism."""

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertForPreTraining, BertModel


def test_config_round_trip_and_presets(tmp_path):
    c = BertConfig.preset("mini", vocab_size=777)
    c.save(tmp_path / "config.json")
    assert BertConfig.load(tmp_path / "config.json") == BertConfig.from_dict(c.to_dict())
    assert BertConfig.load(tmp_path / "config.json").vocab_size == 777
    assert BertConfig.preset("large").hidden_size == 1024


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(hidden_size=100, num_attention_heads=3), "divisible by num_attention_heads"),
        (dict(num_hidden_layers=0), "positive integer"),
        (dict(hidden_dropout_prob=1.5), "must be in [0, 1)"),
        (dict(attn_implementation="flash"), "'eager'"),
        (dict(pad_token_id=5000, vocab_size=100), "pad_token_id"),
    ],
)
def test_impossible_configs_are_rejected_clearly(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace(")", r"\)").replace("(", r"\(")):
        BertConfig(**kwargs)


def test_unknown_preset_and_unknown_config_field():
    with pytest.raises(ValueError, match="choose one of"):
        BertConfig.preset("gigantic")
    with pytest.raises(ValueError, match="does not know"):
        BertConfig.from_dict({"hidden_sizes": 12})


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


def test_labels_out_of_range_for_a_task_head():
    model = bertlib.BertForSequenceClassification(BertConfig.preset("test", num_labels=2))
    with pytest.raises(ValueError, match="num_labels=2"):
        model(torch.tensor([[2, 7, 3]]), labels=torch.tensor([4]))


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


def test_eager_and_sdpa_paths_agree_in_training_mode_without_dropout():
    torch.manual_seed(0)
    config = BertConfig.preset("test")
    model = BertModel(config).train()
    ids = torch.randint(5, config.vocab_size, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    sdpa = model(ids, attention_mask=mask).last_hidden_state
    eager = model(ids, attention_mask=mask, output_attentions=True).last_hidden_state
    torch.testing.assert_close(sdpa, eager, atol=1e-5, rtol=0)


def test_get_device_is_cpu_here_and_rejects_missing_cuda(monkeypatch):
    monkeypatch.delenv("BERTLIB_DEVICE", raising=False)
    if not torch.cuda.is_available():
        assert bertlib.get_device().type in ("cpu", "mps")
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            bertlib.get_device("cuda")
