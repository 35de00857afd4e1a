"""Does mixed precision change what the lessons print? Pretrain the small BERT's recipe in fp32 and in bf16.

Same recipe, same seed, same data; only ``SmallBertRecipe.precision`` differs. Prints the
held-out MLM and NSP accuracy of each run, their training time and the differences::

    PYTHONPATH=. flock /work/heavy.lock .venv/bin/python scripts/precision_accuracy.py            # the lessons' recipe
    PYTHONPATH=. .venv/bin/python scripts/precision_accuracy.py --steps 300 --precisions fp32 bf16

On a CPU without native bf16 the bf16 run is emulated (slow, same arithmetic as a native one).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings

import torch

from bertlib.precision import PRECISIONS, SlowPrecisionWarning, cpu_bf16_native
from bertlib.pretrained import SMALL_BERT_RECIPE, pretrain_small_bert, small_bert_data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=SMALL_BERT_RECIPE.steps, help="optimizer updates (recipe default)")
    p.add_argument("--preset", default=SMALL_BERT_RECIPE.preset, help="BertConfig preset (recipe default: mini)")
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=PRECISIONS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    base = dataclasses.replace(SMALL_BERT_RECIPE, steps=args.steps, preset=args.preset)
    data = small_bert_data(base)  # precision does not change the data
    rows = []
    for precision in args.precisions:
        recipe = dataclasses.replace(base, precision=precision)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SlowPrecisionWarning)
            _, _, history = pretrain_small_bert(recipe, data=data, device=args.device, progress=False, eval_every=None)
        final = history.final
        rows.append(
            {
                "precision": precision,
                "mlm_accuracy": final["mlm_accuracy"],
                "nsp_accuracy": final["nsp_accuracy"],
                "loss": final["loss"],
                "seconds": time.perf_counter() - t0,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(
        f"\npreset {args.preset}, {args.steps} steps, device {args.device}, native CPU bf16: {cpu_bf16_native()}\n"
        "| precision | held-out MLM accuracy | held-out NSP accuracy | held-out loss | training s |\n"
        "|-----------|----------------------:|----------------------:|--------------:|-----------:|"
    )
    for r in rows:
        print(
            f"| {r['precision']} | {100 * r['mlm_accuracy']:.2f}% | {100 * r['nsp_accuracy']:.2f}% "
            f"| {r['loss']:.3f} | {r['seconds']:.0f} |"
        )
    for r in rows[1:]:
        print(
            f"{r['precision']} - {rows[0]['precision']}: MLM {100 * (r['mlm_accuracy'] - rows[0]['mlm_accuracy']):+.2f} "
            f"points, NSP {100 * (r['nsp_accuracy'] - rows[0]['nsp_accuracy']):+.2f} points"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
