"""Fine-tuning utilities: encoding every task kind, freezing, learning-rate groups, decoding, scores."""

import itertools

import pytest
import torch

import bertlib
from bertlib.finetuning import (
    classification_report,
    confusion_matrix,
    discriminative_param_groups,
    encode,
    freeze,
    predict,
    unfreeze,
)
from bertlib.task_examples import Example
from bertlib.task_kinds import decode_spans
from bertlib.tasks import Task, load_task


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    return {name: load_task(name) for name in ("sentiment", "entities", "qa", "nli")}


@pytest.fixture(scope="module")
def tokenizer(tasks):
    # A deliberately small vocabulary, so many words split into several pieces.
    texts = [t for task in tasks.values() for e in task.train[:60] for t in (e.text, e.text_pair) if t]
    return bertlib.train_tokenizer(texts, vocab_size=300)


def tiny(model_class, tokenizer, **kw):
    torch.manual_seed(0)
    return model_class(
        bertlib.BertConfig.preset("test", vocab_size=tokenizer.vocab_size, max_position_embeddings=128, **kw)
    )


def test_sequence_and_pair_encoding(tasks, tokenizer):
    for name, segments in (("sentiment", {0}), ("nli", {0, 1})):
        task = tasks[name]
        ds = encode(task.train[:5], task, tokenizer, max_length=64)
        for row, ex in zip(ds.examples, task.train[:5], strict=True):
            assert row["labels"] == ex.label and row["input_ids"][0] == tokenizer.cls_token_id
            assert set(row["token_type_ids"]) == segments
        batch = ds.collate(range(5))
        out = tiny(bertlib.BertForSequenceClassification, tokenizer, num_labels=len(task.labels))(**batch)
        assert out.logits.shape == (5, len(task.labels)) and out.loss.ndim == 0


def test_token_labels_sit_on_first_pieces_only(tasks, tokenizer):
    task = tasks["entities"]
    ds = encode(task.train[:40], task, tokenizer, max_length=64)
    split_words = 0
    for row, ex, wids in zip(ds.examples, ds.source, ds.word_ids, strict=True):
        labelled = [lab for lab in row["labels"] if lab != -100]
        assert labelled == ex.tags  # one label per word, in order
        assert row["labels"][0] == row["labels"][-1] == -100  # [CLS] and [SEP]
        for t in range(1, len(wids)):
            if wids[t] is not None and wids[t] == wids[t - 1]:
                assert row["labels"][t] == -100  # a later piece of the same word
                split_words += 1
    assert split_words > 10  # the small vocabulary really splits words


def test_token_words_must_match_the_text(tokenizer):
    task = Task("t", "token", ["O", "B"], [], [])
    bad = Example(text="anna's cat", words=["anna's", "cat"], tags=[1, 0])  # BERT splits "anna ' s"
    with pytest.raises(ValueError, match="pre-tokenizer"):
        encode([bad], task, tokenizer)


def test_answer_span_tokens_decode_to_the_answer(tasks, tokenizer):
    task = tasks["qa"]
    ds = encode(task.train[:30], task, tokenizer, max_length=512)
    for row, ex, offs in zip(ds.examples, ds.source, ds.offsets, strict=True):
        s, e = row["start_positions"], row["end_positions"]
        assert 0 < s <= e and row["token_type_ids"][s] == 1
        assert ex.text_pair[offs[s][0] : offs[e][1]] == ex.answer_text


def test_truncated_answer_is_a_clear_error(tasks, tokenizer):
    task = tasks["qa"]
    late = next(e for e in task.train if e.answer_start > 150)
    with pytest.raises(ValueError, match="truncated away .*increase max_length"):
        encode([late], task, tokenizer, max_length=24)


def test_freeze_keeps_the_body_fixed(tasks, tokenizer):
    task = tasks["sentiment"]
    model = tiny(bertlib.BertForSequenceClassification, tokenizer, num_labels=2)
    freeze(model.bert)
    body = model.bert.embeddings.word_embeddings.weight.clone()
    head = model.classifier.weight.clone()
    cfg = bertlib.TrainingConfig(steps=3, batch_size=4, warmup_steps=0, progress=False, eval_every=None)
    bertlib.Trainer(model, encode(task.train[:8], task, tokenizer), cfg).train()
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, body)
    assert not torch.equal(model.classifier.weight, head)
    unfreeze(model.bert)
    assert all(p.requires_grad for p in model.parameters())


