"""ELECTRA (bertlib.electra, bertlib.objectives.replaced_tokens): parity with transformers, RTD, weight sharing.

The parity tests load Hugging Face's randomly initialised ElectraForPreTraining and
ElectraForMaskedLM state dicts into ours with ``strict=True`` (same names) and compare
the outputs on a padded batch, on both of bertlib's attention paths. transformers is a
test dependency only; bertlib never imports it.
"""

import pytest
import torch

import bertlib
from bertlib import (
    ElectraConfig,
    ElectraForMaskedLM,
    ElectraForPreTraining,
    PretrainingDataset,
    ReplacedTokenDetection,
    Trainer,
    TrainingConfig,
    generator_config,
    rtd_labels,
)
from tests.test_parity import ATOL, padded_batch

try:  # a missing reference must fail the suite, not skip it
    import transformers
except ImportError as e:
    raise ImportError(
        "tests/test_electra.py compares bertlib with Hugging Face transformers, a test dependency: "
        "install it with `pip install -e '.[test]'` (make test does)."
    ) from e

# embedding_size 16 != hidden_size 24: the projection (electra.embeddings_project) is exercised.
CONFIGS = {"projected": dict(embedding_size=16), "same_width": dict(embedding_size=24)}


def configs(attn, **overrides):
    ours = ElectraConfig.preset("test", attn_implementation=attn, **overrides)
    return ours, transformers.ElectraConfig(**ours.to_dict(), attn_implementation=attn)


@pytest.mark.parametrize("shape", sorted(CONFIGS))
@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_discriminator_matches_transformers(attn, shape):
    ours_config, their_config = configs(attn, **CONFIGS[shape])
    torch.manual_seed(0)
    theirs = transformers.ElectraForPreTraining(their_config).eval()
    ours = ElectraForPreTraining(ours_config).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)  # Hugging Face's names, unchanged
    assert hasattr(ours.electra, "embeddings_project") == (shape == "projected")
    ids, types, mask = padded_batch(ours_config.vocab_size)
    labels = (torch.rand(ids.shape, generator=torch.Generator().manual_seed(1)) < 0.3).long()
    a = ours(ids, types, mask, labels=rtd_labels(ids, ids + labels, mask), output_hidden_states=True)
    b = theirs(ids, attention_mask=mask, token_type_ids=types, labels=labels, output_hidden_states=True)
    real = mask.bool()
    torch.testing.assert_close(a.logits[real], b.logits[real], atol=ATOL, rtol=0)
    torch.testing.assert_close(a.loss, b.loss, atol=ATOL, rtol=0)
    for x, y in zip(a.hidden_states, b.hidden_states, strict=True):
        torch.testing.assert_close(x[real], y[real], atol=ATOL, rtol=0)


@pytest.mark.parametrize("shape", sorted(CONFIGS))
@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_generator_matches_transformers(attn, shape):
    ours_config, their_config = configs(attn, **CONFIGS[shape])
    torch.manual_seed(0)
    theirs = transformers.ElectraForMaskedLM(their_config).eval()
    ours = ElectraForMaskedLM(ours_config).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert ours.generator_lm_head.weight is ours.electra.embeddings.word_embeddings.weight  # tied, as theirs
    ids, types, mask = padded_batch(ours_config.vocab_size)
    labels = torch.full_like(ids, -100)
    labels[0, 2], labels[1, 5], labels[2, 1] = ids[0, 2], ids[1, 5], ids[2, 1]
    full = ours(ids, types, mask, labels=labels, logits_at="all")
    fast = ours(ids, types, mask, labels=labels)  # scores at the masked positions only
    ref = theirs(ids, attention_mask=mask, token_type_ids=types, labels=labels)
    real = mask.bool()
    torch.testing.assert_close(full.logits[real], ref.logits[real], atol=ATOL, rtol=0)
    torch.testing.assert_close(fast.masked_logits, ref.logits[labels != -100], atol=ATOL, rtol=0)
    torch.testing.assert_close(full.loss, ref.loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(fast.loss, ref.loss, atol=ATOL, rtol=0)


def test_attention_weights_match_transformers():
    ours_config, their_config = configs("eager", embedding_size=16)
    torch.manual_seed(0)
    theirs = transformers.ElectraForPreTraining(their_config).eval()
    ours = ElectraForPreTraining(ours_config).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ids, types, mask = padded_batch(ours_config.vocab_size)
    a = ours(ids, types, mask, output_attentions=True).attentions
    b = theirs(ids, attention_mask=mask, token_type_ids=types, output_attentions=True).attentions
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, atol=ATOL, rtol=0)


def test_the_config_round_trips_through_transformers_config_json(tmp_path):
    ours = ElectraConfig.preset("test", embedding_size=16)
    transformers.ElectraConfig(**ours.to_dict()).save_pretrained(tmp_path)
    assert ElectraConfig.load(tmp_path / "config.json") == ours
    with pytest.raises(ValueError, match="model_type 'electra'"):
        ElectraConfig.from_dict(bertlib.BertConfig.preset("test").to_dict())
    with pytest.raises(TypeError, match="ElectraConfig"):
        ElectraForPreTraining(bertlib.BertConfig.preset("test"))


def test_rtd_labels_mark_replacements_and_a_lucky_sample_counts_as_original():
    original = torch.tensor([[2, 10, 11, 12, 3, 0], [2, 20, 21, 3, 0, 0]])
    corrupted = torch.tensor([[2, 10, 50, 12, 3, 0], [2, 20, 21, 3, 0, 0]])  # row 1: the sample was the original
    mask = (original != 0).long()
    assert rtd_labels(original, corrupted, mask).tolist() == [[0, 0, 1, 0, 0, -100], [0, 0, 0, 0, -100, -100]]
    assert rtd_labels(original, corrupted).tolist()[0] == [0, 0, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="same shape"):
        rtd_labels(original, corrupted[:, :4], mask)


