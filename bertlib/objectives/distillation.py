"""Knowledge distillation: a student learns from a teacher's soft targets (Hinton et al. 2015; Sanh et al. 2019).

The teacher's scores, softened by a temperature T, say which wrong answers are nearly
right; the student matches that whole distribution instead of one true id. As both
papers do, the soft loss is scaled by T², so its gradients keep their size whatever
T is, and it can be mixed with the student's ordinary (hard) loss. DistilBERT mixes
three losses (soft targets, MLM, and a cosine loss on hidden states); we keep the first
two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .mlm import mlm_loss

__all__ = ["soft_target_loss", "distillation_loss", "Distillation", "DistillationOutput"]


def soft_target_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T² · KL(softmax(teacher / T) ‖ softmax(student / T)), averaged over the rows.

    Args:
        student_logits, teacher_logits: (..., V) scores of the same positions.
        temperature: T > 0; T = 1 compares the plain distributions, larger T softens both.

    Returns:
        A scalar, 0 exactly when the student's scores equal the teacher's (and 0, not NaN,
        for zero rows). Its gradient equals that of the cross-entropy with soft targets.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r} (Hinton et al. use 1 to 20).")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student scores {tuple(student_logits.shape)} and teacher scores {tuple(teacher_logits.shape)} differ: "
            f"distillation compares the same positions over the same vocabulary."
        )
    V = student_logits.size(-1)
    s, t = student_logits.reshape(-1, V), teacher_logits.reshape(-1, V)
    if s.size(0) == 0:
        return s.sum() * 0.0  # no position to learn from: zero, with a graph
    log_p_student = F.log_softmax(s.float() / temperature, dim=-1)
    log_p_teacher = F.log_softmax(t.float() / temperature, dim=-1)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    return kl * temperature**2


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float = 2.0,
    labels: torch.Tensor | None = None,
    alpha: float = 0.5,
) -> torch.Tensor:
    """``alpha`` · soft-target loss + (1 - ``alpha``) · cross-entropy with the true ``labels``.

    Without labels it is the soft-target loss alone (``alpha`` is ignored).

    Args:
        student_logits, teacher_logits: (..., V) scores of the same positions.
        temperature: softens both distributions (the soft loss is scaled by T²).
        labels: (...) true ids (-100 where a position does not count), or None.
        alpha: weight of the soft loss, in [0, 1].
    """
    _check_alpha(alpha)
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    if labels is None:
        return soft
    return alpha * soft + (1 - alpha) * mlm_loss(student_logits, labels)


@dataclass
class DistillationOutput:
    """What :class:`Distillation` returns.

    Attributes:
        loss: alpha · losses["distillation"] + (1 - alpha) · losses["student"].
        losses: "distillation" (soft targets, T²-scaled) and "student" (the student's own
            loss on the batch: MLM, plus NSP when the batch has its labels).
        metrics: "teacher_agreement", the fraction of masked positions where the student's
            top token is the teacher's.
        masked_logits, masked_labels: the student's (N, V) scores and the true ids at the
            N masked positions, as in BertForPreTrainingOutput.
    """

    loss: torch.Tensor
    losses: dict[str, torch.Tensor] = field(default_factory=dict)
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)
    masked_logits: torch.Tensor | None = None
    masked_labels: torch.Tensor | None = None


class Distillation(nn.Module):
    """A student BERT trained on a frozen teacher's soft targets at the masked positions (DistilBERT).

    Give it to the :class:`bertlib.Trainer` as the model: only the student is trained.
    The teacher stays in eval mode (no dropout), runs without gradients, and its
    parameters are frozen. ``alpha=0`` trains the student exactly as without a teacher,
    the baseline a distillation result is compared with.

    Args:
        student, teacher: :class:`bertlib.BertForPreTraining` models with the same vocabulary.
        temperature: T of the soft targets (DistilBERT: 2).
        alpha: weight of the soft loss against the student's own loss, in [0, 1].
    """

    def __init__(self, student: nn.Module, teacher: nn.Module, temperature: float = 2.0, alpha: float = 0.5):
        super().__init__()
        if student.config.vocab_size != teacher.config.vocab_size:
            raise ValueError(
                f"The student has a vocabulary of {student.config.vocab_size} ids and the teacher "
                f"{teacher.config.vocab_size}: soft targets compare the same tokens. Build the student with "
                f"vocab_size=teacher.config.vocab_size and train it with the teacher's tokenizer."
            )
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}.")
        _check_alpha(alpha)
        self.student, self.teacher = student, teacher.eval().requires_grad_(False)
        self.temperature, self.alpha = temperature, alpha

    def train(self, mode: bool = True) -> Distillation:
        """Train (or evaluate) the student; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
    ) -> DistillationOutput:
        """The mixed loss on a masked batch (a :class:`bertlib.PretrainingDataset` batch)."""
        out = self.student(
            input_ids, token_type_ids, attention_mask, labels=labels, next_sentence_label=next_sentence_label
        )
        with torch.no_grad():
            teacher = self.teacher(input_ids, token_type_ids, attention_mask, labels=labels, logits_at="masked")
        soft = soft_target_loss(out.masked_logits, teacher.masked_logits, self.temperature)
        agree = (out.masked_logits.argmax(-1) == teacher.masked_logits.argmax(-1)).float()
        return DistillationOutput(
            loss=self.alpha * soft + (1 - self.alpha) * out.loss,
            losses={"distillation": soft, "student": out.loss},
            metrics={"teacher_agreement": agree.mean() if agree.numel() else agree.sum()},
            masked_logits=out.masked_logits,
            masked_labels=out.masked_labels,
        )


def _check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha weighs the soft loss against the hard one and must be in [0, 1], got {alpha!r}.")