def test_discriminative_groups_cover_each_parameter_once(tokenizer):
    model = tiny(bertlib.BertForPreTraining, tokenizer)  # the MLM decoder is tied to the embeddings
    groups = discriminative_param_groups(model, body_lr=1e-5, head_lr=1e-3, weight_decay=0.1)
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len({id(p) for p in model.parameters()})
    by_name = {g["name"]: g for g in groups}
    tied = model.bert.embeddings.word_embeddings.weight
    assert any(p is tied for p in by_name["body/decay"]["params"])
    assert by_name["body/decay"]["lr"] == 1e-5 and by_name["head/decay"]["lr"] == 1e-3
    assert by_name["head/no_decay"]["weight_decay"] == 0.0 and by_name["body/decay"]["weight_decay"] == 0.1
    freeze(model.bert)
    assert {g["name"] for g in discriminative_param_groups(model, 1e-5, 1e-3)} == {"head/decay", "head/no_decay"}


def test_decode_spans_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    start, end = torch.randn(4, 9, generator=g), torch.randn(4, 9, generator=g)
    allowed = torch.ones(4, 9, dtype=torch.bool)
    allowed[:, :3] = False  # the question
    allowed[1, 7:] = False  # padding of a shorter example
    s, e, score = decode_spans(start, end, allowed, max_answer_length=3)
    for b in range(4):
        best = max(
            ((start[b, i] + end[b, j]).item(), i, j)
            for i, j in itertools.product(range(9), range(9))
            if allowed[b, i] and allowed[b, j] and i <= j < i + 3
        )
        assert (score[b].item(), s[b].item(), e[b].item()) == pytest.approx(best)


def test_confusion_matrix_and_report():
    preds = torch.tensor([0, 1, 1, 2, 0, 1])
    labels = torch.tensor([0, 1, 2, 2, -100, 0])
    cm = confusion_matrix(preds, labels, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 1]]  # rows: true class, columns: predicted
    rep = classification_report(preds, labels, ["a", "b", "c"])
    assert rep["b"] == pytest.approx({"precision": 1 / 3, "recall": 1.0, "f1": 0.5, "support": 1})
    assert rep["c"]["precision"] == 1.0 and rep["c"]["recall"] == 0.5
    assert rep["accuracy"]["accuracy"] == pytest.approx(3 / 5)
    never = classification_report(torch.tensor([0, 0]), torch.tensor([0, 1]), ["a", "b"])
    assert never["b"]["precision"] == 0.0 and never["b"]["f1"] == 0.0


def test_predict_every_kind(tasks, tokenizer):
    seq = encode(tasks["nli"].test[:7], tasks["nli"], tokenizer)
    out = predict(tiny(bertlib.BertForSequenceClassification, tokenizer, num_labels=3), seq, batch_size=3)
    assert out["logits"].shape == (7, 3) and out["labels"].tolist() == [e.label for e in seq.source]

    tok = encode(tasks["entities"].test[:5], tasks["entities"], tokenizer, max_length=128)
    out = predict(tiny(bertlib.BertForTokenClassification, tokenizer, num_labels=6), tok, batch_size=2)
    assert [len(p) for p in out["word_predictions"]] == [len(e.words) for e in tok.source]
    assert out["predictions"].shape == out["labels"].shape == (sum(len(e.words) for e in tok.source),)

    qa = encode(tasks["qa"].test[:5], tasks["qa"], tokenizer, max_length=128)
    out = predict(tiny(bertlib.BertForQuestionAnswering, tokenizer), qa, batch_size=2, max_answer_length=4)
    for s, e, answer, ex in zip(out["starts"], out["ends"], out["answers"], qa.source, strict=True):
        assert s <= e < s + 4 and qa.examples[0]["token_type_ids"] and answer in ex.text_pair
