"""Speed work, kept out of the taught path: the last encoder layer run only where the heads read.

A training step of a head needs the final vectors at a few positions only: [CLS] for
NSP and sentence classification, the ~15% masked positions for MLM. Every layer but the
last still needs every position (its output is the next layer's keys and values), but
the last layer can compute its queries, attention output and feed-forward at just those
rows. The loss and the gradients agree with a full pass to float rounding
(tests/test_parity.py), and dropout draws the very numbers a full pass would; on a
CPU the step is several times faster (book/performance.md measures it).

This module is the only place that knows about it. ``BertConfig.sparse_last_layer``
switches it on or off, and a head asks :func:`applies` whether a step may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .model import BertLayer, BertModel, BertModelOutput
from .model_inputs import additive_mask, check_batch_shape

__all__ = ["KeptRows", "applies", "encode_kept", "dropout_rows"]


@dataclass
class KeptRows:
    """The positions whose final vectors the heads read, laid out for the last layer.

    Built by :meth:`from_mask` from a (B, T) bool mask. The last layer computes
    queries, attention output and feed-forward only for these rows (keys and
    values still come from every token).

    Attributes:
        index: (B, Tq) positions of each sequence's kept tokens, in order, then filler
            positions up to Tq = the most kept in one sequence (computed, then dropped).
        valid: (B, Tq) True where ``index`` is a kept token, not filler.
        flat: (N,) the kept positions in the flattened (B * T) batch, row-major.
        total: B * T, the rows of a full pass (dropout draws its numbers for all of them).
    """

    index: torch.Tensor
    valid: torch.Tensor
    flat: torch.Tensor
    total: int

    @classmethod
    def from_mask(cls, keep: torch.Tensor) -> KeptRows:
        counts = keep.sum(1)  # (B,)
        # A stable sort of "not kept" puts each sequence's kept positions first, in order.
        order = torch.sort((~keep).to(torch.uint8), dim=1, stable=True).indices  # (B, T)
        Tq = int(counts.max()) if keep.numel() else 0
        valid = torch.arange(Tq, device=keep.device) < counts[:, None]  # (B, Tq)
        return cls(order[:, :Tq], valid, keep.flatten().nonzero().squeeze(1), keep.numel())


def applies(model: nn.Module, output_attentions: bool, output_hidden_states: bool) -> bool:
    """Whether a forward pass of ``model`` may run its last layer at some positions only.

    Only in training mode, only when ``model.config.sparse_last_layer`` is on, and never
    when every layer's hidden states or attention weights are asked for.
    """
    return model.training and model.config.sparse_last_layer and not (output_attentions or output_hidden_states)


def encode_kept(
    bert: BertModel,
    input_ids: torch.Tensor,
    token_type_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    keep: torch.Tensor,
) -> tuple[torch.Tensor, BertModelOutput]:
    """``bert``'s forward pass with the last layer run only at the positions ``keep`` marks.

    Args:
        bert: the encoder.
        input_ids, token_type_ids, attention_mask: as in :meth:`BertModel.forward`.
        keep: (B, T) bool, the positions whose final vectors the heads read; with a
            pooler, position 0 ([CLS]) of every sequence must be among them.

    Returns:
        (kept (N, H), output): ``kept`` holds the final vectors at the N kept positions in
        row-major order (``last_hidden_state[keep]`` of a full pass); ``output`` has the
        pooler's output and ``last_hidden_state`` None.
    """
    check_batch_shape(input_ids)  # the same first check as BertModel.forward
    if keep.shape != input_ids.shape or keep.dtype != torch.bool:
        raise ValueError(
            f"keep must be a bool tensor shaped like input_ids {tuple(input_ids.shape)}, "
            f"got {keep.dtype} {tuple(keep.shape)}."
        )
    if bert.pooler is not None and not bool(keep[:, 0].all()):
        raise ValueError("keep must include position 0 ([CLS]) of every sequence: the pooler reads it.")
    x = bert.embeddings(input_ids, token_type_ids)
    mask = additive_mask(attention_mask, input_ids, x.dtype)
    *body, last = bert.encoder.layer
    for layer in body:
        x, _ = layer(x, mask)
    rows = KeptRows.from_mask(keep)
    kept = _last_layer_at(last, x, mask, rows)  # (N, H)
    starts = rows.valid.sum(1).cumsum(0) - rows.valid.sum(1)  # (B,) each sequence's first kept row: [CLS]
    pooled = bert.pooler(kept[starts][:, None]) if bert.pooler is not None else None  # (B, 1, H) -> (B, H)
    return kept, BertModelOutput(last_hidden_state=None, pooler_output=pooled)


def _last_layer_at(layer: BertLayer, x: torch.Tensor, mask: torch.Tensor | None, rows: KeptRows) -> torch.Tensor:
    """:meth:`BertLayer.forward` at the kept rows only: (B, T, H) -> (N, H)."""
    # Keys and values from every token, queries (and all that follows) only from the kept ones.
    xq = x.gather(1, rows.index[..., None].expand(-1, -1, x.size(-1)))  # (B, Tq, H)
    attention = layer.attention.self
    h, _ = attention.attend(  # (B, Tq, H); rotary positions need to know where the queries sit
        attention.query(xq), attention.key(x), attention.value(x), mask, query_positions=rows.index
    )
    h, xq = h[rows.valid], xq[rows.valid]  # filler dropped: (N, H), row-major like rows.flat
    a = _residual_at(layer.attention.output, h, xq, rows)
    return _residual_at(layer.output, layer.intermediate(a), a, rows)


def _residual_at(sublayer: nn.Module, h: torch.Tensor, residual: torch.Tensor, rows: KeptRows) -> torch.Tensor:
    """LN(residual + dropout(dense(h))) of a BertSelfOutput / BertOutput, at the kept rows."""
    return sublayer.LayerNorm(dropout_rows(sublayer.dropout, sublayer.dense(h), rows) + residual)


def dropout_rows(dropout: nn.Dropout, x: torch.Tensor, rows: KeptRows) -> torch.Tensor:
    """Dropout on the kept rows (N, H), with the mask a full (B * T, H) pass would draw.

    Drawing the numbers for every row and keeping ours leaves the random stream,
    and so every later number of a seeded run, exactly as without row selection.
    """
    if not dropout.training or dropout.p == 0:
        return dropout(x)
    if dropout.p == 1:
        return x * 0.0
    noise = x.new_empty(rows.total, x.size(-1)).bernoulli_(1 - dropout.p)  # what F.dropout draws on CPU
    return x * noise[rows.flat].div_(1 - dropout.p)
