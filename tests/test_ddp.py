"""DistributedDataParallel: two CPU processes (gloo) train exactly what one process trains.

Each rank takes a contiguous half of every global batch; DDP averages the
gradients, so the update equals one process feeding the same batch as two
accumulated micro-batches (the same slices, the same per-slice loss means).
Dropout is 0 in the "test" preset, so the runs are comparable bit for bit
up to the order of floating-point additions.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import bertlib
from bertlib import BertConfig, BertForPreTraining, PretrainingDataset, Trainer, TrainingConfig
from bertlib.checkpoint import load_tensors, save_tensors
from tests.helpers import DOCUMENTS, tiny_tokenizer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
STEPS, BATCH = 4, 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trainer(grad_accum_steps: int, nsp: bool = True, checkpoint_dir: str | None = None) -> Trainer:
    tok = tiny_tokenizer()
    torch.manual_seed(0)  # the same initial weights in every process
    model = BertForPreTraining(BertConfig.preset("test", vocab_size=tok.vocab_size))
    pairs = bertlib.make_nsp_pairs(DOCUMENTS * 4, seed=0)
    data = PretrainingDataset(pairs if nsp else [p.a for p in pairs], tok, max_length=32, nsp=nsp)
    cfg = TrainingConfig(
        steps=STEPS,
        batch_size=BATCH,
        lr=5e-3,
        warmup_steps=1,
        eval_every=None,
        log_every=1,
        grad_accum_steps=grad_accum_steps,
        progress=False,
        device="cpu",
        checkpoint_dir=checkpoint_dir,
    )
    return Trainer(model, data, cfg, eval_data=data, tokenizer=tok)


def _rank(rank: int, world: int, port: int, out: str, accum: int, nsp: bool) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        trainer = _trainer(accum, nsp, checkpoint_dir=f"{out}/ckpt")
        history = trainer.train()
        state = {k: v for k, v in trainer.model.state_dict().items() if k not in trainer.model._tied_weights}
        save_tensors(
            state,
            f"{out}/rank{rank}.safetensors",
            metadata={"losses": ",".join(str(r["loss"]) for r in history.train), "evals": str(len(history.eval))},
        )
    finally:
        dist.destroy_process_group()


def _run_ddp(tmp_path: Path, world: int = 2, accum: int = 1, nsp: bool = True) -> list[dict[str, torch.Tensor]]:
    mp.spawn(_rank, args=(world, _free_port(), str(tmp_path), accum, nsp), nprocs=world, join=True)
    return [load_tensors(tmp_path / f"rank{r}.safetensors") for r in range(world)]


def _losses(path: Path) -> tuple[list[float], int]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    return [float(x) for x in meta["losses"].split(",")], int(meta["evals"])


@pytest.mark.parametrize("accum", [1, 2])
def test_two_ranks_match_one_process_on_the_same_global_batch(tmp_path, accum):
    ranks = _run_ddp(tmp_path, accum=accum)
    # Both ranks hold identical weights: the averaged gradient is the same everywhere.
    for k, v in ranks[0].items():
        assert torch.equal(v, ranks[1][k]), f"ranks disagree on {k}"
    # One process, the same 8 rows per step fed as 2 * accum micro-batches of the same slices.
    single = _trainer(grad_accum_steps=2 * accum)
    single.train()
    for k, v in single.model.state_dict().items():
        if k in single.model._tied_weights:
            continue
        torch.testing.assert_close(ranks[0][k], v, atol=1e-5, rtol=1e-4, msg=lambda m, k=k: f"{k}: {m}")
    # The logged loss is the global batch's (all-reduced), and only rank 0 evaluated.
    losses0, evals0 = _losses(tmp_path / "rank0.safetensors")
    losses1, evals1 = _losses(tmp_path / "rank1.safetensors")
    assert losses0 == losses1
    torch.testing.assert_close(
        torch.tensor(losses0), torch.tensor([r["loss"] for r in single.history.train]), atol=1e-5, rtol=1e-5
    )
    assert (evals0, evals1) == (1, 0)
    # Only rank 0 wrote the checkpoint, and it holds the trained weights.
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == [f"checkpoint-{STEPS}"]
    saved = BertForPreTraining.from_pretrained(tmp_path / "ckpt" / f"checkpoint-{STEPS}")
    for k, v in ranks[0].items():
        assert torch.equal(saved.state_dict()[k], v), k


def test_mlm_only_training_leaves_the_nsp_head_unused_without_error(tmp_path):
    ranks = _run_ddp(tmp_path, accum=2, nsp=False)  # unused parameters, and no_sync between micro-batches
    assert torch.equal(ranks[0]["cls.seq_relationship.weight"], ranks[1]["cls.seq_relationship.weight"])
    for k, v in ranks[0].items():
        assert torch.equal(v, ranks[1][k]), k


def test_batch_must_split_evenly_over_ranks():
    with pytest.raises(mp.ProcessRaisedException, match="must be divisible by the number of processes"):
        mp.spawn(_bad_batch, args=(_free_port(),), nprocs=2, join=True)


def _bad_batch(rank: int, port: int) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        tok = tiny_tokenizer()
        data = PretrainingDataset(bertlib.make_nsp_pairs(DOCUMENTS, seed=0), tok, max_length=32)
        model = BertForPreTraining(BertConfig.preset("test", vocab_size=tok.vocab_size))
        Trainer(model, data, TrainingConfig(batch_size=6, grad_accum_steps=2, progress=False, device="cpu"))
    finally:
        dist.destroy_process_group()


def test_torchrun_script_end_to_end(tmp_path):
    """The appendix's command line, shrunk: torchrun, 2 processes, gloo, a few steps."""
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [
        str(torchrun),
        "--standalone",
        "--nproc_per_node=2",
        str(ROOT / "scripts/ddp_pretrain.py"),
        "--preset",
        "test",
        "--n-documents",
        "60",
        "--steps",
        "3",
        "--batch-size",
        "8",
        "--max-length",
        "32",
        "--eval-every",
        "3",
        "--output-dir",
        str(tmp_path / "run"),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "world size 2" in done.stdout and "step 3" in done.stdout, done.stdout
    assert (tmp_path / "run" / "checkpoint-3" / "model.safetensors").is_file()
