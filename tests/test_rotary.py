"""Rotary positions (RoPE): relative by construction, RoFormer's formulation, no length cap.

The reference is Hugging Face's RoFormer (Su et al. 2021's own model): a BERT with
rotary positions and BERT's weight names, so our rotary BertModel's weights load into
``transformers.RoFormerModel`` (which adds only its fixed sinusoid table). transformers
is a test dependency only; bertlib never imports it.
"""

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertForPreTraining, BertModel
from bertlib.checkpoint import CheckpointError
from bertlib.rotary import rotary_angles, rotate

try:  # a missing reference must fail the suite, not skip it
    import transformers
    from transformers.models.roformer.modeling_roformer import (
        RoFormerSelfAttention,
        RoFormerSinusoidalPositionalEmbedding,
    )
except ImportError as e:
    raise ImportError(
        "tests/test_rotary.py compares bertlib's rotary positions with Hugging Face transformers' RoFormer, a "
        "test dependency: install it with `pip install -e '.[test]'` (make test does)."
    ) from e

ATOL = 1e-5


def rotary_config(**overrides) -> BertConfig:
    return BertConfig.preset("test", position_embedding_type="rotary", **overrides)  # head size 8, 40 positions


def test_scores_depend_on_the_distance_only():
    """q at position i against k at j: the same score for every (i, j) with the same j - i (paper, eq. 16)."""
    g = bertlib.generator(0)
    q, k = (
        torch.randn(1, 1, 1, 16, generator=g, dtype=torch.float64),
        torch.randn(1, 1, 1, 16, generator=g, dtype=torch.float64),
    )

    def score(i: int, j: int) -> float:
        return float((rotate(q, torch.tensor([i])) * rotate(k, torch.tensor([j]))).sum())

    for distance in (-7, 0, 3, 250):
        scores = [score(i, i + distance) for i in (0, 1, 17, 500, 4000)]
        assert max(scores) - min(scores) < 1e-9, (distance, scores)
    assert abs(score(0, 3) - score(0, 4)) > 1e-3  # and it does depend on the distance
    # a rotation keeps lengths: positions turn vectors, they do not scale them
    turned = rotate(q, torch.tensor([123]))
    torch.testing.assert_close(turned.norm(), q.norm())


