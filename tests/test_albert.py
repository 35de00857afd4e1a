"""ALBERT: parity with Hugging Face transformers on random weights, parameter counts, config errors.

transformers is a test dependency only; bertlib never imports it.

One departure from transformers, on purpose: ALBERT's released code applies dropout to
the feed-forward output before the residual, and Hugging Face's ``AlbertLayer`` leaves it
out. bertlib keeps it (it is BERT's block, and the paper's). ALBERT v2 trains with
dropout 0, and every comparison below runs with dropout 0 or in eval mode, where the two
agree exactly.
"""

import copy

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertModel
from bertlib.albert import AlbertModel, parameter_counts
from bertlib.albert_config import ALBERT_PRESETS, AlbertConfig
from bertlib.albert_heads import AlbertForPreTraining
from bertlib.metrics import batch_metrics
from tests.helpers import DOCUMENTS, tiny_tokenizer

try:  # a missing reference must fail the suite, not skip it
    import transformers
except ImportError as e:
    raise ImportError(
        "tests/test_albert.py compares bertlib's ALBERT with Hugging Face transformers, a test dependency: "
        "install it with `pip install -e '.[test]'` (make test does)."
    ) from e

ATOL = 1e-5


def hf_config(config: AlbertConfig, attn: str = "eager"):
    return transformers.AlbertConfig(**config.to_dict(), attn_implementation=attn)


def padded_batch(vocab_size, seed=0):
    g = bertlib.generator(seed)
    ids = torch.randint(5, vocab_size, (3, 11), generator=g)
    mask = torch.tensor([[1] * 11, [1] * 7 + [0] * 4, [1] * 3 + [0] * 8])
    types = torch.tensor([[0] * 5 + [1] * 6, [0] * 4 + [1] * 3 + [0] * 4, [0] * 11])
    ids[mask == 0] = 0
    return ids, types, mask


@pytest.fixture(scope="module")
def pair():
    """Our AlbertForPreTraining and transformers' with the same random weights (ours loaded into theirs)."""
    torch.manual_seed(0)
    config = AlbertConfig.preset("test")  # E != H, two groups of two layers, odd sizes
    ours = AlbertForPreTraining(config).eval()
    theirs = transformers.AlbertForPreTraining(hf_config(config)).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)  # every name matches, no rename table
    return config, ours, theirs


def _assert_all_close(xs, ys, atol=ATOL):
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys, strict=True):
        torch.testing.assert_close(x, y, atol=atol, rtol=0)


@pytest.mark.parametrize("our_attn", ["eager", "sdpa"])
@pytest.mark.parametrize("their_attn", ["eager", "sdpa"])
def test_pretraining_outputs_match(pair, our_attn, their_attn):
    config, shared, _ = pair
    ours = copy.deepcopy(shared)  # the shared fixture stays as every test expects it
    theirs = transformers.AlbertForPreTraining(hf_config(config, their_attn)).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    for module in ours.modules():
        if hasattr(module, "attn_implementation"):
            module.attn_implementation = our_attn
    ids, types, mask = padded_batch(config.vocab_size)
    with torch.no_grad():
        a = ours(ids, types, mask, output_hidden_states=True)
        b = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask, output_hidden_states=True)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(a.sop_logits, b.sop_logits, atol=ATOL, rtol=0)
    # the projected embeddings, then one output per block run: L * inner_group_num = 4 * 2
    assert len(a.hidden_states) == 1 + config.num_hidden_layers * config.inner_group_num == 9
    _assert_all_close(a.hidden_states, b.hidden_states)


def test_attention_weights_match(pair):
    config, ours, theirs = pair
    ids, types, mask = padded_batch(config.vocab_size, seed=1)
    with torch.no_grad():
        a = ours(ids, types, mask, output_attentions=True)
        b = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask, output_attentions=True)
    assert len(a.attentions) == 8 and a.attentions[0].shape == (3, config.num_attention_heads, 11, 11)
    _assert_all_close(a.attentions, b.attentions)
    assert float(a.attentions[0][1, :, :, 7:].abs().max()) == 0.0  # padding keys get no weight


