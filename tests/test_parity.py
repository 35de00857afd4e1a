"""Parity with Hugging Face transformers: same weights, same outputs (the minGPT test, for BERT).

transformers is a test dependency only; bertlib never imports it.
"""

import copy

import pytest
import torch

import bertlib
from bertlib import BertConfig, BertForPreTraining, BertModel
from bertlib.minilm import load_minilm, minilm_path

try:  # a missing reference must fail the suite, not skip the most valuable test in it
    import transformers
except ImportError as e:
    raise ImportError(
        "tests/test_parity.py compares bertlib with Hugging Face transformers, a test dependency: "
        "install it with `pip install -e '.[test]'` (make test does)."
    ) from e

ATOL = 1e-5


def hf_config(config: BertConfig, attn: str):
    return transformers.BertConfig(**config.to_dict(), attn_implementation=attn)


def padded_batch(vocab_size, seed=0):
    g = bertlib.seeded_generator(seed)
    ids = torch.randint(5, vocab_size, (3, 11), generator=g)
    mask = torch.tensor([[1] * 11, [1] * 7 + [0] * 4, [1] * 3 + [0] * 8])
    types = torch.tensor([[0] * 5 + [1] * 6, [0] * 4 + [1] * 3 + [0] * 4, [0] * 11])
    ids[mask == 0] = 0
    return ids, types, mask


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    config = BertConfig.preset("test")
    ours = BertForPreTraining(config).eval()
    theirs = transformers.BertForPreTraining(hf_config(config, "eager")).eval()
    # strict=True: every parameter name matches, with no rename table.
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return config, ours, theirs


@pytest.mark.parametrize("our_attn", ["eager", "sdpa"])
@pytest.mark.parametrize("their_attn", ["eager", "sdpa"])
def test_pretraining_outputs_match(pair, our_attn, their_attn):
    config, shared, _ = pair
    ours = copy.deepcopy(shared)  # a copy: the shared fixture stays as every test expects it
    theirs = transformers.BertForPreTraining(hf_config(config, their_attn)).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    for layer in ours.bert.encoder.layer:
        layer.attention.self.attn_implementation = our_attn
    ids, types, mask = padded_batch(config.vocab_size)
    with torch.no_grad():
        a = ours(ids, types, mask, output_hidden_states=True)
        b = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask, output_hidden_states=True)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(a.seq_relationship_logits, b.seq_relationship_logits, atol=ATOL, rtol=0)
    assert len(a.hidden_states) == len(b.hidden_states) == config.num_hidden_layers + 1
    for x, y in zip(a.hidden_states, b.hidden_states, strict=True):
        torch.testing.assert_close(x, y, atol=ATOL, rtol=0)


def test_attention_weights_match(pair):
    config, ours, theirs = pair
    ids, types, mask = padded_batch(config.vocab_size, seed=1)
    with torch.no_grad():
        a = ours(ids, types, mask, output_attentions=True)
        b = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask, output_attentions=True)
    assert len(a.attentions) == config.num_hidden_layers
    for x, y in zip(a.attentions, b.attentions, strict=False):
        assert x.shape == (3, config.num_attention_heads, 11, 11)
        torch.testing.assert_close(x, y, atol=ATOL, rtol=0)
        # padding keys get exactly zero weight; each row sums to one
        assert float(x[1, :, :, 7:].abs().max()) == 0.0
        torch.testing.assert_close(x.sum(-1), torch.ones_like(x.sum(-1)))