def rtd_setup(seed=0, **config):
    bertlib.set_seed(seed)
    disc = ElectraConfig.preset("test", embedding_size=16, **config)
    return ReplacedTokenDetection(ElectraForMaskedLM(generator_config(disc, 0.5)), ElectraForPreTraining(disc))


def masked_batch(vocab_size=101):
    ids, types, mask = padded_batch(vocab_size)
    labels = torch.full_like(ids, -100)
    for row, col in [(0, 1), (0, 4), (0, 7), (1, 2), (1, 5), (2, 1)]:
        labels[row, col], ids[row, col] = ids[row, col], 4  # 4 stands for [MASK]
    return dict(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels)


def test_rtd_samples_only_the_masked_positions_reproducibly_and_weighs_the_losses():
    model = rtd_setup()
    batch = masked_batch()
    state = torch.random.get_rng_state()
    out = model(**batch, sampling_generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.random.get_rng_state(), state)  # the reader's global generator is left alone
    again = model(**batch, sampling_generator=torch.Generator().manual_seed(3))
    assert torch.equal(out.corrupted_ids, again.corrupted_ids)
    masked = batch["labels"] != -100
    original = torch.where(masked, batch["labels"], batch["input_ids"])
    assert torch.equal(out.corrupted_ids[~masked], original[~masked])  # the rest is the original text
    assert not (out.corrupted_ids == 4).any()  # no [MASK] reaches the discriminator
    assert torch.equal(out.labels, rtd_labels(original, out.corrupted_ids, batch["attention_mask"]))
    torch.testing.assert_close(out.loss, out.losses["generator"] + 50 * out.losses["discriminator"])
    real = batch["attention_mask"].bool()
    assert out.metrics["replaced_fraction"].item() == pytest.approx(out.labels[real].float().mean().item())
    with pytest.raises(ValueError, match="nsp=False"):
        model(**batch, next_sentence_label=torch.zeros(3, dtype=torch.long))


def test_embeddings_are_shared_and_no_gradient_flows_through_the_sampling():
    model = rtd_setup()
    gen, disc = model.generator, model.discriminator
    assert gen.electra.embeddings is disc.electra.embeddings
    assert gen.generator_lm_head.weight is disc.electra.embeddings.word_embeddings.weight
    separate = ElectraForMaskedLM(gen.config).num_parameters() + disc.num_parameters()
    shared = sum(p.numel() for p in gen.electra.embeddings.parameters())
    assert sum(p.numel() for p in model.parameters()) == separate - shared
    out = model(**masked_batch(), sampling_generator=torch.Generator().manual_seed(0))
    out.losses["discriminator"].backward()
    assert all(p.grad is None for p in gen.electra.encoder.parameters())  # sampling is not differentiable
    assert disc.electra.embeddings.word_embeddings.weight.grad.abs().sum() > 0  # shared: trained by both


def test_bad_generator_discriminator_pairs_are_clear_errors():
    disc = ElectraConfig.preset("test", embedding_size=16)
    with pytest.raises(ValueError, match="larger than the discriminator.*generator_config"):
        ReplacedTokenDetection(
            ElectraForMaskedLM(ElectraConfig.preset("test", embedding_size=16, hidden_size=48)),
            ElectraForPreTraining(disc),
        )
    other = generator_config(ElectraConfig.preset("test", embedding_size=12), 0.5)
    with pytest.raises(ValueError, match="same embedding_size.*tie_embeddings=False"):
        ReplacedTokenDetection(ElectraForMaskedLM(other), ElectraForPreTraining(disc))
    untied = ReplacedTokenDetection(ElectraForMaskedLM(other), ElectraForPreTraining(disc), tie_embeddings=False)
    assert untied.generator.electra.embeddings is not untied.discriminator.electra.embeddings
    with pytest.raises(ValueError, match="vocabulary"):
        ReplacedTokenDetection(
            ElectraForMaskedLM(generator_config(ElectraConfig.preset("test", vocab_size=90, embedding_size=16))),
            ElectraForPreTraining(disc),
        )


def test_rtd_trains_with_the_trainer_on_the_town_corpus():
    """A tiny ELECTRA learns replaced-token detection in a few seconds: the discriminator's loss falls."""
    corpus = bertlib.data.load_corpus("town", n_documents=60)
    tok = bertlib.train_tokenizer(corpus.sentences(), vocab_size=300)
    disc = ElectraConfig.preset("tiny", vocab_size=tok.vocab_size, embedding_size=64, hidden_dropout_prob=0.0)
    bertlib.set_seed(0)
    model = ReplacedTokenDetection(ElectraForMaskedLM(generator_config(disc, 0.5)), ElectraForPreTraining(disc))
    data = PretrainingDataset(corpus.sentences(), tok, max_length=32, nsp=False, mask_fraction=1.0, random_fraction=0)
    cfg = TrainingConfig(steps=30, batch_size=16, lr=2e-3, warmup_steps=3, log_every=10, progress=False)
    history = Trainer(model, data, cfg).train()
    first, last = history.train[0], history.train[-1]
    assert last["discriminator_loss"] < 0.8 * first["discriminator_loss"]
    assert last["generator_loss"] < first["generator_loss"]
    assert 0 < last["replaced_fraction"] < 0.2