def test_losses_match_and_the_masked_head_is_exact(pair):
    config, ours, theirs = pair
    ids, types, mask = padded_batch(config.vocab_size, seed=2)
    labels = torch.full_like(ids, -100)
    labels[0, [1, 4, 8]] = ids[0, [1, 4, 8]]
    labels[1, 2] = ids[1, 2]
    order = torch.tensor([0, 1, 1])
    with torch.no_grad():
        full = ours(ids, types, mask, labels=labels, sentence_order_label=order, logits_at="all")
        fast = ours(ids, types, mask, labels=labels, next_sentence_label=order)  # bertlib's batch key
        ref = theirs(
            input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels, sentence_order_label=order
        )
    torch.testing.assert_close(full.loss, ref.loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(fast.loss, ref.loss, atol=ATOL, rtol=0)
    assert set(fast.losses) == {"mlm", "sop"} and fast.losses["sop"] is fast.sop_loss
    torch.testing.assert_close(fast.losses["mlm"] + fast.losses["sop"], fast.loss)
    assert fast.prediction_logits is None and fast.masked_logits.shape == (4, config.vocab_size)
    torch.testing.assert_close(fast.masked_logits, ref.prediction_logits[labels != -100], atol=ATOL, rtol=0)
    mlm_only = ours(ids, types, mask, labels=labels)
    assert set(mlm_only.losses) == {"mlm"} and mlm_only.sop_loss is None


def test_a_pretraining_dataset_batch_trains(pair):
    """The batches bertlib's PretrainingDataset makes go straight in: model(**batch).loss.backward()."""
    config, shared, _ = pair
    tokenizer = tiny_tokenizer()
    data = bertlib.PretrainingDataset(bertlib.make_nsp_pairs(DOCUMENTS, seed=0), tokenizer, max_length=24)
    batch = data.collate(list(range(4)), bertlib.generator(0))
    assert {"input_ids", "token_type_ids", "attention_mask", "labels", "next_sentence_label"} <= set(batch)
    model = AlbertForPreTraining(AlbertConfig.preset("test", vocab_size=tokenizer.vocab_size)).train()
    out = model(**batch)
    out.loss.backward()
    assert set(out.losses) == {"mlm", "sop"} and float(out.loss.detach()) > 0
    shared_query = model.albert.encoder.albert_layer_groups[0].albert_layers[0].attention.query.weight
    assert shared_query.grad is not None and float(shared_query.grad.abs().sum()) > 0
    # the Trainer's metrics: both losses and both accuracies, counted per pair and per masked token
    sums = batch_metrics(out, batch)
    assert {"loss", "mlm_loss", "sop_loss", "mlm_accuracy", "sop_accuracy"} <= set(sums)
    hits = float((out.sop_logits.argmax(-1) == batch["next_sentence_label"]).sum())
    assert sums["sop_accuracy"] == (hits, 4)
    assert sums["mlm_accuracy"][1] == int((batch["labels"] != -100).sum())


def test_their_weights_load_into_ours(pair, tmp_path):
    """The other direction: transformers' random init, loaded into bertlib, state dict and checkpoint."""
    config, _, _ = pair
    torch.manual_seed(4)
    theirs = transformers.AlbertForPreTraining(hf_config(config)).eval()
    ours = AlbertForPreTraining(config).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ids, types, mask = padded_batch(config.vocab_size, seed=5)
    with torch.no_grad():
        ref = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask)
        torch.testing.assert_close(ours(ids, types, mask).prediction_logits, ref.prediction_logits, atol=ATOL, rtol=0)
        theirs.save_pretrained(tmp_path / "theirs")
        back = AlbertForPreTraining.from_pretrained(tmp_path / "theirs")
        assert back.loading_info == {"missing_keys": [], "unexpected_keys": []}
        torch.testing.assert_close(back(ids, types, mask).sop_logits, ref.sop_logits, atol=ATOL, rtol=0)
        # a bare AlbertModel checkpoint (no "albert." prefix) loads into the bare encoder
        bare = transformers.AlbertModel(hf_config(config)).eval()
        bare.save_pretrained(tmp_path / "bare")
        encoder = AlbertModel.from_pretrained(tmp_path / "bare")
        want = bare(input_ids=ids, token_type_ids=types, attention_mask=mask)
        got = encoder(ids, types, mask)
        torch.testing.assert_close(got.last_hidden_state, want.last_hidden_state, atol=ATOL, rtol=0)
        torch.testing.assert_close(got.pooler_output, want.pooler_output, atol=ATOL, rtol=0)


def test_our_checkpoint_loads_into_transformers(pair, tmp_path):
    config, ours, _ = pair
    ours.save_pretrained(tmp_path)
    assert AlbertConfig.load(tmp_path / "config.json") == config
    theirs = transformers.AlbertForPreTraining.from_pretrained(tmp_path, attn_implementation="eager").eval()
    ids, types, mask = padded_batch(config.vocab_size, seed=6)
    with torch.no_grad():
        a, b = ours(ids, types, mask), theirs(input_ids=ids, token_type_ids=types, attention_mask=mask)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(a.sop_logits, b.sop_logits, atol=ATOL, rtol=0)
    assert ours.predictions.decoder.weight is ours.albert.embeddings.word_embeddings.weight


