"""The model configuration: one dataclass with Hugging Face's field names.

Because the field names match ``transformers.BertConfig``, a ``config.json``
written by either library can be read by the other.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar

from .checkpoint import atomic_write

__all__ = ["BertConfig", "PRESETS"]

# Keys that Hugging Face writes into config.json but that describe nothing
# our model needs (library versions, decoder options, ...). They are accepted
# on load and dropped, so real checkpoints load without a rename table.
_IGNORED_HF_KEYS = {
    "architectures",
    "model_type",
    "transformers_version",
    "_name_or_path",
    "gradient_checkpointing",
    "use_cache",
    "is_decoder",
    "add_cross_attention",
    "torch_dtype",
    "dtype",
    "classifier_dropout",
    "id2label",
    "label2id",
    "problem_type",
    "chunk_size_feed_forward",
    "output_attentions",
    "output_hidden_states",
    "return_dict",
    "tie_word_embeddings",
    "bos_token_id",
    "eos_token_id",
    "sep_token_id",
    "cls_token_id",
    "mask_token_id",
    "attn_implementation",
    "_attn_implementation_autoset",
}


@dataclass
class BertConfig:
    """Sizes and options of a BERT model (Devlin et al. 2018, section 3).

    The defaults are bert-base: 12 layers, hidden size 768, 12 heads, 110M
    parameters. Use :meth:`preset` for the small configurations the lessons
    and tests train on a CPU.
    """

    vocab_size: int = 30522  # WordPiece vocabulary of the original English BERT
    hidden_size: int = 768  # width of every token vector, "H" in the paper
    num_hidden_layers: int = 12  # encoder blocks stacked, "L"
    num_attention_heads: int = 12  # heads per block, "A"; hidden_size / heads = head size
    intermediate_size: int = 3072  # feed-forward width, 4H in the paper
    hidden_act: str = "gelu"  # the exact (erf) GELU, as in BERT
    hidden_dropout_prob: float = 0.1  # dropout after embeddings and every sub-layer
    attention_probs_dropout_prob: float = 0.1  # dropout on attention weights (0 allows fused SDPA kernels)
    max_position_embeddings: int = 512  # longest input: learned positions make it a hard cap (not rotary ones)
    type_vocab_size: int = 2  # segment ids: 0 for sentence A, 1 for sentence B
    initializer_range: float = 0.02  # std of the normal init of weights
    layer_norm_eps: float = 1e-12  # BERT's LayerNorm epsilon (PyTorch's default is 1e-5)
    pad_token_id: int = 0  # [PAD]; its embedding row is kept at zero and never trained
    num_labels: int = 2  # classes of a task head (sequence or token classification)
    attn_implementation: str = "sdpa"  # "eager" (explicit, returns weights) or "sdpa" (fused)
    # Speed switch, not part of the model: in training steps the heads run the last layer only
    # where they read it (bertlib.sparse_last_layer; same loss and gradients). Kept out of
    # config.json and of the printed config.
    sparse_last_layer: bool = field(default=True, repr=False)
    # "absolute": a learned vector per position, added to the input (BERT; caps the length at
    # max_position_embeddings). "rotary": no position table; queries and keys are rotated by
    # their position in every layer (RoPE, Su et al. 2021; bertlib.rotary), so any length runs.
    position_embedding_type: str = field(default="absolute", repr=False, metadata={"shown_if_changed": True})
    rotary_base: float = field(default=10000.0, repr=False, metadata={"shown_if_changed": True})  # RoPE's angle base

    model_type: ClassVar[str] = "bert"  # written to config.json, as Hugging Face does
    architecture: ClassVar[str] = "BertForPreTraining"

    def __repr__(self) -> str:
        # The dataclass repr, plus the position fields only when they differ from BERT's, so a
        # printed default config reads as it always has.
        shown = [
            f
            for f in fields(self)
            if f.repr or (f.metadata.get("shown_if_changed") and getattr(self, f.name) != f.default)
        ]
        return f"{type(self).__qualname__}(" + ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in shown) + ")"

    def __post_init__(self) -> None:
        positive = (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
            "num_labels",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"BertConfig.{name} must be a positive integer, got {value!r}.")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads}): each head gets hidden_size / heads dimensions. "
                f"Try num_attention_heads={_largest_divisor(self.hidden_size, self.num_attention_heads)}."
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "layer_norm_eps", "initializer_range"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"BertConfig.{name} must be a finite number, got {value!r} ({type(value).__name__}).")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise ValueError(f"BertConfig.{name} must be in [0, 1), got {p!r}.")
        if self.hidden_act not in ("gelu", "relu", "gelu_new", "tanh"):
            raise ValueError(f"hidden_act must be one of gelu, relu, gelu_new, tanh; got {self.hidden_act!r}.")
        if self.attn_implementation not in ("eager", "sdpa"):
            raise ValueError(
                f"attn_implementation must be 'eager' (explicit, can return attention weights) or "
                f"'sdpa' (PyTorch's fused kernel); got {self.attn_implementation!r}."
            )
        if not isinstance(self.sparse_last_layer, bool):
            raise ValueError(f"sparse_last_layer must be True or False, got {self.sparse_last_layer!r}.")
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(
                f"pad_token_id ({self.pad_token_id}) must be a token id below vocab_size ({self.vocab_size})."
            )
        if self.layer_norm_eps <= 0 or self.initializer_range <= 0:
            raise ValueError("layer_norm_eps and initializer_range must be positive.")
        self._check_positions()

    def _check_positions(self) -> None:
        kind = self.position_embedding_type
        if kind not in ("absolute", "rotary"):
            raise ValueError(
                f"position_embedding_type must be 'absolute' (learned positions, as BERT) or 'rotary' "
                f"(RoPE, bertlib.rotary); got {kind!r}. bertlib does not implement Hugging Face's "
                f"'relative_key' / 'relative_key_query' (Shaw et al. 2018): use 'rotary' for relative positions."
            )
        base = self.rotary_base
        if not isinstance(base, (int, float)) or isinstance(base, bool) or not math.isfinite(base) or base <= 1:
            raise ValueError(f"rotary_base must be a finite number above 1 (RoPE uses 10000), got {base!r}.")
        if kind == "rotary" and self.head_size % 2:
            raise ValueError(
                f"Rotary positions rotate pairs of dimensions, so the head size must be even; "
                f"hidden_size {self.hidden_size} / {self.num_attention_heads} heads = {self.head_size}. "
                f"Change hidden_size or num_attention_heads so that hidden_size / heads is even."
            )

    @property
    def head_size(self) -> int:
        """Dimensions per attention head, ``hidden_size // num_attention_heads``."""
        return self.hidden_size // self.num_attention_heads

    # ----------------------------------------------------------------- presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> BertConfig:
        """A named configuration (one of :meth:`presets`), with ``overrides`` such as ``vocab_size=...``."""
        presets = cls.presets()
        if name not in presets:
            raise ValueError(f"Unknown {cls.model_type.upper()} preset {name!r}; choose one of {sorted(presets)}.")
        return replace(cls(), **{**presets[name], **overrides})

    @classmethod
    def presets(cls) -> dict[str, dict[str, Any]]:
        """The named sizes :meth:`preset` knows (a subclass with sizes of its own overrides this)."""
        return PRESETS

    # ------------------------------------------------------------ config.json
    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict, plus the keys Hugging Face expects in config.json."""
        d = asdict(self)
        d.pop("attn_implementation")  # runtime choices, not part of the weights' description
        d.pop("sparse_last_layer")
        if self.position_embedding_type != "rotary":
            d.pop("rotary_base")  # only rotary positions use it; BERT's config.json stays as it was
        d.update(model_type=self.model_type, architectures=[self.architecture])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], **overrides: Any) -> BertConfig:
        """Build a config from a config.json dict (ours or Hugging Face's).

        Unknown keys that describe our model's shape are an error: silently
        dropping them would build a different model than the checkpoint's.
        """
        names = {f.name for f in fields(cls)}
        if not isinstance(d, dict):
            raise ValueError(f"config.json must hold a JSON object of fields, got {type(d).__name__}: {d!r}.")
        d = dict(d)
        if "id2label" in d and "num_labels" not in d:
            d["num_labels"] = len(d["id2label"])
        if d.get("model_type", cls.model_type) != cls.model_type:
            loaders = {
                "bert": "BertConfig / BertModel",
                "albert": "AlbertConfig / AlbertModel",
                "electra": "ElectraConfig / ElectraForPreTraining",
            }
            hint = f"load it with bertlib's {loaders[d['model_type']]}" if d["model_type"] in loaders else ""
            raise ValueError(
                f"config.json describes a {d['model_type']!r} model, not a {cls.model_type!r} one"
                + (f"; {hint}." if hint else "; bertlib loads BERT, ALBERT and ELECTRA models only.")
            )
        unknown = set(d) - names - _IGNORED_HF_KEYS
        if unknown:
            raise ValueError(f"config.json has fields bertlib does not know: {sorted(unknown)}.")
        kwargs = {k: v for k, v in d.items() if k in names}
        return cls(**{**kwargs, **overrides})

    def save(self, path: str | os.PathLike) -> None:
        """Write config.json (atomically: a temporary file, then a rename)."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write(Path(path), lambda tmp: tmp.write_text(text))

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> BertConfig:
        """Read a config.json written by bertlib or by Hugging Face ``transformers``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"No config.json at {path}: a checkpoint folder needs config.json and model.safetensors."
            )
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON ({e}); the checkpoint is corrupted, save it again.") from e
        if not isinstance(d, dict) or not d:
            raise ValueError(
                f"{path} holds {json.dumps(d)}, not the model's fields (vocab_size, hidden_size, ...): "
                f"the checkpoint is corrupted, save it again with model.save_pretrained(folder)."
            )
        try:
            return cls.from_dict(d, **overrides)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: {e} Fix the value in the file or save the checkpoint again.") from e


def _largest_divisor(n: int, at_most: int) -> int:
    return max(k for k in range(1, at_most + 1) if n % k == 0)


# Named sizes. "test" uses odd sizes on purpose: a shape bug that 64 x 64
# would hide (a transposed reshape, heads mixed with positions) shows up.
PRESETS: dict[str, dict[str, Any]] = {
    "test": dict(
        vocab_size=101,
        hidden_size=24,
        num_hidden_layers=2,
        num_attention_heads=3,
        intermediate_size=37,
        max_position_embeddings=40,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    ),
    "tiny": dict(
        vocab_size=1000,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=256,
        max_position_embeddings=128,
        attention_probs_dropout_prob=0.0,
    ),
    "mini": dict(
        vocab_size=1000,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=512,
        max_position_embeddings=128,
        attention_probs_dropout_prob=0.0,
    ),
    "small": dict(
        vocab_size=1000,
        hidden_size=256,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1024,
        max_position_embeddings=128,
        attention_probs_dropout_prob=0.0,
    ),
    "base": dict(),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}
