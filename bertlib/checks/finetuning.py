"""Checks for fine-tuning: aligning word tags to tokens, per-class scores, decoding answer spans."""

from __future__ import annotations

import torch

from ..finetuning import confusion_matrix
from ..task_kinds import align_word_tags, decode_spans
from ..utils import seeded_generator
from .core import CheckFailure, compare, exercise

# (word_ids, word tags): one word in three pieces, a one-piece sentence, padding after [SEP].
_ALIGN_CASES = [
    ([None, 0, 1, 1, 2, None], [3, 0, 5]),
    ([None, 0, 0, 0, 1, None, None, None], [2, 0]),
    ([None, 0, None], [1]),
    ([None, 0, 1, 2, 2, 3, 4, 4, 4, 5, None], [1, 0, 0, 4, 5, 0]),
]


@exercise("finetuning.align_labels", "Word tags to token labels", points=1)
def check_align_labels(fn) -> str:
    """fn(word_ids, tags) -> one label per token: the word's tag on its first piece, -100 elsewhere."""
    for word_ids, tags in _ALIGN_CASES:
        want = align_word_tags(word_ids, tags)
        got = fn(list(word_ids), list(tags))
        got = got.tolist() if isinstance(got, torch.Tensor) else list(got)
        case = f"word_ids={word_ids}, tags={tags}"
        if len(got) != len(want):
            raise CheckFailure(
                f"({case}) returned {len(got)} labels for {len(word_ids)} tokens: give every token "
                "a label, -100 where it should not count."
            )
        for t, (g, w) in enumerate(zip(got, want, strict=True)):
            if g == w:
                continue
            if word_ids[t] is None:
                raise CheckFailure(
                    f"({case}) token {t} is [CLS], [SEP] or [PAD] (word id None) but got label {g}; "
                    "it must be -100 so the loss ignores it."
                )
            if t > 0 and word_ids[t] == word_ids[t - 1]:
                raise CheckFailure(
                    f"({case}) token {t} is a later piece of word {word_ids[t]} but got label {g}; "
                    "only a word's first piece carries its tag, the others get -100, so every "
                    "word counts once however many pieces it has."
                )
            raise CheckFailure(f"({case}) token {t} starts word {word_ids[t]}: expected its tag {w}, got {g}.")
    return "Each word is labelled exactly once, on its first piece."


_CONFUSIONS = [
    torch.tensor([[5, 1, 0], [2, 3, 1], [0, 4, 4]]),  # not symmetric: rows and columns differ
    torch.tensor([[3, 0], [2, 0]]),  # class 1 is never predicted and never right
    torch.tensor([[0, 0, 0], [1, 6, 0], [0, 2, 7]]),  # class 0 never occurs
]


