"""Pictures of training and of attention: matplotlib figures and a bertviz adapter.

Every interactive view here has a static counterpart (a matplotlib figure), so
the built book still teaches where no kernel runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch

__all__ = ["plot_history", "attention_heatmap", "attention_grid", "head_view", "model_view", "trim_padding"]


def plot_history(
    history, train_keys: Sequence[str] = ("loss",), eval_keys: Sequence[str] | None = None, title: str | None = None
):
    """Training loss (left) and evaluation metrics (right) against the step.

    Args:
        history: a :class:`bertlib.training.History`.
        train_keys: training series to draw on the left panel.
        eval_keys: evaluation series for the right panel (default: every accuracy recorded).
    """
    if eval_keys is None:
        eval_keys = sorted({k for r in history.eval for k in r if "accuracy" in k or k == "exact_match"})
    panels = 2 if eval_keys else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.4), squeeze=False)
    ax = axes[0, 0]
    for key in train_keys:
        ax.plot(*history.series(key, "train"), label=f"train {key}")
    for key in ("loss",):
        steps, values = history.series(key, "eval")
        if steps:
            ax.plot(steps, values, "o--", label=f"held-out {key}")
    ax.set(xlabel="step", ylabel="loss", title=title or "Loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if eval_keys:
        ax = axes[0, 1]
        for key in eval_keys:
            ax.plot(*history.series(key, "eval"), "o-", label=key.replace("_", " "))
        ax.set(xlabel="step", ylabel="accuracy", ylim=(0, 1.02), title="Held-out accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def trim_padding(
    attentions: Sequence[torch.Tensor],
    tokens: Sequence[str],
    example: int = 0,
    attention_mask: torch.Tensor | None = None,
) -> tuple[list[torch.Tensor], list[str]]:
    """One example's attention with the [PAD] rows and columns removed.

    Args:
        attentions: one (B, H, T, T) tensor per layer (``output.attentions``).
        tokens: the example's T tokens.
        attention_mask: (B, T); positions with 0 are dropped.

    Returns:
        (per-layer (1, H, n, n) CPU float tensors, the n kept tokens).
    """
    n = len(tokens) if attention_mask is None else int(attention_mask[example].sum())
    layers = [a[example : example + 1, :, :n, :n].detach().float().cpu() for a in attentions]
    return layers, list(tokens[:n])


def attention_heatmap(
    weights: torch.Tensor,
    tokens: Sequence[str],
    ax=None,
    title: str | None = None,
    annotate: bool | None = None,
    cmap: str = "viridis",
):
    """Draw one (T, T) attention matrix: row = the query token, column = the token it attends to."""
    w = weights.detach().float().cpu()
    if w.dim() != 2 or w.shape[0] != w.shape[1] or w.shape[0] != len(tokens):
        raise ValueError(
            f"Expected a ({len(tokens)}, {len(tokens)}) matrix for {len(tokens)} tokens, got {tuple(w.shape)}."
        )
    if ax is None:
        size = max(3.0, 0.42 * len(tokens) + 1.5)
        _, ax = plt.subplots(figsize=(size + 0.8, size))
    im = ax.imshow(w, cmap=cmap, vmin=0, vmax=max(1e-6, float(w.max())))
    ax.set_xticks(range(len(tokens)), tokens, rotation=90)
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set_xlabel("attends to (key)")
    ax.set_ylabel("token (query)")
    if annotate if annotate is not None else len(tokens) <= 10:
        for i in range(len(tokens)):
            for j in range(len(tokens)):
                ax.text(
                    j,
                    i,
                    f"{w[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if w[i, j] < 0.6 * float(w.max()) else "black",
                )
    if title:
        ax.set_title(title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return ax


def attention_grid(
    attentions: Sequence[torch.Tensor],
    tokens: Sequence[str],
    example: int = 0,
    attention_mask: torch.Tensor | None = None,
    layers: Sequence[int] | None = None,
    cell: float = 1.9,
    title: str | None = None,
):
    """A layers x heads grid of small attention maps: the static twin of bertviz's model view."""
    atts, tokens = trim_padding(attentions, tokens, example, attention_mask)
    layers = list(range(len(atts))) if layers is None else list(layers)
    heads = atts[0].shape[1]
    fig, axes = plt.subplots(len(layers), heads, figsize=(cell * heads, cell * len(layers)), squeeze=False)
    for r, layer in enumerate(layers):
        for h in range(heads):
            ax = axes[r, h]
            ax.imshow(atts[layer][0, h], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"head {h}", fontsize=9)
            if h == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=9)
    if len(tokens) <= 16:  # label the first cell so the reader can orient every map
        axes[0, 0].set_yticks(range(len(tokens)), tokens, fontsize=6)
    fig.suptitle(title or "Attention of every head (rows: queries, columns: keys)", fontsize=10)
    fig.tight_layout()
    return fig


def _bertviz_args(attentions, tokens, example, attention_mask, sentence_b_start):
    atts, tokens = trim_padding(attentions, tokens, example, attention_mask)
    if sentence_b_start is None and "[SEP]" in tokens[:-1]:
        sentence_b_start = tokens.index("[SEP]") + 1  # a pair: B starts after the first [SEP]
    return dict(attention=atts, tokens=tokens, sentence_b_start=sentence_b_start)


def head_view(
    attentions: Sequence[torch.Tensor],
    tokens: Sequence[str],
    example: int = 0,
    attention_mask: torch.Tensor | None = None,
    sentence_b_start: int | None = None,
    layer: int | None = None,
    heads: Sequence[int] | None = None,
    html: bool = False,
):
    """bertviz's head view (Vig 2019) of one example, fed by bertlib's ``output.attentions``.

    Padding is trimmed; for a sentence pair the B boundary is found from the
    first [SEP] unless given. With ``html=True`` the HTML object is returned
    instead of displayed.
    """
    from bertviz import head_view as _head_view

    args = _bertviz_args(attentions, tokens, example, attention_mask, sentence_b_start)
    return _head_view(**args, layer=layer, heads=heads, html_action="return" if html else "view")


def model_view(
    attentions: Sequence[torch.Tensor],
    tokens: Sequence[str],
    example: int = 0,
    attention_mask: torch.Tensor | None = None,
    sentence_b_start: int | None = None,
    include_layers: Sequence[int] | None = None,
    html: bool = False,
):
    """bertviz's model view (every layer and head) of one example; see :func:`head_view`."""
    from bertviz import model_view as _model_view

    args = _bertviz_args(attentions, tokens, example, attention_mask, sentence_b_start)
    return _model_view(**args, include_layers=include_layers, html_action="return" if html else "view")
