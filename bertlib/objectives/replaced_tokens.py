"""Replaced-token detection, ELECTRA's objective (Clark et al. 2020, section 2).

A small generator (an MLM) fills the masked positions with tokens it samples; the
discriminator then reads the whole sequence and says, for every token, whether it was
replaced. Every real position carries a loss, not only the ~15% that were masked.
Both are trained together on ``generator loss + lambda * discriminator loss``
(lambda = 50 in the paper); no gradient flows through the sampling. After
pretraining the discriminator is the encoder one keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..constants import IGNORE_INDEX
from ..electra import ElectraForMaskedLM, ElectraForPreTraining

__all__ = ["rtd_labels", "sample_replacements", "ReplacedTokenDetection", "ReplacedTokenDetectionOutput"]


def rtd_labels(
    original_ids: torch.Tensor, corrupted_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The discriminator's targets: 1 where a token was replaced, 0 where it is the original.

    A sampled token that happens to equal the original counts as original (paper, section 2).
    Padding (``attention_mask`` 0) gets -100: it does not count.

    Args:
        original_ids, corrupted_ids: (B, T) token ids before and after the generator's replacements.
        attention_mask: (B, T), 1 for real tokens and 0 for padding; None means all real.

    Returns:
        (B, T) int64 labels.
    """
    if original_ids.shape != corrupted_ids.shape:
        raise ValueError(
            f"original_ids {tuple(original_ids.shape)} and corrupted_ids {tuple(corrupted_ids.shape)} must have "
            f"the same shape: the discriminator compares them position by position."
        )
    labels = (original_ids != corrupted_ids).long()
    if attention_mask is not None:
        labels = labels.masked_fill(attention_mask == 0, IGNORE_INDEX)
    return labels