def _hf_count(model_class, config) -> int:
    with torch.device("meta"):  # shapes only: bert-base and albert-xxlarge cost no memory
        return sum(p.numel() for p in model_class(config).parameters())


def test_parameter_counts_from_configs_match_transformers():
    """bert-base against albert-base: 109.5M against 11.7M, the factorization and the sharing."""
    bert, albert = parameter_counts(BertConfig.preset("base")), parameter_counts(AlbertConfig.preset("base"))
    assert bert["total"] == _hf_count(transformers.BertModel, transformers.BertConfig()) == 109_482_240
    hf_albert_base = transformers.AlbertConfig(
        embedding_size=128, hidden_size=768, num_attention_heads=12, intermediate_size=3072
    )
    assert albert["total"] == _hf_count(transformers.AlbertModel, hf_albert_base) == 11_683_584
    assert bert["total"] == bert["embeddings"] + bert["encoder"] + bert["pooler"]
    assert albert["total"] == albert["embeddings"] + albert["encoder"] + albert["pooler"]
    assert albert["embeddings"] == (30000 + 512 + 2) * 128 + 2 * 128  # V, positions, segments at E; LayerNorm
    for name in ("large", "xlarge", "xxlarge"):
        config = AlbertConfig.preset(name)
        assert parameter_counts(config)["total"] == _hf_count(transformers.AlbertModel, hf_config(config)), name
    # sharing: a single group costs the same at 12 layers as at 24
    deeper = AlbertConfig.preset("base", num_hidden_layers=24)
    assert parameter_counts(deeper) == albert


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(num_hidden_layers=6, num_hidden_groups=4), "multiple of num_hidden_groups"),
        (dict(num_hidden_layers=2, num_hidden_groups=3), "larger than num_hidden_layers"),
        (dict(embedding_size=1024), "embedding_size <= 768"),
        (dict(inner_group_num=0), "inner_group_num must be a positive integer"),
        (dict(classifier_dropout_prob=1.0), "classifier_dropout_prob"),
        (dict(hidden_size=100, num_attention_heads=3, embedding_size=64), "divisible by num_attention_heads"),
    ],
)
def test_impossible_albert_configs_are_rejected_clearly(kwargs, words):
    with pytest.raises(ValueError, match=words):
        AlbertConfig(**kwargs)


def test_config_files_and_classes_do_not_mix(tmp_path):
    config = AlbertConfig.preset("test")
    config.save(tmp_path / "config.json")
    with pytest.raises(ValueError, match="AlbertConfig"):
        BertConfig.load(tmp_path / "config.json")
    BertConfig.preset("test").save(tmp_path / "bert.json")
    with pytest.raises(ValueError, match="'bert' model, not a 'albert'"):
        AlbertConfig.load(tmp_path / "bert.json")
    with pytest.raises(TypeError, match="AlbertConfig"):
        AlbertModel(BertConfig.preset("test"))
    with pytest.raises(ValueError, match="num_labels=2"):
        AlbertForPreTraining(AlbertConfig.preset("test", num_labels=3))
    with pytest.raises(ValueError, match="once"):
        model = AlbertForPreTraining(config)
        ids = torch.tensor([[2, 7, 3]])
        model(ids, next_sentence_label=torch.tensor([0]), sentence_order_label=torch.tensor([0]))


def test_presets_and_repr():
    assert set(ALBERT_PRESETS) >= {"test", "mini", "small", "base", "large", "xlarge", "xxlarge"}
    base = AlbertConfig.preset("base")
    assert (base.embedding_size, base.hidden_size, base.num_hidden_layers, base.num_hidden_groups) == (128, 768, 12, 1)
    assert repr(base).startswith("AlbertConfig(vocab_size=30000,") and "embedding_size=128" in repr(base)
    assert "position_embedding_type" not in repr(base)  # as in BertConfig, shown only when changed
    with pytest.raises(ValueError, match="Unknown ALBERT preset"):
        AlbertConfig.preset("huge")


def test_parameter_counts_of_a_bert_config_count_a_bert_model():
    """The meta-device count agrees with a model built for real."""
    counts = parameter_counts(BertConfig.preset("test"))
    assert counts["total"] == BertModel(BertConfig.preset("test")).num_parameters()
