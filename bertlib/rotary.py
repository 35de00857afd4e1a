"""Rotary position embeddings (RoPE, Su et al. 2021, "RoFormer", section 3.4).

BERT adds a learned vector per position to its input, so it cannot read past
``max_position_embeddings``. RoPE adds nothing: in every layer it turns each
query and each key by an angle proportional to its position, one angle per pair
of dimensions (2i, 2i + 1):

    θ_i = base^(-2i / d),   (x_2i, x_2i+1) at position m  ->  R(m θ_i) (x_2i, x_2i+1)

A rotation by mθ followed by the transpose of one by nθ is a rotation by (n - m)θ,
so the score q_m · k_n depends on the two vectors and on n - m only (paper, eq. 16):
attention sees relative positions, and no table caps the length.

The pairs are adjacent dimensions, as in the paper and in Hugging Face's RoFormer
(not the split halves of GPT-NeoX and Llama, an equivalent permutation).
``BertConfig(position_embedding_type="rotary")`` switches it on; the attention
module calls :func:`rotate` on its queries and keys.
"""

from __future__ import annotations

import torch

__all__ = ["rotary_angles", "rotate", "rotate_pairs"]


def rotary_angles(positions: torch.Tensor, dim: int, base: float = 10000.0) -> torch.Tensor:
    """The angles m θ_i, each repeated for the two dimensions of its pair.

    Args:
        positions: integer positions of any shape (...,), e.g. ``torch.arange(T)``.
        dim: the head size d (even).
        base: 10000 in the paper; larger bases turn slower, for longer inputs.

    Returns:
        (..., d) float64 angles [mθ_0, mθ_0, mθ_1, mθ_1, ...]. Computed in float64, so a
        position in the thousands keeps its angle exact to float32 precision.
    """
    if dim % 2:
        raise ValueError(f"Rotary positions rotate pairs of dimensions: the head size must be even, got {dim}.")
    theta = base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim)  # (d/2,)
    angles = positions.to(torch.float64)[..., None] * theta  # (..., d/2)
    return angles.repeat_interleave(2, dim=-1)  # (..., d): each pair shares its angle


def rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...): each pair turned by 90 degrees."""
    return torch.stack((-x[..., 1::2], x[..., 0::2]), dim=-1).flatten(-2)


def rotate(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotate queries or keys by their positions (paper, eq. 34).

    Args:
        x: (B, heads, T, d) queries or keys.
        positions: (T,) the positions of the T rows, shared by the batch, or (B, T) one
            set per sequence (the last layer of :mod:`bertlib.sparse_last_layer` runs at
            a few kept positions only).
        base: the angle base, ``BertConfig.rotary_base``.

    Returns:
        (B, heads, T, d): each pair (x_2i, x_2i+1) turned by position × θ_i.
    """
    angles = rotary_angles(positions, x.size(-1), base)  # (T, d) or (B, T, d)
    if angles.dim() == 3:
        angles = angles[:, None]  # (B, 1, T, d): broadcast over the heads
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    return x * cos + rotate_pairs(x) * sin  # [x0 cos - x1 sin, x1 cos + x0 sin, ...]