def sample_replacements(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token id per row of (N, V) scores, drawn from softmax(scores) (temperature 1, as in the paper).

    Args:
        generator: the source of randomness; None draws from PyTorch's global generator,
            which the Trainer seeds from (seed, step) at every step.
    """
    probs = torch.softmax(logits.detach().float(), dim=-1)
    if probs.size(0) == 0:
        return torch.empty(0, dtype=torch.long, device=logits.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@dataclass
class ReplacedTokenDetectionOutput:
    """What :class:`ReplacedTokenDetection` returns.

    Attributes:
        loss: losses["generator"] + discriminator_weight * losses["discriminator"].
        losses: "generator" (MLM at the masked positions) and "discriminator" (binary
            cross-entropy at every real token).
        metrics: "discriminator_accuracy" over the real tokens, "replaced_fraction" of the
            real tokens that the discriminator saw replaced, "generator_accuracy" at the masked ones.
        corrupted_ids: (B, T) the discriminator's input; labels: (B, T) its targets (rtd_labels).
        discriminator_logits: (B, T), > 0 meaning "replaced".
        masked_logits, masked_labels: the generator's (N, V) scores and true ids at the masked positions.
    """

    loss: torch.Tensor
    losses: dict[str, torch.Tensor] = field(default_factory=dict)
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)
    corrupted_ids: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    discriminator_logits: torch.Tensor | None = None
    masked_logits: torch.Tensor | None = None
    masked_labels: torch.Tensor | None = None


class ReplacedTokenDetection(nn.Module):
    """ELECTRA pretraining: a generator and a discriminator trained together (give it to the Trainer).

    Args:
        generator: an :class:`ElectraForMaskedLM`, no wider and no deeper than the discriminator.
        discriminator: an :class:`ElectraForPreTraining`; the encoder kept after pretraining.
        discriminator_weight: lambda, the discriminator loss's weight (50 in the paper).
        tie_embeddings: share the embeddings (token, position, segment and their LayerNorm)
            between the two, as the paper does (section 3.2); the generator's output layer
            stays tied to the shared word embeddings.

    Raises:
        ValueError: the generator is larger than the discriminator, or the two cannot share
            what they must (the vocabulary; with tied embeddings, the embedding sizes).
    """

    def __init__(
        self,
        generator: ElectraForMaskedLM,
        discriminator: ElectraForPreTraining,
        discriminator_weight: float = 50.0,
        tie_embeddings: bool = True,
    ):
        super().__init__()
        _check_pair(generator, discriminator, tie_embeddings)
        if not discriminator_weight > 0:
            raise ValueError(f"discriminator_weight (lambda) must be positive, got {discriminator_weight!r}.")
        self.generator, self.discriminator = generator, discriminator
        self.discriminator_weight = discriminator_weight
        if tie_embeddings:
            generator.electra.embeddings = discriminator.electra.embeddings  # one module, trained by both
            generator.tie_weights()

    def forward(
        self,
        input_ids: torch.Tensor,
        labels: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        sampling_generator: torch.Generator | None = None,
    ) -> ReplacedTokenDetectionOutput:
        """One ELECTRA step on a masked batch (:class:`bertlib.PretrainingDataset`, ``nsp=False``).

        Args:
            input_ids: (B, T) ids with the masked positions corrupted ([MASK] mostly).
            labels: (B, T) original ids at the masked positions, -100 elsewhere.
            sampling_generator: draws the replacements; None uses PyTorch's global generator
                (seeded by the Trainer from (seed, step), so a step's samples are reproducible).
        """
        if next_sentence_label is not None:
            raise ValueError(
                "ELECTRA has no next-sentence task: build the PretrainingDataset with nsp=False "
                "(or with plain sentences)."
            )
        gen = self.generator(input_ids, token_type_ids, attention_mask, labels=labels, logits_at="masked")
        masked = labels != IGNORE_INDEX
        original = torch.where(masked, labels, input_ids)
        corrupted = original.clone()
        corrupted[masked] = sample_replacements(gen.masked_logits, sampling_generator)
        targets = rtd_labels(original, corrupted, attention_mask)
        disc = self.discriminator(corrupted, token_type_ids, attention_mask, labels=targets)
        real = targets != IGNORE_INDEX
        correct = ((disc.logits > 0).long() == targets)[real].float()
        replaced = targets[real].float()
        return ReplacedTokenDetectionOutput(
            loss=gen.loss + self.discriminator_weight * disc.loss,
            losses={"generator": gen.loss, "discriminator": disc.loss},
            metrics={
                "discriminator_accuracy": _mean(correct),
                "replaced_fraction": _mean(replaced),
                "generator_accuracy": _mean((gen.masked_logits.argmax(-1) == gen.masked_labels).float()),
            },
            corrupted_ids=corrupted,
            labels=targets,
            discriminator_logits=disc.logits,
            masked_logits=gen.masked_logits,
            masked_labels=gen.masked_labels,
        )


def _mean(x: torch.Tensor) -> torch.Tensor:
    """The mean, or 0 (not NaN) for an empty tensor."""
    return x.mean() if x.numel() else x.sum()


def _check_pair(generator: ElectraForMaskedLM, discriminator: ElectraForPreTraining, tie: bool) -> None:
    g, d = generator.config, discriminator.config
    if g.vocab_size != d.vocab_size:
        raise ValueError(
            f"The generator's vocabulary has {g.vocab_size} ids and the discriminator's {d.vocab_size}: the "
            f"discriminator reads the generator's tokens. Build both with vocab_size=tokenizer.vocab_size."
        )
    if g.hidden_size > d.hidden_size or g.num_hidden_layers > d.num_hidden_layers:
        raise ValueError(
            f"The generator (hidden_size={g.hidden_size}, {g.num_hidden_layers} layers) is larger than the "
            f"discriminator (hidden_size={d.hidden_size}, {d.num_hidden_layers} layers). A generator that strong "
            f"makes the discriminator's task too hard; the paper uses 1/4 to 1/2 of its size (section 3.2). "
            f"Build it with bertlib.generator_config(discriminator_config, size=0.25)."
        )
    if tie:
        for name in ("embedding_size", "max_position_embeddings", "type_vocab_size", "pad_token_id"):
            if getattr(g, name) != getattr(d, name):
                raise ValueError(
                    f"Tied embeddings need the same {name} in both models, but the generator has "
                    f"{getattr(g, name)} and the discriminator {getattr(d, name)}. Build the generator with "
                    f"bertlib.generator_config(discriminator_config), or pass tie_embeddings=False."
                )