def _scores(cm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    cm = cm.double()
    tp = cm.diag()
    precision = torch.where(cm.sum(0) > 0, tp / cm.sum(0).clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(cm.sum(1) > 0, tp / cm.sum(1).clamp(min=1), torch.zeros_like(tp))
    f1 = torch.where(
        precision + recall > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-12), torch.zeros_like(tp)
    )
    return precision, recall, f1


@exercise("finetuning.f1", "Precision, recall and F1 from a confusion matrix", points=1)
def check_per_class_scores(fn) -> str:
    """fn(cm) -> (precision, recall, f1), each (n,), from cm[true, predicted]; 0 where undefined."""
    # The first case is built from predictions, so it also checks the matrix orientation.
    preds, labels = torch.tensor([0, 1, 1, 2, 2, 0, 1]), torch.tensor([0, 1, 2, 2, 1, 1, 1])
    cases = [confusion_matrix(preds, labels, 3), *_CONFUSIONS]
    for cm in cases:
        got = fn(cm.clone())
        if not (isinstance(got, tuple) and len(got) == 3):
            raise CheckFailure("Return a tuple (precision, recall, f1) of three tensors.")
        want = _scores(cm)
        case = f"cm={cm.tolist()}"
        for name, g in zip(("precision", "recall", "f1"), got, strict=True):
            if isinstance(g, torch.Tensor) and g.is_floating_point() and torch.isnan(g).any():
                raise CheckFailure(
                    f"{name} ({case}) contains NaN: a class that is never predicted (or never "
                    "occurs) divides 0 by 0; define its score as 0."
                )
        swapped = _scores(cm.T)
        if (
            isinstance(got[0], torch.Tensor)
            and got[0].shape == want[0].shape
            and torch.allclose(got[0].double(), swapped[0])
            and not torch.allclose(swapped[0], want[0])
        ):
            raise CheckFailure(
                f"precision ({case}) is the recall: rows of cm are the true classes, columns the "
                "predictions, so precision divides the diagonal by the column sums."
            )
        hints = {
            "precision": "precision = cm[k, k] / (column k's sum): of everything predicted as k, the share that is k.",
            "recall": "recall = cm[k, k] / (row k's sum): of everything that is k, the share found.",
            "f1": "f1 = 2 p r / (p + r), the harmonic mean, 0 when p + r = 0.",
        }
        for name, g, w in zip(("precision", "recall", "f1"), got, want, strict=True):
            compare(name, g.double() if isinstance(g, torch.Tensor) else g, w, atol=1e-6, case=case, hint=hints[name])
    return "Precision looks down the columns, recall along the rows; F1 is their harmonic mean."


@exercise("finetuning.best_span", "The best answer span", points=2)
def check_best_span(fn) -> str:
    """fn(start_logits, end_logits, max_answer_length) -> (starts, ends): the valid span with the top score."""
    # First a trap: the best end (position 1) comes before the best start (position 4).
    start, end = torch.zeros(1, 6), torch.zeros(1, 6)
    start[0, 4], start[0, 2], end[0, 1], end[0, 3] = 5.0, 3.0, 6.0, 2.0
    cases = [(start, end, 3)]
    for i, (B, T, m) in enumerate([(3, 7, 4), (2, 12, 3), (1, 5, 5)]):
        g = seeded_generator(100 + i)
        cases.append((torch.randn(B, T, generator=g), torch.randn(B, T, generator=g), m))
    for start, end, m in cases:
        want_s, want_e, _ = decode_spans(start, end, max_answer_length=m)
        got = fn(start.clone(), end.clone(), m)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise CheckFailure("Return a tuple (starts, ends) of (B,) index tensors.")
        case = f"logits of shape {tuple(start.shape)}, max_answer_length={m}"
        gs, ge = (torch.as_tensor(x) for x in got)
        if gs.shape != want_s.shape or ge.shape != want_e.shape:
            raise CheckFailure(
                f"({case}) starts and ends must each have shape {tuple(want_s.shape)}, got "
                f"{tuple(gs.shape)} and {tuple(ge.shape)}."
            )
        if (ge < gs).any():
            raise CheckFailure(
                f"({case}) a span ends before it starts (start {gs.tolist()}, end {ge.tolist()}): "
                "taking the argmax of start and end separately allows that; score every pair "
                "(i, j) with i <= j and take the best."
            )
        if (ge - gs + 1 > m).any():
            raise CheckFailure(
                f"({case}) a span is longer than max_answer_length={m} tokens "
                f"(start {gs.tolist()}, end {ge.tolist()}): allow only j < i + max_answer_length."
            )
        if not (torch.equal(gs.long(), want_s) and torch.equal(ge.long(), want_e)):
            raise CheckFailure(
                f"({case}) expected spans starts={want_s.tolist()}, ends={want_e.tolist()}, got "
                f"{gs.tolist()}, {ge.tolist()}. The score of (i, j) is start_logits[i] + end_logits[j]."
            )
    return "Only valid spans compete, and the best one wins even when the two argmaxes disagree."