def test_losses_match_and_masked_head_is_exact(pair):
    config, ours, theirs = pair
    ids, types, mask = padded_batch(config.vocab_size, seed=2)
    labels = torch.full_like(ids, -100)
    labels[0, [1, 4, 8]] = ids[0, [1, 4, 8]]
    labels[1, 2] = ids[1, 2]
    nsp = torch.tensor([0, 1, 1])
    with torch.no_grad():
        full = ours(ids, types, mask, labels=labels, next_sentence_label=nsp, logits_at="all")
        fast = ours(ids, types, mask, labels=labels, next_sentence_label=nsp)  # head only at 4 positions
        ref = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels, next_sentence_label=nsp)
    torch.testing.assert_close(full.loss, ref.loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(fast.loss, ref.loss, atol=ATOL, rtol=0)
    assert fast.prediction_logits is None and fast.masked_logits.shape == (4, config.vocab_size)
    torch.testing.assert_close(fast.masked_logits, ref.prediction_logits[labels != -100], atol=ATOL, rtol=0)


def test_masked_head_gradients_equal_full_head():
    torch.manual_seed(1)
    config = BertConfig.preset("test")
    model = BertForPreTraining(config)
    ids, types, mask = padded_batch(config.vocab_size, seed=3)
    labels = torch.where(torch.rand(ids.shape, generator=bertlib.seeded_generator(4)) < 0.3, ids, -100)
    grads = []
    for where in ("all", "masked"):
        model.zero_grad()
        model(ids, types, mask, labels=labels, logits_at=where).loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], atol=1e-6, rtol=1e-5)


def _grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def _assert_grads_close(ours, theirs, atol=ATOL):
    assert ours.keys() <= theirs.keys()
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], atol=atol, rtol=0, msg=name)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_sparse_last_layer_matches_full_pass_and_transformers(attn):
    """A training step runs the last layer only at [CLS] + labelled rows: same loss, logits, gradients."""
    torch.manual_seed(5)
    config = BertConfig.preset("test", attn_implementation=attn)  # no dropout: transformers can compare
    ours = BertForPreTraining(config).train()
    theirs = transformers.BertForPreTraining(hf_config(config, attn)).train()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ids, types, mask = padded_batch(config.vocab_size, seed=8)
    labels = torch.full_like(ids, -100)
    labels[0, [1, 4, 8, 10]] = ids[0, [1, 4, 8, 10]]
    labels[1, [2, 6]] = ids[1, [2, 6]]  # row 2 has no label: only its [CLS] row is kept
    nsp = torch.tensor([0, 1, 1])
    runs = {}
    for sparse in (True, False):
        ours.config.sparse_last_layer = sparse
        ours.zero_grad()
        out = ours(ids, types, mask, labels=labels, next_sentence_label=nsp)
        out.loss.backward()
        runs[sparse] = out, _grads(ours)
    (fast, fast_g), (full, full_g) = runs[True], runs[False]
    assert fast.last_hidden_state is None and full.last_hidden_state is not None  # never a partial tensor
    ref = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels, next_sentence_label=nsp)
    ref.loss.backward()
    ref_g = {n: p.grad for n, p in theirs.named_parameters()}
    for out in (fast, full):
        torch.testing.assert_close(out.loss, ref.loss, atol=ATOL, rtol=0)
        torch.testing.assert_close(out.masked_logits, ref.prediction_logits[labels != -100], atol=ATOL, rtol=0)
        torch.testing.assert_close(out.seq_relationship_logits, ref.seq_relationship_logits, atol=ATOL, rtol=0)
    assert torch.equal(fast.masked_labels, full.masked_labels)
    assert fast_g.keys() == full_g.keys() and all(g.abs().sum() > 0 for g in fast_g.values())
    _assert_grads_close(fast_g, full_g, atol=1e-6)
    _assert_grads_close(fast_g, ref_g)


