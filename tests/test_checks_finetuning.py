"""The fine-tuning exercise checks accept right answers and explain typical wrong ones."""

import torch

from bertlib import checks
from bertlib.task_kinds import decode_spans


def stub(*args):
    raise NotImplementedError("Exercise: your code here")


# ------------------------------------------------------------------ align_labels
def align(word_ids, tags):
    out, previous = [], None
    for w in word_ids:
        out.append(-100 if w is None or w == previous else tags[w])
        previous = w
    return out


def align_every_piece(word_ids, tags):  # labels later pieces too
    return [-100 if w is None else tags[w] for w in word_ids]


def align_specials_zero(word_ids, tags):  # [CLS]/[SEP] get tag 0 ("O") instead of -100
    return [0 if t == -100 else t for t in align(word_ids, tags)]


def align_shifted(word_ids, tags):  # labels the last piece of a word instead of the first
    return [
        -100 if w is None or (i + 1 < len(word_ids) and word_ids[i + 1] == w) else tags[w]
        for i, w in enumerate(word_ids)
    ]


def test_align_labels():
    assert checks.check_align_labels(align).passed
    assert checks.check_align_labels(lambda w, t: torch.tensor(align(w, t))).passed  # tensors are fine
    assert "Not implemented" in checks.check_align_labels(stub).message
    assert "later piece" in checks.check_align_labels(align_every_piece).message
    assert "word id None" in checks.check_align_labels(align_specials_zero).message
    assert not checks.check_align_labels(align_shifted).passed
    assert "returned 3 labels" in checks.check_align_labels(lambda w, t: t).message


# ------------------------------------------------------------- per-class scores
def scores(cm):
    cm = cm.double()
    tp = cm.diag()
    p = torch.where(cm.sum(0) > 0, tp / cm.sum(0).clamp(min=1), torch.zeros_like(tp))
    r = torch.where(cm.sum(1) > 0, tp / cm.sum(1).clamp(min=1), torch.zeros_like(tp))
    f1 = torch.where(p + r > 0, 2 * p * r / (p + r).clamp(min=1e-12), torch.zeros_like(tp))
    return p, r, f1


def scores_swapped(cm):  # rows taken as predictions
    return scores(cm.T)


def scores_nan(cm):  # divides 0 by 0 for a class that is never predicted
    cm = cm.double()
    p, r = cm.diag() / cm.sum(0), cm.diag() / cm.sum(1)
    return p, r, 2 * p * r / (p + r)


def scores_arithmetic_mean(cm):
    p, r, _ = scores(cm)
    return p, r, (p + r) / 2


def test_per_class_scores():
    assert checks.check_per_class_scores(scores).passed
    assert "Not implemented" in checks.check_per_class_scores(stub).message
    assert "is the recall" in checks.check_per_class_scores(scores_swapped).message
    assert "NaN" in checks.check_per_class_scores(scores_nan).message
    msg = checks.check_per_class_scores(scores_arithmetic_mean).message
    assert msg.startswith("f1") and "harmonic mean" in msg
    assert "tuple" in checks.check_per_class_scores(lambda cm: scores(cm)[2]).message


# -------------------------------------------------------------------- best span
def best_span(start, end, max_answer_length):
    s, e, _ = decode_spans(start, end, max_answer_length=max_answer_length)
    return s, e


def independent_argmax(start, end, max_answer_length):
    return start.argmax(-1), end.argmax(-1)


def no_length_limit(start, end, max_answer_length):
    s, e, _ = decode_spans(start, end, max_answer_length=10**6)
    return s, e


def test_best_span():
    assert checks.check_best_span(best_span).passed
    assert "Not implemented" in checks.check_best_span(stub).message
    assert "ends before it starts" in checks.check_best_span(independent_argmax).message
    assert "longer than max_answer_length" in checks.check_best_span(no_length_limit).message
    assert "shape" in checks.check_best_span(lambda s, e, m: (s.argmax(), e.argmax())).message
