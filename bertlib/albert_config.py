"""ALBERT's configuration: BERT's fields plus the factorized embedding and the layer sharing.

Field names and meanings are Hugging Face's ``AlbertConfig``, so config.json files
move between the two libraries. The defaults are albert-base-v2 (Lan et al. 2020,
table 1), not Hugging Face's (which are albert-xxlarge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .config import BertConfig

__all__ = ["AlbertConfig", "ALBERT_PRESETS"]


@dataclass(repr=False)  # keeps BertConfig's repr, which hides the default position fields
class AlbertConfig(BertConfig):
    """Sizes and options of an ALBERT model (Lan et al. 2020, section 3.1).

    Two changes to BERT's shapes save most of its parameters:

    * **factorized embeddings**: tokens are embedded in ``embedding_size`` (E) dimensions and
      projected to ``hidden_size`` (H), so the vocabulary costs V×E + E×H instead of V×H;
    * **cross-layer sharing**: the ``num_hidden_layers`` (L) layers reuse the weights of
      ``num_hidden_groups`` (G) groups, each of ``inner_group_num`` layers; with G = 1, as in
      the paper, one layer's weights run L times.

    The defaults are albert-base-v2: E = 128, H = 768, L = 12, one shared group, no dropout,
    the tanh approximation of GELU. Use :meth:`preset` for the other sizes and the small
    configurations the tests and lessons train.
    """

    vocab_size: int = 30000  # ALBERT's SentencePiece vocabulary
    hidden_act: str = "gelu_new"  # the tanh approximation of GELU, as ALBERT's released code
    hidden_dropout_prob: float = 0.0  # ALBERT v2 trains without dropout, as albert-base-v2 ships
    attention_probs_dropout_prob: float = 0.0
    embedding_size: int = 128  # "E": width of the token, position and segment embeddings
    num_hidden_groups: int = 1  # "G": groups of layer weights; layer i uses group i * G // L
    inner_group_num: int = 1  # layers inside each group, run one after the other
    classifier_dropout_prob: float = 0.1  # dropout before the sentence-order classifier

    model_type: ClassVar[str] = "albert"
    architecture: ClassVar[str] = "AlbertForPreTraining"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("embedding_size", "num_hidden_groups", "inner_group_num"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"AlbertConfig.{name} must be a positive integer, got {value!r}.")
        p = self.classifier_dropout_prob
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
            raise ValueError(f"AlbertConfig.classifier_dropout_prob must be in [0, 1), got {p!r}.")
        L, G = self.num_hidden_layers, self.num_hidden_groups
        if G > L:
            raise ValueError(
                f"num_hidden_groups ({G}) is larger than num_hidden_layers ({L}): {G - L} groups of weights would "
                f"never run. Use num_hidden_groups <= {L} (1 shares one layer's weights across all layers)."
            )
        if L % G:
            raise ValueError(
                f"num_hidden_layers ({L}) must be a multiple of num_hidden_groups ({G}): each group of shared "
                f"weights runs for an equal run of L / G consecutive layers. Try num_hidden_groups="
                f"{max(g for g in range(1, G + 1) if L % g == 0)}, or num_hidden_layers={L + G - L % G}."
            )
        if self.embedding_size > self.hidden_size:
            raise ValueError(
                f"embedding_size ({self.embedding_size}) is larger than hidden_size ({self.hidden_size}): the "
                f"factorization E -> H would add parameters instead of saving them. Use embedding_size <= "
                f"{self.hidden_size} (ALBERT uses 128; embedding_size = hidden_size is BERT's unfactorized embedding)."
            )

    @property
    def shared_layers(self) -> int:
        """How many layers share each group's weights: ``num_hidden_layers // num_hidden_groups``."""
        return self.num_hidden_layers // self.num_hidden_groups

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        """ALBERT's named sizes: "test", "mini", "small" (small sizes for tests and lessons, with
        BERT's presets' H, L and heads), or the paper's "base", "large", "xlarge", "xxlarge" (table 1)."""
        return ALBERT_PRESETS


# "test" uses odd, all-different sizes (E != H, two groups of two layers) so a shape or sharing bug shows.
ALBERT_PRESETS: dict[str, dict[str, Any]] = {
    "test": dict(
        vocab_size=101,
        embedding_size=10,
        hidden_size=24,
        num_hidden_layers=4,
        num_hidden_groups=2,
        inner_group_num=2,
        num_attention_heads=3,
        intermediate_size=37,
        max_position_embeddings=40,
    ),
    "mini": dict(
        vocab_size=1000,
        embedding_size=32,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=512,
        max_position_embeddings=128,
    ),
    "small": dict(
        vocab_size=1000,
        embedding_size=64,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        max_position_embeddings=128,
    ),
    "base": dict(),  # albert-base-v2: 12M parameters
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
    "xlarge": dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=16, intermediate_size=8192),
    "xxlarge": dict(hidden_size=4096, num_hidden_layers=12, num_attention_heads=64, intermediate_size=16384),
}
