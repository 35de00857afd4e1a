"""ELECTRA's configuration (Clark et al. 2020): a BertConfig with the width of the token vectors.

The models are :mod:`bertlib.electra`; how a generator's config is derived from the
discriminator's is :func:`generator_config`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

from .config import BertConfig

__all__ = ["ElectraConfig", "generator_config"]

# Keys of Hugging Face's ElectraConfig for its summary (classification) head, which we do not build.
_SUMMARY_KEYS = {"summary_type", "summary_use_proj", "summary_activation", "summary_last_dropout"}


@dataclass
class ElectraConfig(BertConfig):
    """A BertConfig with ``embedding_size``, the width of the token vectors before the encoder.

    Defaults are Hugging Face's ``ElectraConfig`` (electra-small's discriminator). When
    ``embedding_size != hidden_size`` a linear layer (``embeddings_project``) maps one to the other.
    """

    hidden_size: int = 256
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    embedding_size: int = 128
    model_type: ClassVar[str] = "electra"
    architecture: ClassVar[str] = "ElectraForPreTraining"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.embedding_size, int) or isinstance(self.embedding_size, bool) or self.embedding_size < 1:
            raise ValueError(f"ElectraConfig.embedding_size must be a positive integer, got {self.embedding_size!r}.")

    @classmethod
    def from_dict(cls, d: dict[str, Any], **overrides: Any) -> ElectraConfig:
        """Build a config from an ELECTRA config.json dict (ours or Hugging Face's)."""
        if isinstance(d, dict):  # the summary (classification) head's keys: we do not build that head
            d = {k: v for k, v in d.items() if k not in _SUMMARY_KEYS}
        return super().from_dict(d, **overrides)

    def embedding_config(self) -> BertConfig:
        """The BertConfig that builds :class:`BertEmbeddings` of width ``embedding_size``."""
        bert = BertConfig(**{f.name: getattr(self, f.name) for f in fields(BertConfig)} | {"num_attention_heads": 1})
        return replace(bert, hidden_size=self.embedding_size)


def generator_config(discriminator: ElectraConfig, size: float = 0.25) -> ElectraConfig:
    """A generator's config: the discriminator's, with ``size`` times its width (hidden, heads, feed-forward).

    The paper finds generators 1/4 to 1/2 of the discriminator's size work best (section 3.2,
    figure 3); ``embedding_size``, the vocabulary and the depth stay, so the embeddings can be shared.
    """
    if not 0 < size <= 1:
        raise ValueError(f"size is the generator's width as a fraction of the discriminator's, in (0, 1]; got {size}.")
    heads = max(1, int(discriminator.num_attention_heads * size))
    hidden = max(heads, round(discriminator.hidden_size * size / heads) * heads)  # a multiple of the heads
    return replace(
        discriminator,
        hidden_size=hidden,
        num_attention_heads=heads,
        intermediate_size=max(1, int(discriminator.intermediate_size * size)),
    )
