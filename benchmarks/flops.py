"""Counting the arithmetic of a BERT training step, part by part.

A matrix product of an (m, k) and a (k, n) matrix costs 2mkn floating-point
operations (one multiply and one add per term). Matrix products are where
the time of a BERT goes, so they are what we count; the elementwise work
(LayerNorm, GELU, softmax, dropout) is not counted, except the sum of the
three embeddings, which is the only arithmetic the embedding layer does.

Backward costs twice the forward for every product (one product for the
gradient of the input, one for the gradient of the weight), so a training
step is about 3x the forward FLOPs.
"""

from __future__ import annotations

from bertlib import BertConfig

__all__ = ["PARTS", "forward_flops", "train_flops", "gemm_shapes"]

# Rows of the breakdown table, in the order data flows through the model.
PARTS = (
    "embeddings",
    "attention projections",
    "attention scores and values",
    "feed-forward",
    "pooler and NSP head",
    "MLM transform",
    "vocabulary projection",
)


def forward_flops(
    config: BertConfig, batch_size: int, seq_len: int, n_predicted: int, kept: int | None = None
) -> dict[str, float]:
    """Forward-pass FLOPs of ``BertForPreTraining`` on a (batch_size, seq_len) batch, per part.

    Args:
        config: the model's sizes (H, L, intermediate size, vocabulary V).
        batch_size, seq_len: B and T; padding positions count (they are computed).
        n_predicted: rows the MLM head runs on: the labelled positions when the head
            runs only there (bertlib's default), B * T when it scores every position.
        kept: rows the last layer computes after its keys and values: [CLS] and the
            labelled positions when it runs only there (bertlib's default in training);
            None for every position.

    Returns:
        FLOPs per part, keys in :data:`PARTS`.
    """
    B, T, H = batch_size, seq_len, config.hidden_size
    L, inter, V, n = config.num_hidden_layers, config.intermediate_size, config.vocab_size, n_predicted
    M = B * T  # token vectors flowing through every layer
    K = M if kept is None else kept  # query rows of the last layer
    return {
        "embeddings": 2.0 * M * H,  # word + position + segment: two adds per element
        # query, key, value, output: (M, H) @ (H, H); the last layer's query and output on K rows
        "attention projections": (L * 4 - 2) * 2.0 * M * H * H + 2 * 2.0 * K * H * H,
        # Q Kᵀ and weights @ V, all heads: T queries of T keys per sequence; K queries in the last layer
        "attention scores and values": (L - 1) * 2 * 2.0 * B * T * T * H + 2 * 2.0 * K * T * H,
        "feed-forward": ((L - 1) * M + K) * 2 * 2.0 * H * inter,  # H -> 4H -> H
        "pooler and NSP head": 2.0 * B * H * H + 2.0 * B * H * 2,  # on [CLS] only
        "MLM transform": 2.0 * n * H * H,  # dense + GELU + LayerNorm before the decoder
        "vocabulary projection": 2.0 * n * H * V,  # (n, H) @ (H, V), tied to the word embeddings
    }


def train_flops(config: BertConfig, batch_size: int, seq_len: int, n_predicted: int, kept: int | None = None) -> float:
    """FLOPs of one training step: forward + backward ≈ 3 x forward."""
    return 3.0 * sum(forward_flops(config, batch_size, seq_len, n_predicted, kept).values())


def gemm_shapes(config: BertConfig, rows: int) -> list[tuple[int, int, int, int, bool, bool]]:
    """The matrix products of the encoder's linear layers in one training step, as PyTorch runs them.

    For a layer y = x Wᵀ with x (rows, k) and the weight W stored as (n, k), the
    forward product is x @ Wᵀ, (rows, k) @ (k, n), with Wᵀ a transposed view;
    backward adds dx = dy @ W, (rows, n) @ (n, k), and dW = dyᵀ @ x,
    (n, rows) @ (rows, k), with dyᵀ a transposed view.

    Returns:
        (m, k, n, count, a_transposed, b_transposed): an (m, k) @ (k, n) product that
        occurs ``count`` times, and whether each operand is a transposed view.
    """
    H, inter, L = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    layers = [(H, H, 4 * L), (H, inter, L), (inter, H, L)]  # (in, out, how many such layers)
    shapes = []
    for k, n, count in layers:
        shapes += [
            (rows, k, n, count, False, True),
            (rows, n, k, count, False, False),
            (n, rows, k, count, True, False),
        ]
    return shapes
