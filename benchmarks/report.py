"""Tables and the figure: turn a results dict (see :mod:`benchmarks.run`) into text.

The same tables are printed by the benchmark command and written to
``benchmarks/results.md``; the book's performance page shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .breakdown import CATEGORIES, OPTIMIZER, OTHER
from .flops import PARTS
from .training import paired_ratio

__all__ = ["markdown_tables", "save_figure", "table"]

SHORT = {"transformers eager": "HF eager", "transformers sdpa": "HF sdpa"}


def table(header: list[str], rows: list[list[str]], labels: int = 1) -> str:
    """A Markdown table (pipes aligned, so it also reads well as plain text).

    The first ``labels`` columns are left-aligned text, the others right-aligned numbers.
    """
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells):
        return (
            "| "
            + " | ".join(
                str(c).rjust(w) if i >= labels else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
            + " |"
        )

    sep = "|" + "|".join("-" * (w + 1) + (":" if i >= labels else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def _k(x: float) -> str:
    return f"{x / 1e3:,.1f}k"


def training_table(results: dict[str, Any]) -> str:
    rows = []
    for r in results["training"]:
        v, ratios = r["variants"], r["ratios"]
        rows.append(
            [
                r["setup"],
                f"{r['batch_size']} x {r['mean_seq_len']:.0f}",
                _k(v["bertlib"]["tokens_per_s"]),
                _k(v["transformers eager"]["tokens_per_s"]),
                _k(v["transformers sdpa"]["tokens_per_s"]),
                f"{ratios['bertlib / transformers eager']:.2f}x",
                f"{ratios['bertlib / transformers sdpa']:.2f}x",
                f"{r['ceiling_gflops']:.0f}",
                f"{v['bertlib']['fraction_of_ceiling']:.0%}",
                f"{v['transformers sdpa']['fraction_of_ceiling']:.0%}",
            ]
        )
    return table(
        [
            "setup",
            "B x T",
            "bertlib tok/s",
            "HF eager tok/s",
            "HF sdpa tok/s",
            "vs eager",
            "vs sdpa",
            "ceiling GFLOP/s",
            "bertlib of ceiling",
            "HF sdpa of ceiling",
        ],
        rows,
        labels=2,
    )


def ablation_table(results: dict[str, Any]) -> str:
    names = [n for n in results["training"][0]["variants"]]
    rows = []
    for name in names:
        row = [name]
        for r in results["training"]:
            row.append(f"{paired_ratio(r, name, 'bertlib'):.2f}" if name in r["variants"] else "-")
        rows.append(row)
    return table(["variant (speed relative to bertlib)", *[r["setup"] for r in results["training"]]], rows)


def flops_table(results: dict[str, Any]) -> str:
    header = ["part (% of a training step's FLOPs)"]
    cols = []
    for name, f in results["flops"].items():
        for lib in ("bertlib", "transformers"):
            header.append(f"{name} {'bertlib' if lib == 'bertlib' else 'HF'}")
            cols.append(f[lib])
    rows = [[part, *[f"{c[part] / sum(c.values()):.1%}" for c in cols]] for part in PARTS]
    rows.append(["GFLOP per training step", *[f"{3 * sum(c.values()) / 1e9:.1f}" for c in cols]])
    return table(header, rows)


def breakdown_table(results: dict[str, Any]) -> str:
    cols = results["time_breakdown"]
    rows = [[c, *[f"{b['shares'][c]:.1%}" for b in cols]] for c in [*CATEGORIES, OPTIMIZER, OTHER]]
    return table(["bertlib, % of a training step's time", *[b["setup"] for b in cols]], rows)


def inference_table(results: dict[str, Any]) -> str:
    rows = []
    for r in results["inference"]:
        lat, thr = r["latency_ms"], r["throughput_tokens_per_s"]
        rows.append(
            [
                r["setup"],
                str(r["sentence_tokens"]),
                f"{lat['bertlib, with attentions']:.1f}",
                f"{lat['transformers eager, with attentions']:.1f}",
                f"{lat['bertlib, no attentions']:.1f}",
                "x".join(map(str, r["batch_shape"])),
                _k(thr["bertlib"]),
                _k(thr["transformers eager"]),
                _k(thr["transformers sdpa"]),
            ]
        )
    return table(
        [
            "setup",
            "tokens",
            "bertlib + attn ms",
            "HF eager + attn ms",
            "bertlib no attn ms",
            "batch",
            "bertlib tok/s",
            "HF eager tok/s",
            "HF sdpa tok/s",
        ],
        rows,
        labels=1,
    )


def memory_table(results: dict[str, Any]) -> str:
    rows = [
        [
            m["setup"],
            m["variant"],
            "x".join(map(str, m["batch_shape"])),
            f"{m['parameters_mb']:.1f}",
            f"{m['rss_before_mb']:.0f}",
            f"{m['step_mb']:.0f}",
            f"{m['peak_rss_mb']:.0f}",
        ]
        for m in results["memory"]
    ]
    return table(
        ["setup", "variant", "batch", "parameters MB", "RSS before MB", "step adds MB", "peak RSS MB"], rows, labels=3
    )


def book_table(results: dict[str, Any]) -> str:
    book = results.get("book") or {}
    cold = book.get("cold_build")
    lessons = (cold or {}).get("lessons") or book.get("lessons") or []
    rows = [[x["lesson"], f"{x['seconds']:.1f}"] for x in lessons]
    if cold:
        rows.append(["whole cold build (jupyter-book build, empty cache)", f"{cold['seconds']:.1f}"])
    if not rows:
        return "(no build cache found: run `make book` first, or time a cold build with `--book`)"
    text = table(["notebook", "seconds"], rows)
    if cold:
        status = "succeeded" if cold["returncode"] == 0 else f"FAILED (exit status {cold['returncode']})"
        text += (
            f"\n\nCold build of {book.get('date', results['date'])[:10]}, load average "
            f"{(book.get('load_average') or ['?'])[0]}: the build {status}."
        )
    return text


def markdown_tables(results: dict[str, Any]) -> dict[str, str]:
    """Every table, keyed by section name."""
    out = {"training": training_table(results), "ablations": ablation_table(results), "flops": flops_table(results)}
    if results.get("time_breakdown"):
        out["time"] = breakdown_table(results)
    if results.get("inference"):
        out["inference"] = inference_table(results)
    if results.get("memory"):
        out["memory"] = memory_table(results)
    out["book"] = book_table(results)
    return out


def save_figure(results: dict[str, Any], path: Path) -> None:
    """Two panels: speed relative to transformers (eager), and where each step's FLOPs go."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1, 1.25]})
    train = results["training"]
    names = list(train[0]["variants"])
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ys = [paired_ratio(r, name, "transformers eager") if name in r["variants"] else 0 for r in train]
        bars = ax1.bar(
            [j + (i - (len(names) - 1) / 2) * width for j in range(len(train))], ys, width, label=SHORT.get(name, name)
        )
        if name == "bertlib":
            ax1.bar_label(bars, fmt="%.2f", fontsize=8)
    ax1.axhline(1.0, color="gray", lw=0.8)
    ax1.set_xticks(
        range(len(train)),
        [f"{r['setup']}\nL{r['config']['layers']}/H{r['config']['hidden']}, V {r['config']['vocab']:,}" for r in train],
    )
    ax1.set_ylabel("time of HF eager step / time of step")
    ax1.set_title("Training speed relative to HF eager (paired medians)")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)

    labels, stacks, totals = [], [], []
    for name, f in results["flops"].items():
        for lib in ("transformers", "bertlib"):
            labels.append(f"{name} {'HF' if lib == 'transformers' else 'bertlib'}")
            total = sum(f[lib].values())
            stacks.append([100 * f[lib][p] / total for p in PARTS])
            totals.append(3 * total / 1e9)
    left = [0.0] * len(labels)
    colors = plt.get_cmap("Set2").colors  # not tab10: the left panel's colours mean variants
    for k, part in enumerate(PARTS):
        vals = [s[k] for s in stacks]
        ax2.barh(labels, vals, left=left, color=colors[k], label=part)
        left = [a + b for a, b in zip(left, vals, strict=True)]
    for y, total in enumerate(totals):
        ax2.text(101, y, f"{total:.1f} GFLOP", va="center", fontsize=8)
    ax2.set_xlim(0, 125)
    ax2.set_xlabel("share of a training step's FLOPs (%); total per step at the right")
    ax2.set_title("Where the FLOPs go (HF: every position; bertlib: head and last layer where read)")
    ax2.invert_yaxis()
    ax2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
