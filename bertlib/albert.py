"""ALBERT's encoder (Lan et al. 2020): BERT with a factorized embedding and layers that share weights.

Module and parameter names mirror Hugging Face's ``modeling_albert.py``
(``embeddings.word_embeddings`` at width E, ``encoder.embedding_hidden_mapping_in``,
``encoder.albert_layer_groups.N.albert_layers.M.attention.query``, ``pooler``), so
real ALBERT checkpoints load with no rename table (tests/test_albert.py checks it
against transformers). The attention is bertlib's own (:mod:`bertlib.attention`),
with ALBERT's names for the output projection; the pretraining heads are in
:mod:`bertlib.albert_heads`.
"""

from __future__ import annotations

import torch
from torch import nn

from .albert_config import AlbertConfig
from .attention import BertSelfAttention
from .config import BertConfig
from .model import ACT2FN, BertEmbeddings, BertModel, BertModelOutput, BertPreTrainedModel
from .model_inputs import additive_mask, check_batch_shape

__all__ = ["AlbertModel", "AlbertPreTrainedModel", "AlbertLayer", "AlbertTransformer", "parameter_counts"]


class AlbertAttention(BertSelfAttention):
    """bertlib's multi-head attention, then dense + dropout + residual + LayerNorm, under ALBERT's names.

    Hugging Face keeps the attention sub-layer in one module (``attention.query`` ...
    ``attention.dense``, ``attention.LayerNorm``) where BERT splits it in two.
    """

    def __init__(self, config: AlbertConfig):
        super().__init__(config)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, H) -> LN(x + dropout(dense(attention(x)))), and the weights (B, heads, T, T) or None."""
        h, weights = super().forward(x, mask, output_attentions)
        return self.LayerNorm(x + self.output_dropout(self.dense(h))), weights


class AlbertLayer(nn.Module):
    """One encoder block, as BERT's: attention sub-layer, then feed-forward sub-layer (post-LN)."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.activation = ACT2FN[config.hidden_act]
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T, H) -> (B, T, H), and the attention weights when asked for."""
        a, weights = self.attention(x, mask, output_attentions)  # sub-layer 1: LN(x + attention(x))
        # Sub-layer 2: LN(a + dropout(FFN(a))). Hugging Face leaves this dropout out (ALBERT's released
        # code has it); with ALBERT v2's dropout of 0, and in eval mode, the two agree.
        h = self.ffn_output(self.activation(self.ffn(a)))
        return self.full_layer_layer_norm(self.dropout(h) + a), weights


class AlbertLayerGroup(nn.Module):
    """``inner_group_num`` layers with their own weights, run one after the other."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.albert_layers = nn.ModuleList(AlbertLayer(config) for _ in range(config.inner_group_num))


class AlbertTransformer(nn.Module):
    """Project the E-wide embeddings to H, then run L layers that reuse G groups of weights."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.config = config
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)  # E -> H
        self.albert_layer_groups = nn.ModuleList(AlbertLayerGroup(config) for _ in range(config.num_hidden_groups))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BertModelOutput:
        """(B, T, E) embeddings -> (B, T, H); ``hidden_states`` are the projected input, then every block's output."""
        x = self.embedding_hidden_mapping_in(x)  # (B, T, H)
        hidden, attentions = [x], []
        for i in range(self.config.num_hidden_layers):
            group = self.albert_layer_groups[i // self.config.shared_layers]  # the same weights, L / G times in a row
            for layer in group.albert_layers:
                x, weights = layer(x, mask, output_attentions)
                hidden.append(x)
                attentions.append(weights)
        return BertModelOutput(
            last_hidden_state=x,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )


class AlbertPreTrainedModel(BertPreTrainedModel):
    """Base of the ALBERT models: BERT's weight init and checkpoint format, an :class:`AlbertConfig`."""

    base_model_prefix = "albert"
    config_class = AlbertConfig

    def __init__(self, config: AlbertConfig):
        if not isinstance(config, AlbertConfig):
            raise TypeError(
                f"{type(self).__name__} needs a bertlib.AlbertConfig (embedding_size, num_hidden_groups, ...), "
                f"got {type(config).__name__}; build one with AlbertConfig.preset(...) or AlbertConfig(...)."
            )
        super().__init__(config)


class AlbertModel(AlbertPreTrainedModel):
    """The bare ALBERT encoder: E-wide embeddings, the shared layers and (optionally) the pooler.

    Its output is a :class:`~bertlib.model.BertModelOutput`. ``hidden_states`` hold the
    embeddings projected to H, then the output of every block run
    (``num_hidden_layers * inner_group_num`` of them), as in Hugging Face.
    """

    _keys_to_ignore_on_load_unexpected = (r"^predictions\.", r"^sop_classifier\.")

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config, size=config.embedding_size)
        self.encoder = AlbertTransformer(config)
        # Hugging Face's names: the pooler is the Linear itself (BERT's is pooler.dense).
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        self.pooler_activation = nn.Tanh() if add_pooling_layer else None
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BertModelOutput:
        """Encode a batch; the arguments are :meth:`bertlib.BertModel.forward`'s."""
        x = self.embeddings(check_batch_shape(input_ids), token_type_ids)  # (B, T, E)
        mask = additive_mask(attention_mask, input_ids, x.dtype)
        out = self.encoder(x, mask, output_attentions, output_hidden_states)
        if self.pooler is not None:
            out.pooler_output = self.pooler_activation(self.pooler(out.last_hidden_state[:, 0]))  # (B, H)
        return out


def parameter_counts(config: BertConfig) -> dict[str, int]:
    """Parameters of the bare encoder a config describes, by part, without allocating its weights.

    The model is built on PyTorch's "meta" device (shapes only, no memory), so bert-large
    or albert-xxlarge costs nothing to count.

    Args:
        config: a :class:`~bertlib.BertConfig` (counts a :class:`~bertlib.BertModel`) or an
            :class:`AlbertConfig` (counts an :class:`AlbertModel`).

    Returns:
        {"embeddings": ..., "encoder": ..., "pooler": ..., "total": ...}; ALBERT's E -> H
        projection counts in "encoder", as Hugging Face places it.
    """
    cls = AlbertModel if isinstance(config, AlbertConfig) else BertModel
    with torch.device("meta"):
        model = cls(config)
    counts = {name: sum(p.numel() for p in part.parameters()) for name, part in model.named_children()}
    counts = {"embeddings": counts["embeddings"], "encoder": counts["encoder"], "pooler": counts.get("pooler", 0)}
    return {**counts, "total": model.num_parameters()}
