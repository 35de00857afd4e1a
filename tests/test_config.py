"""BertConfig: Hugging Face field names, presets, clear errors for impossible values, config.json."""

import pytest

from bertlib import BertConfig


def test_config_round_trip_and_presets(tmp_path):
    c = BertConfig.preset("mini", vocab_size=777)
    c.save(tmp_path / "config.json")
    assert BertConfig.load(tmp_path / "config.json") == BertConfig.from_dict(c.to_dict())
    assert BertConfig.load(tmp_path / "config.json").vocab_size == 777


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


@pytest.mark.parametrize(
    "field, value",
    [("layer_norm_eps", float("nan")), ("initializer_range", float("inf")), ("hidden_dropout_prob", "0.1")],
)
def test_config_numbers_are_checked(field, value):
    with pytest.raises(ValueError, match=field):
        BertConfig.preset("test", **{field: value})


@pytest.mark.parametrize("content", ["null", "[]", "{}", '{"hidden_size": null}'])
def test_bad_config_files_are_named(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="config.json"):
        BertConfig.load(path)


def test_runtime_switches_stay_out_of_config_json(tmp_path):
    """attn_implementation and sparse_last_layer choose how to compute, not what: config.json omits them."""
    config = BertConfig.preset("test", attn_implementation="eager", sparse_last_layer=False)
    d = config.to_dict()
    assert "attn_implementation" not in d and "sparse_last_layer" not in d
    assert d["model_type"] == "bert" and d["hidden_size"] == 24
    assert "sparse_last_layer" not in repr(config)  # lesson 5 prints a config
    again = BertConfig.from_dict(d)
    assert again.sparse_last_layer is True and again.attn_implementation == "sdpa"  # the defaults come back
