"""Pictures of training and of attention: matplotlib figures and a bertviz adapter.

Every interactive view here has a static counterpart (a matplotlib figure), so
the built book still teaches where no kernel runs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = [
    "Table",
    "show_table",
    "plot_history",
    "attention_heatmap",
    "attention_grid",
    "head_view",
    "model_view",
    "trim_padding",
]

# A cell that reads as a number (12, -0.5, 3.1%, 1,024, 1e-4, "72.2% (70% to 75%)") is aligned right.
# The book's text column is 688 CSS px; figures are drawn at 110 dpi (bertlib.utils.setup_plots), so a
# figure at most 6.25 in wide is shown at its own size and its 9 pt text stays 9 pt.
COLUMN_INCHES = 688 / 110

_NUMERIC = re.compile(r"^[-+\u2212]?[\d.,]+(e[-+]?\d+)?\s*%?(\s*\(.*\))?$", re.I)


class Table:
    """A small result table that renders as a real table in Jupyter, Colab and the built book.

    Jupyter picks ``_repr_html_`` (an HTML ``<table>`` with a ``<caption>``); a plain console,
    or any front end without HTML, gets ``__repr__``'s aligned text. Cells are shown as text:
    they are HTML-escaped, never parsed as Markdown.
    """

    def __init__(self, header: Sequence, rows: Sequence[Sequence], caption: str = ""):
        self.header = [str(h) for h in header]
        self.rows = [[str(c) for c in row] for row in rows]
        self.caption = str(caption)
        for i, row in enumerate(self.rows):
            if len(row) != len(self.header):
                raise ValueError(
                    f"Row {i} has {len(row)} cells but the header has {len(self.header)}: {row!r}. "
                    "Give every row one cell per column (an empty string for a blank cell)."
                )
        # First column left (it names the row); a column of numbers right, so digits line up.
        self.align = ["left"] + [
            "right" if all(_NUMERIC.match(r[k].strip()) for r in self.rows if r[k].strip()) else "left"
            for k in range(1, len(self.header))
        ]

    def _repr_html_(self) -> str:
        def cells(row, tag):
            return "".join(
                f'<{tag} style="text-align: {a}">{html.escape(c)}</{tag}>' for c, a in zip(row, self.align, strict=True)
            )

        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        body = "".join(f"<tr>{cells(r, 'td')}</tr>" for r in self.rows)
        return (
            f'<table class="bertlib-table">{caption}<thead><tr>{cells(self.header, "th")}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def __repr__(self) -> str:
        widths = [max(len(r[k]) for r in [self.header, *self.rows]) for k in range(len(self.header))]

        def line(row):
            return "  ".join(
                c.ljust(w) if a == "left" else c.rjust(w) for c, w, a in zip(row, widths, self.align, strict=True)
            )

        lines = [self.caption] if self.caption else []
        lines += [line(self.header).rstrip(), "  ".join("-" * w for w in widths)]
        lines += [line(r).rstrip() for r in self.rows]
        return "\n".join(lines)


def show_table(header: Sequence, rows: Sequence[Sequence], caption: str = "") -> Table:
    """A result table: the last line of a cell shows it; elsewhere pass it to ``display``.

    Args:
        header: the column names.
        rows: one sequence of cells per row, as many as the header has (each cell is shown with ``str``).
        caption: one line above the table saying what it measures.
    """
    return Table(header, rows, caption)


def _numpy(x) -> np.ndarray:
    """A float NumPy copy of a tensor or array, for matplotlib (which must not be given tensors)."""
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def plot_history(
    history, train_keys: Sequence[str] = ("loss",), eval_keys: Sequence[str] | None = None, title: str | None = None
):
    """Training loss (left) and evaluation metrics (right) against the step.

    Args:
        history: a :class:`bertlib.history.History` (what :meth:`bertlib.Trainer.train` returns).
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
    w = _numpy(weights)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] != len(tokens):
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
    cell: float | None = None,
    title: str | None = None,
):
    """A layers x heads grid of small attention maps: the static twin of bertviz's model view.

    ``cell`` is the side of one map in inches. By default it is chosen so that the grid fits the
    book's column (at most 1.9 in), so the figure is shown unscaled and its 9 pt labels stay 9 pt;
    a large grid (many heads) can pass a larger ``cell`` and is then offered at full size.
    """
    atts, tokens = trim_padding(attentions, tokens, example, attention_mask)
    layers = list(range(len(atts))) if layers is None else list(layers)
    heads = atts[0].shape[1]
    if cell is None:  # the row label ("layer 0") and the margins take about half an inch
        cell = min(1.9, (COLUMN_INCHES - 0.4) / heads)
    fig, axes = plt.subplots(len(layers), heads, figsize=(cell * heads, cell * len(layers)), squeeze=False)
    for r, layer in enumerate(layers):
        for h in range(heads):
            ax = axes[r, h]
            ax.imshow(_numpy(atts[layer][0, h]), cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"head {h}", fontsize=9)
            if h == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=9)
    if len(tokens) * 9 * 1.2 / 72 <= cell:  # label the first cell (9 pt) so the reader can orient every map
        axes[0, 0].set_yticks(range(len(tokens)), tokens, fontsize=9)
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
