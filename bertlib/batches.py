"""Datasets the training loop reads: anything with a length and a ``collate``.

:class:`EncodedDataset` holds tokenized examples and pads each batch to its own
longest example, so a batch of short sentences costs little.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Protocol

import torch

from .constants import IGNORE_INDEX
from .utils import seeded_generator

__all__ = ["Dataset", "EncodedDataset", "EpochShuffle", "EPOCH_SEED_STRIDE"]

# Each epoch's shuffle gets its own seed, seed * EPOCH_SEED_STRIDE + epoch: a prime larger than
# any epoch count we run, so two (seed, epoch) pairs never share a seed.
EPOCH_SEED_STRIDE = 7919


class Dataset(Protocol):
    """What the loop needs from data: a length, and a way to make a batch from indices.

    A dataset may also have ``fingerprint() -> str`` (as :class:`EncodedDataset` has): a
    checkpoint then records it, and a run is never resumed on other data.
    """

    def __len__(self) -> int: ...

    def collate(self, indices: Sequence[int], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]: ...


class EncodedDataset:
    """Tokenized examples (dicts of lists or ints), padded per batch.

    ``input_ids`` and ``token_type_ids`` are padded to the batch's longest
    example and an ``attention_mask`` is added; per-token label lists are padded
    with -100; scalar fields (labels, positions) are stacked.
    """

    def __init__(self, examples: Sequence[dict[str, Any]], pad_token_id: int = 0):
        if len(examples) == 0:
            raise ValueError("The dataset is empty: there is nothing to train or evaluate on.")
        if "input_ids" not in examples[0]:
            raise ValueError("Each example needs 'input_ids' (encode the texts with the tokenizer first).")
        self.examples = list(examples)
        self.pad_token_id = pad_token_id

    def __len__(self) -> int:
        return len(self.examples)

    def fingerprint(self) -> str:
        """sha256 of the examples (token ids, labels, ...) in order, and the padding id.

        A training checkpoint stores it, so a run is never resumed on other data. About
        a second per million tokens; the Trainer computes it once.
        """
        h = hashlib.sha256(f"{type(self).__name__} {len(self.examples)} {self.pad_token_id}".encode())
        for example in self.examples:
            h.update(json.dumps(example, sort_keys=True, separators=(",", ":"), default=_plain).encode())
            h.update(b"\n")
        return h.hexdigest()

    def collate(self, indices: Sequence[int], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        chosen = [self.examples[i] for i in indices]
        T = max(len(r["input_ids"]) for r in chosen)
        batch: dict[str, torch.Tensor] = {}
        for key in chosen[0]:
            values = [r[key] for r in chosen]
            if isinstance(values[0], (list, tuple)):
                fill = self.pad_token_id if key == "input_ids" else (IGNORE_INDEX if "label" in key else 0)
                batch[key] = torch.tensor([list(v) + [fill] * (T - len(v)) for v in values], dtype=torch.long)
            else:
                batch[key] = torch.tensor(values)
        if "attention_mask" not in batch:
            batch["attention_mask"] = torch.tensor(
                [[1] * len(r["input_ids"]) + [0] * (T - len(r["input_ids"])) for r in chosen], dtype=torch.long
            )
        return batch


def _plain(value: Any) -> Any:
    """JSON for what an example may hold besides lists and numbers: tensors and NumPy arrays."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"An example holds a {type(value).__name__}, which cannot be fingerprinted; use lists of ints.")


class EpochShuffle:
    """The order in which a run reads ``size`` examples: a new shuffle every epoch, seeded by (seed, epoch).

    Batch ``step`` is the examples at positions ``step * batch_size ...`` of the endless
    sequence epoch 0, epoch 1, ...; it depends only on (seed, step), so a resumed run reads
    exactly what an uninterrupted one would.
    """

    def __init__(self, size: int, seed: int):
        self.size, self.seed = size, seed
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def batch(self, step: int, batch_size: int) -> list[int]:
        """The example indices of batch ``step``."""
        out = []
        for pos in range(step * batch_size, (step + 1) * batch_size):
            epoch = pos // self.size
            if epoch != self._epoch:  # one epoch's permutation is kept at a time
                self._epoch = epoch
                self._perm = torch.randperm(
                    self.size, generator=seeded_generator(self.seed * EPOCH_SEED_STRIDE + epoch)
                )
            out.append(int(self._perm[pos % self.size]))
        return out
