"""Keep the book's performance page in step with the latest results.

``book/performance.md`` quotes numbers in its prose through MyST
substitutions (``{{ small_vs_eager }}``) whose values live in the page's front
matter, and shows the tables by including ``benchmarks/results.md`` between
markers. :func:`update_page` rewrites only the front matter, so a new
benchmark run updates every number on the page and no number is typed by hand.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .breakdown import OPTIMIZER
from .training import paired_ratio

__all__ = ["substitutions", "update_page"]


def _x(v: float) -> str:
    return f"{v:.2f}x"


def _pct(v: float) -> str:
    return f"{v:.0%}"


def substitutions(results: dict[str, Any]) -> dict[str, str]:
    """Every number the page's prose quotes, as display strings keyed by name."""
    m = results["machine"]
    s: dict[str, str] = {
        "bench_date": results["date"][:10],
        "bench_cpu": m["cpu"],
        "bench_cpus": str(m["logical_cpus"]),
        "bench_threads": "1 PyTorch thread"
        if results["settings"]["threads"] == 1
        else f"{results['settings']['threads']} PyTorch threads",
        "bench_torch": m["torch"],
        "bench_transformers": m["transformers"],
        "bench_repeats": str(results["settings"]["repeats"]),
        "bench_load": f"{results['load_average_start'][0]:.1f}" if results["load_average_start"] else "unknown",
        "peak_gflops": f"{results['peak_gflops_1024']:.0f}",
        "bench_clock": (
            "wall-clock time"
            if results["settings"]["clock"] == "wall"
            else "the process's CPU time (one thread, so time the scheduler gave to other jobs does not count)"
        ),
    }
    for r in results["training"]:
        n, v = r["setup"], r["variants"]
        s[f"{n}_vs_eager"] = _x(r["ratios"]["bertlib / transformers eager"])
        s[f"{n}_vs_sdpa"] = _x(r["ratios"]["bertlib / transformers sdpa"])
        s[f"{n}_tokens"] = f"{v['bertlib']['tokens_per_s']:,.0f}"
        s[f"{n}_ceiling"] = _pct(v["bertlib"]["fraction_of_ceiling"])
        s[f"{n}_hf_ceiling"] = _pct(v["transformers sdpa"]["fraction_of_ceiling"])
        s[f"{n}_ceiling_gflops"] = f"{r['ceiling_gflops']:.0f}"
        s[f"{n}_seq_len"] = f"{r['mean_seq_len']:.0f}"
        s[f"{n}_predicted"] = f"{r['mean_predicted']:.0f}"
        for key, name in [
            ("head_all", "bertlib, head at every position"),
            ("last_all", "bertlib, last layer at every position"),
            ("eager", "bertlib, eager attention"),
            ("dropout", "bertlib, attention dropout 0.1"),
            ("unfused_adamw", "bertlib, default (unfused) AdamW"),
        ]:
            if name in v:  # speed of the variant relative to bertlib's default, paired by round
                s[f"{n}_{key}"] = _x(paired_ratio(r, name, "bertlib"))
    for n, f in results["flops"].items():
        ours, theirs = sum(f["bertlib"].values()), sum(f["transformers"].values())
        s[f"{n}_vocab_share_hf"] = _pct(f["transformers"]["vocabulary projection"] / theirs)
        s[f"{n}_vocab_share_bertlib"] = _pct(f["bertlib"]["vocabulary projection"] / ours)
        s[f"{n}_flop_ratio"] = _x(theirs / ours)
        if "bertlib, last layer at every position" in f:
            full_last = sum(f["bertlib, last layer at every position"].values())
            s[f"{n}_last_flop_saving"] = _pct(1 - ours / full_last)  # share of the step the sparse last layer skips
            s[f"{n}_head_flop_ratio"] = _x(theirs / full_last)  # what the masked head alone saves
        s[f"{n}_gflop"] = f"{3 * ours / 1e9:.1f}"
        s[f"{n}_ffn_share"] = _pct(f["bertlib"]["feed-forward"] / ours)
        s[f"{n}_attn_share"] = _pct(f["bertlib"]["attention scores and values"] / ours)
    for b in results.get("time_breakdown", []):
        sh = b["shares"]
        s[f"{b['setup']}_matmul_time"] = _pct(sh["matrix products"])
        s[f"{b['setup']}_adamw_time"] = f"{sh[OPTIMIZER]:.1%}"  # fused, it can be well below 1%
        s[f"{b['setup']}_elementwise_time"] = _pct(sh["dropout random numbers"] + sh["GELU"] + sh["LayerNorm"])
    for i in results.get("inference", []):
        lat = i["latency_ms"]
        s[f"{i['setup']}_latency"] = f"{lat['bertlib, with attentions']:.1f}"
        s[f"{i['setup']}_latency_hf"] = f"{lat['transformers eager, with attentions']:.1f}"
        s[f"{i['setup']}_attn_cost"] = _pct(lat["bertlib, with attentions"] / lat["bertlib, no attentions"] - 1)
    for mem in results.get("memory", []):
        key = {"bertlib": "", "bertlib, head at every position": "_all", "transformers sdpa": "_hf"}[mem["variant"]]
        s[f"{mem['setup']}_step_mb{key}"] = f"{mem['step_mb']:.0f}"
        s[f"{mem['setup']}_rss_mb{key}"] = f"{mem['rss_before_mb']:.0f}"
    book = results.get("book") or {}
    lessons = (book.get("cold_build") or {}).get("lessons") or book.get("lessons") or []
    s["book_lessons"] = str(len(lessons))
    s["book_seconds"] = f"{sum(x['seconds'] for x in lessons):.0f}"
    cold = book.get("cold_build")
    s["book_cold"] = f"{cold['seconds']:.0f} s" if cold else "not measured in this run (use --book)"
    return {k: str(v) for k, v in s.items()}  # plain str: YAML cannot write str subclasses


FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


def update_page(path: Path, results: dict[str, Any]) -> None:
    """Rewrite the front matter of ``path`` with the substitutions of ``results`` (body untouched)."""
    text = path.read_text(encoding="utf-8")
    header = (
        "---\n# Written by `python -m benchmarks` (benchmarks/page.py): do not edit by hand.\n"
        + yaml.safe_dump({"myst": {"substitutions": substitutions(results)}}, sort_keys=True, width=1000)
        + "---\n"
    )
    body = FRONT_MATTER.sub("", text, count=1)
    path.write_text(header + body, encoding="utf-8")