def test_rotation_equals_roformers():
    """Same angles (base 10000, adjacent pairs) and same rotation as transformers' RoFormer."""
    T, d = 50, 8
    g = bertlib.generator(1)
    q, k = torch.randn(2, 3, T, d, generator=g), torch.randn(2, 3, T, d, generator=g)
    table = RoFormerSinusoidalPositionalEmbedding(T, d).create_weight()  # (T, d): sines, then cosines
    their_q, their_k = RoFormerSelfAttention.apply_rotary_position_embeddings(table[None, None], q, k)
    positions = torch.arange(T)
    torch.testing.assert_close(rotate(q, positions), their_q, atol=ATOL, rtol=0)
    torch.testing.assert_close(rotate(k, positions), their_k, atol=ATOL, rtol=0)
    angles = rotary_angles(positions, d)
    torch.testing.assert_close(angles[:, 0::2].sin().float(), table[:, : d // 2], atol=1e-6, rtol=0)


def roformer_like(config: BertConfig, attn: str = "eager"):
    hf = transformers.RoFormerConfig(
        vocab_size=config.vocab_size,
        embedding_size=config.hidden_size,  # no E -> H projection, as in BERT
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        hidden_act=config.hidden_act,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=config.max_position_embeddings,
        layer_norm_eps=config.layer_norm_eps,
        rotary_value=False,  # the paper rotates queries and keys only
        attn_implementation=attn,
    )
    return transformers.RoFormerModel(hf).eval()


@pytest.mark.parametrize("our_attn", ["eager", "sdpa"])
def test_rotary_bert_matches_transformers_roformer(our_attn):
    """Hidden states and attention weights of every layer, both our attention paths."""
    torch.manual_seed(2)
    config = rotary_config(attn_implementation=our_attn)
    ours = BertModel(config, add_pooling_layer=False).eval()
    theirs = roformer_like(config)
    loaded = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert loaded.missing_keys == ["encoder.embed_positions.weight"] and loaded.unexpected_keys == []  # its sinusoids
    assert not any("position" in name for name in ours.state_dict())  # no learned position table
    ids = torch.randint(5, config.vocab_size, (3, 11), generator=bertlib.generator(3))
    mask = torch.tensor([[1] * 11, [1] * 7 + [0] * 4, [1] * 3 + [0] * 8])
    with torch.no_grad():
        a = ours(ids, None, mask, output_hidden_states=True)
        b = theirs(input_ids=ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
        weights = ours(ids, None, mask, output_attentions=True).attentions  # always the explicit path
    assert len(a.hidden_states) == len(b.hidden_states) == config.num_hidden_layers + 1
    for x, y in zip(a.hidden_states, b.hidden_states, strict=True):
        torch.testing.assert_close(x, y, atol=ATOL, rtol=0)
    for x, y in zip(weights, b.attentions, strict=True):
        assert x.shape == (3, config.num_attention_heads, 11, 11)
        torch.testing.assert_close(x, y, atol=ATOL, rtol=0)


def test_rotary_runs_past_the_training_length_and_absolute_does_not():
    torch.manual_seed(4)
    config = rotary_config()
    model = BertForPreTraining(config).eval()
    long = torch.randint(5, config.vocab_size, (2, 2 * config.max_position_embeddings), generator=bertlib.generator(5))
    with torch.no_grad():
        out = model(long, output_attentions=True)
    assert out.prediction_logits.shape == (2, 80, config.vocab_size) and out.attentions[0].shape[-1] == 80
    assert bool(torch.isfinite(out.prediction_logits).all())
    absolute = BertForPreTraining(BertConfig.preset("test")).eval()
    with pytest.raises(ValueError, match="only 40 position embeddings"):
        absolute(long)


def test_sparse_last_layer_keeps_the_query_positions():
    """A training step runs the last layer at [CLS] + labelled rows only: each kept query keeps its position."""
    torch.manual_seed(6)
    model = BertForPreTraining(rotary_config()).train()
    ids = torch.randint(5, 101, (3, 11), generator=bertlib.generator(7))
    labels = torch.full_like(ids, -100)
    labels[0, [3, 9]] = ids[0, [3, 9]]
    labels[2, [1, 5, 6, 10]] = ids[2, [1, 5, 6, 10]]
    runs = {}
    for sparse in (True, False):
        model.config.sparse_last_layer = sparse
        model.zero_grad()
        out = model(ids, labels=labels, next_sentence_label=torch.tensor([0, 1, 0]))
        out.loss.backward()
        runs[sparse] = out, {n: p.grad.clone() for n, p in model.named_parameters()}
    (fast, fast_g), (full, full_g) = runs[True], runs[False]
    assert fast.last_hidden_state is None and full.last_hidden_state is not None  # the sparse path ran
    torch.testing.assert_close(fast.masked_logits, full.masked_logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(fast.loss, full.loss, atol=1e-6, rtol=0)
    for name in full_g:
        torch.testing.assert_close(fast_g[name], full_g[name], atol=1e-6, rtol=1e-5, msg=name)


def test_checkpoint_round_trip_keeps_rotary(tmp_path):
    torch.manual_seed(8)
    config = rotary_config(rotary_base=500.0)
    model = BertForPreTraining(config).eval()
    model.save_pretrained(tmp_path)
    saved = BertConfig.load(tmp_path / "config.json")
    assert (saved.position_embedding_type, saved.rotary_base) == ("rotary", 500.0)
    back = BertForPreTraining.from_pretrained(tmp_path)
    assert back.loading_info == {"missing_keys": [], "unexpected_keys": []}
    ids = torch.randint(5, 101, (2, 60), generator=bertlib.generator(9))  # longer than max_position_embeddings
    with torch.no_grad():
        torch.testing.assert_close(back(ids).prediction_logits, model(ids).prediction_logits, atol=0, rtol=0)
    with pytest.raises(CheckpointError, match="rotary_base=500.0"):
        BertForPreTraining.from_pretrained(tmp_path, rotary_base=10000.0)  # different angles: a different model


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(position_embedding_type="relative_key"), "'absolute'.*'rotary'"),
        (dict(position_embedding_type="rotary", hidden_size=27, num_attention_heads=3), "head size must be even"),
        (dict(rotary_base=1.0), "rotary_base"),
        (dict(rotary_base=float("nan")), "rotary_base"),
    ],
)
def test_bad_position_configs_are_rejected_clearly(kwargs, words):
    with pytest.raises(ValueError, match=words):
        BertConfig.preset("test", **kwargs)


def test_default_config_reads_and_writes_as_before():
    """Absolute positions stay BERT's: config.json without rotary_base, the printed config unchanged."""
    d = BertConfig.preset("test").to_dict()
    assert d["position_embedding_type"] == "absolute" and "rotary_base" not in d
    assert "position_embedding_type" not in repr(BertConfig())
    assert "position_embedding_type='rotary'" in repr(rotary_config())
    with pytest.raises(ValueError, match="relative_key"):
        BertConfig.from_dict({**d, "position_embedding_type": "relative_key"})  # a Hugging Face option we lack
