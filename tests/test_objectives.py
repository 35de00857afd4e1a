"""The pretraining objectives (bertlib.objectives): MLM, sentence pairs (NSP / SOP), distillation."""

import copy

import pytest
import torch
import torch.nn.functional as F

import bertlib
from bertlib import (
    BertConfig,
    BertForPreTraining,
    Distillation,
    PretrainingDataset,
    Trainer,
    TrainingConfig,
    distillation_loss,
    make_sop_pairs,
    masked_logits,
    mlm_loss,
    soft_target_loss,
)
from tests.helpers import DOCUMENTS, tiny_tokenizer


def test_mlm_loss_is_the_same_over_every_position_or_the_masked_rows_only():
    torch.manual_seed(0)
    hidden, head = torch.randn(2, 5, 8), torch.nn.Linear(8, 11)
    labels = torch.full((2, 5), -100)
    labels[0, 1], labels[1, 3], labels[1, 4] = 4, 7, 0
    rows, true = masked_logits(head, hidden, labels)
    assert rows.shape == (3, 11) and true.tolist() == [4, 7, 0]  # row-major order
    everywhere = mlm_loss(head(hidden), labels)
    torch.testing.assert_close(mlm_loss(rows, true), everywhere)
    by_hand = -F.log_softmax(head(hidden), -1)[labels != -100].gather(1, true[:, None]).mean()
    torch.testing.assert_close(everywhere, by_hand)
    assert mlm_loss(rows[:0], true[:0]).item() == 0.0  # no masked position: 0, not NaN


def test_sop_pairs_are_consecutive_sentences_of_one_document_swapped_or_not():
    pairs = make_sop_pairs(DOCUMENTS * 10, seed=3)
    consecutive = {(d[j], d[j + 1]) for d in DOCUMENTS for j in range(len(d) - 1)}
    assert len(pairs) == 10 * len(consecutive)
    for p in pairs:
        assert ((p.a, p.b) if p.label == bertlib.IS_NEXT else (p.b, p.a)) in consecutive
    swapped = sum(p.label == bertlib.NOT_NEXT for p in pairs) / len(pairs)
    assert 0.3 < swapped < 0.7
    assert make_sop_pairs(DOCUMENTS, seed=3) == make_sop_pairs(DOCUMENTS, seed=3)
    assert make_sop_pairs(DOCUMENTS * 10, seed=4) != pairs
    with pytest.raises(ValueError, match="at least two sentences"):
        make_sop_pairs([["only one sentence ."]])
    with pytest.raises(TypeError, match="lists of sentences"):
        make_sop_pairs(["a document as one string"])


def test_soft_target_loss_is_t_squared_kl_and_zero_for_a_perfect_student():
    torch.manual_seed(0)
    s, t = torch.randn(6, 9), torch.randn(6, 9)
    T = 3.0
    p_t = F.softmax(t / T, -1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / T, -1))).sum(-1).mean()
    torch.testing.assert_close(soft_target_loss(s, t, T), T**2 * kl)
    assert soft_target_loss(t, t, T).item() == pytest.approx(0.0, abs=1e-6)
    labels = torch.tensor([1, -100, 2, 3, -100, 0])
    mixed = 0.3 * soft_target_loss(s, t, T) + 0.7 * F.cross_entropy(s, labels, ignore_index=-100)
    torch.testing.assert_close(distillation_loss(s, t, T, labels, alpha=0.3), mixed)
    with pytest.raises(ValueError, match="temperature must be positive"):
        soft_target_loss(s, t, 0.0)
    with pytest.raises(ValueError, match="same positions"):
        soft_target_loss(s, t[:3], T)
    with pytest.raises(ValueError, match=r"alpha .* \[0, 1\]"):
        distillation_loss(s, t, T, labels, alpha=1.5)


def test_t_squared_keeps_the_gradients_size_as_the_temperature_grows():
    """Hinton et al. 2015, section 2: the soft targets' gradients scale as 1/T², so the loss is scaled by T²."""
    torch.manual_seed(0)
    t = torch.randn(4, 7)
    norms = {}
    for T in (8.0, 16.0):
        s = torch.randn(4, 7, generator=torch.Generator().manual_seed(1)).requires_grad_()
        soft_target_loss(s, t, T).backward()
        norms[T] = s.grad.norm().item()
    assert norms[16.0] == pytest.approx(norms[8.0], rel=0.05)  # without T², a factor of 4 apart


def distillation_setup(alpha=0.5):
    tok = tiny_tokenizer()
    bertlib.set_seed(0)
    teacher = BertForPreTraining(BertConfig.preset("test", vocab_size=tok.vocab_size))
    student = BertForPreTraining(BertConfig.preset("test", vocab_size=tok.vocab_size, num_hidden_layers=1))
    data = PretrainingDataset(DOCUMENTS[0] + DOCUMENTS[1], tok, max_length=32, nsp=False)
    return Distillation(student, teacher, temperature=2.0, alpha=alpha), data


def test_distillation_trains_the_student_only_and_records_both_losses():
    model, data = distillation_setup()
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = copy.deepcopy(model.student.state_dict())
    cfg = TrainingConfig(steps=4, batch_size=4, lr=1e-3, warmup_steps=1, log_every=2, progress=False)
    history = Trainer(model, data, cfg).train()
    assert {"distillation_loss", "student_loss", "teacher_agreement"} <= history.train[-1].keys()
    for name, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, teacher_before[name], atol=0, rtol=0)
    assert any(not torch.equal(v, student_before[k]) for k, v in model.student.state_dict().items())
    model.train()
    assert model.student.training and not model.teacher.training  # dropout never touches the teacher
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_alpha_zero_is_the_student_trained_alone_and_alpha_one_the_soft_loss_alone():
    model, data = distillation_setup(alpha=0.0)
    batch = data.collate(range(4), torch.Generator().manual_seed(0))
    out = model(**batch)
    alone = model.student(**batch)
    torch.testing.assert_close(out.loss, alone.loss, atol=0, rtol=0)
    model.alpha = 1.0
    out = model(**batch)
    torch.testing.assert_close(out.loss, out.losses["distillation"], atol=0, rtol=0)
    out.loss.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    same = Distillation(model.teacher, copy.deepcopy(model.teacher).eval(), alpha=1.0)
    assert same(**batch).loss.item() == pytest.approx(0.0, abs=1e-6)  # nothing to learn from a copy of oneself


def test_a_teacher_with_another_vocabulary_is_refused():
    teacher = BertForPreTraining(BertConfig.preset("test", vocab_size=120))
    student = BertForPreTraining(BertConfig.preset("test", vocab_size=101))
    with pytest.raises(ValueError, match="vocabulary of 101 ids and the teacher 120.*vocab_size=teacher"):
        Distillation(student, teacher)
