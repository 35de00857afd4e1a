"""Pretrain the small BERT of chapter 8 on several processes with DistributedDataParallel.

Launch it with torchrun, which starts one process per GPU (or CPU slot) and
tells each its rank through environment variables:

    # one machine, 4 GPUs (NCCL); or 2 CPU processes with --backend gloo
    torchrun --standalone --nproc_per_node=4 scripts/ddp_pretrain.py --preset small --steps 5000

    # two machines, 8 GPUs each: run on both, --node_rank 0 on the first, 1 on the second
    torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 --rdzv_backend=c10d \\
        --rdzv_endpoint=first-node:29500 --rdzv_id=bert-1 scripts/ddp_pretrain.py --preset base

Every rank builds the same corpus, tokenizer and batches (all seeded), trains on
its slice of each global batch through ``bertlib.Trainer``, and rank 0 alone
evaluates, prints and writes ``<output-dir>/checkpoint-<step>/``. Started again
with the same arguments, the run resumes from the latest checkpoint. Without
torchrun the script runs in one process, which makes the same updates.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import fields

import torch
import torch.distributed as dist

from bertlib.pretrained import SMALL_BERT_RECIPE, SmallBertRecipe, pretrain_small_bert


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # One flag per recipe field (--n-documents, --batch-size, ...), defaulting to the cached model's recipe.
    for f in fields(SmallBertRecipe):
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            type=type(getattr(SMALL_BERT_RECIPE, f.name)),
            default=getattr(SMALL_BERT_RECIPE, f.name),
        )
    p.add_argument("--output-dir", default="runs/ddp-pretrain", help="checkpoints go here (resumed from)")
    p.add_argument("--eval-every", type=int, default=100, help="steps between held-out evaluations")
    p.add_argument(
        "--backend", choices=["nccl", "gloo"], default=None, help="default: nccl with CUDA GPUs, gloo on CPUs"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    launched = "RANK" in os.environ  # torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT
    if launched:
        backend = args.backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":  # pin this process to its own GPU before any CUDA work
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group(backend)
    rank, world = (dist.get_rank(), dist.get_world_size()) if launched else (0, 1)
    recipe = SmallBertRecipe(**{f.name: getattr(args, f.name) for f in fields(SmallBertRecipe)})
    try:
        if rank == 0:
            print(f"world size {world}, {recipe.batch_size // world} sequences per rank and step", flush=True)
        model, tokenizer, history = pretrain_small_bert(
            recipe, eval_every=args.eval_every, progress=rank == 0, checkpoint_dir=args.output_dir
        )
        if rank == 0:
            for row in history.eval:
                print(f"step {row['step']}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "step"))
            print(f"checkpoints in {args.output_dir}")
    finally:
        if launched:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