def test_sparse_last_layer_draws_the_same_dropout_numbers():
    """With dropout on, the sparse step gives the same numbers as the full one, and leaves the RNG alike."""
    config = BertConfig.preset("test", hidden_dropout_prob=0.1)
    model = BertForPreTraining(config).train()
    ids, types, mask = padded_batch(config.vocab_size, seed=9)
    labels = torch.where(torch.rand(ids.shape, generator=bertlib.seeded_generator(10)) < 0.3, ids, -100)
    runs = []
    for sparse in (True, False):
        model.config.sparse_last_layer = sparse
        model.zero_grad()
        bertlib.set_seed(11)
        out = model(ids, types, mask, labels=labels, next_sentence_label=torch.tensor([1, 0, 1]))
        out.loss.backward()
        runs.append((out.loss, _grads(model), torch.rand(4)))
    torch.testing.assert_close(runs[0][0], runs[1][0], atol=1e-6, rtol=0)
    _assert_grads_close(runs[0][1], runs[1][1], atol=1e-6)
    assert torch.equal(runs[0][2], runs[1][2])  # the next random numbers too


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_sequence_classifier_sparse_last_layer(attn):
    """Training mode: the last layer only at [CLS]; logits and gradients equal the full pass and transformers."""
    torch.manual_seed(6)
    config = BertConfig.preset("test", num_labels=3, attn_implementation=attn)
    ours = bertlib.BertForSequenceClassification(config).train()
    theirs = transformers.BertForSequenceClassification(hf_config(config, attn)).train()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ids, types, mask = padded_batch(config.vocab_size, seed=12)
    y = torch.tensor([2, 0, 1])
    runs = {}
    for sparse in (True, False):
        ours.config.sparse_last_layer = sparse
        ours.zero_grad()
        out = ours(ids, types, mask, labels=y)
        out.loss.backward()
        runs[sparse] = out, _grads(ours)
    ref = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=y)
    ref.loss.backward()
    assert runs[True][0].last_hidden_state is None
    torch.testing.assert_close(runs[True][0].logits, runs[False][0].logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(runs[True][0].logits, ref.logits, atol=ATOL, rtol=0)
    _assert_grads_close(runs[True][1], runs[False][1], atol=1e-6)
    _assert_grads_close(runs[True][1], {n: p.grad for n, p in theirs.named_parameters()})


def test_eval_mode_and_extra_outputs_keep_every_position():
    """Inspection (eval mode, hidden states, attentions) always gets the full last layer."""
    torch.manual_seed(7)
    config = BertConfig.preset("test")
    model = BertForPreTraining(config)
    ids, types, mask = padded_batch(config.vocab_size, seed=13)
    labels = torch.where(torch.rand(ids.shape, generator=bertlib.seeded_generator(14)) < 0.3, ids, -100)
    assert model.eval()(ids, types, mask, labels=labels).last_hidden_state.shape == (3, 11, config.hidden_size)
    model.train()
    full = (3, 11, config.hidden_size)
    assert model(ids, types, mask, labels=labels).last_hidden_state is None  # training alone: the sparse path
    assert model(ids, types, mask, labels=labels, output_hidden_states=True).last_hidden_state.shape == full
    assert model(ids, types, mask, labels=labels, output_attentions=True).last_hidden_state.shape == full
    assert model(ids, types, mask, labels=labels, logits_at="all").last_hidden_state.shape == full


def test_decoder_is_tied_to_word_embeddings(pair):
    _, ours, _ = pair
    assert ours.cls.predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight
    assert ours.cls.predictions.decoder.bias is ours.cls.predictions.bias


def test_checkpoint_loads_into_transformers_and_back(tmp_path, pair):
    config, ours, _ = pair
    ours.save_pretrained(tmp_path / "ours")
    theirs = transformers.BertForPreTraining.from_pretrained(tmp_path / "ours", attn_implementation="eager").eval()
    ids, types, mask = padded_batch(config.vocab_size, seed=5)
    with torch.no_grad():
        a = ours(ids, types, mask)
        b = theirs(input_ids=ids, token_type_ids=types, attention_mask=mask)
    torch.testing.assert_close(a.prediction_logits, b.prediction_logits, atol=ATOL, rtol=0)
    # and the reverse: a transformers checkpoint loads into bertlib
    theirs.save_pretrained(tmp_path / "theirs")
    back = BertForPreTraining.from_pretrained(tmp_path / "theirs")
    assert back.loading_info == {"missing_keys": [], "unexpected_keys": []}
    with torch.no_grad():
        c = back(ids, types, mask)
    torch.testing.assert_close(c.prediction_logits, b.prediction_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(c.seq_relationship_logits, b.seq_relationship_logits, atol=ATOL, rtol=0)


def test_bare_encoder_checkpoint_without_prefix_loads(tmp_path):
    torch.manual_seed(2)
    config = BertConfig.preset("test")
    hf = transformers.BertModel(hf_config(config, "eager")).eval()
    hf.save_pretrained(tmp_path)  # keys without the "bert." prefix, like all-MiniLM-L6-v2
    ids, types, mask = padded_batch(config.vocab_size, seed=6)
    encoder = BertModel.from_pretrained(tmp_path)
    classifier = bertlib.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)
    assert classifier.loading_info["missing_keys"] == ["classifier.bias", "classifier.weight"]
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
        torch.testing.assert_close(encoder(ids, types, mask).last_hidden_state, ref, atol=ATOL, rtol=0)
        torch.testing.assert_close(classifier.bert(ids, types, mask).last_hidden_state, ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "cls_name", ["BertForSequenceClassification", "BertForTokenClassification", "BertForQuestionAnswering"]
)
def test_task_models_match(cls_name):
    torch.manual_seed(3)
    # transformers sizes its QA head by num_labels (start + end = 2)
    config = BertConfig.preset("test", num_labels=2 if cls_name == "BertForQuestionAnswering" else 3)
    ours = getattr(bertlib, cls_name)(config).eval()
    theirs = getattr(transformers, cls_name)(hf_config(config, "eager")).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ids, types, mask = padded_batch(config.vocab_size, seed=7)
    with torch.no_grad():
        a, b = ours(ids, types, mask), theirs(input_ids=ids, token_type_ids=types, attention_mask=mask)
    if cls_name == "BertForQuestionAnswering":
        torch.testing.assert_close(a.start_logits, b.start_logits, atol=ATOL, rtol=0)
        torch.testing.assert_close(a.end_logits, b.end_logits, atol=ATOL, rtol=0)
    else:
        torch.testing.assert_close(a.logits, b.logits, atol=ATOL, rtol=0)


def test_parameter_counts_match_transformers_for_base():
    ours = BertModel(BertConfig.preset("base"))
    theirs = transformers.BertModel(transformers.BertConfig())
    assert ours.num_parameters() == theirs.num_parameters() == 109_482_240


@pytest.fixture(scope="module")
def minilm():
    """all-MiniLM-L6-v2's real weights, in bertlib and in transformers, and a padded batch of real text."""
    ours, tokenizer = load_minilm()
    theirs = transformers.BertModel.from_pretrained(str(minilm_path()), attn_implementation="eager").eval()
    batch = tokenizer(
        ["The river bank was flooded after the storm.", "She plays the violin."],
        ["Nobody could reach the bakery for two days.", "It was late."],
    )
    assert not bool(batch["attention_mask"].all())  # the second pair is padded, as in a real batch
    return ours, theirs, batch


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_real_minilm_weights_give_the_same_hidden_states_and_attentions(minilm, attn):
    """The pretrained encoder the lessons use: every layer's vectors and weights match transformers."""
    shared, theirs, batch = minilm
    ours = copy.deepcopy(shared)
    for layer in ours.encoder.layer:
        layer.attention.self.attn_implementation = attn
    with torch.no_grad():
        a = ours(**batch, output_hidden_states=True)
        b = theirs(**batch, output_hidden_states=True, output_attentions=True)
        weights = ours(**batch, output_attentions=True).attentions  # always the explicit path
    assert len(a.hidden_states) == len(b.hidden_states) == 7
    real = batch["attention_mask"].bool()  # padded rows' vectors are never read: compare real tokens
    for x, y in zip(a.hidden_states, b.hidden_states, strict=True):
        torch.testing.assert_close(x[real], y[real], atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(a.pooler_output, b.pooler_output, atol=2e-5, rtol=1e-5)
    for x, y in zip(weights, b.attentions, strict=True):
        torch.testing.assert_close(x, y, atol=1e-6, rtol=1e-5)
    assert float(b.hidden_states[-1].abs().max()) > 1  # real, trained vectors, not a near-zero init
