"""Datasets the loop reads: padding per batch, labels padded with -100, fingerprints (bertlib.batches)."""

import pytest
import torch

from bertlib import IGNORE_INDEX, EncodedDataset


def test_collate_pads_to_the_longest_example_and_masks_the_padding():
    data = EncodedDataset(
        [
            {"input_ids": [2, 7, 8, 3], "labels": [IGNORE_INDEX, 7, IGNORE_INDEX, IGNORE_INDEX]},
            {"input_ids": [2, 9, 3], "labels": [IGNORE_INDEX, 9, IGNORE_INDEX]},
        ],
        pad_token_id=0,
    )
    batch = data.collate([0, 1])
    assert batch["input_ids"].tolist() == [[2, 7, 8, 3], [2, 9, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["labels"][1, 3] == IGNORE_INDEX  # padding never counts in a loss
    assert batch["input_ids"].dtype == torch.long


def test_scalar_labels_are_stacked_and_the_order_is_kept():
    data = EncodedDataset([{"input_ids": [2, 3], "labels": i} for i in range(4)])
    assert data.collate([3, 1])["labels"].tolist() == [3, 1]


def test_fingerprint_changes_with_the_data_only():
    a = EncodedDataset([{"input_ids": [2, 5, 3], "labels": 1}])
    same = EncodedDataset([{"input_ids": [2, 5, 3], "labels": 1}])
    other = EncodedDataset([{"input_ids": [2, 5, 3], "labels": 0}])
    assert a.fingerprint() == same.fingerprint() != other.fingerprint()


def test_an_empty_dataset_or_one_without_ids_is_refused():
    with pytest.raises(ValueError, match="empty"):
        EncodedDataset([])
    with pytest.raises(ValueError, match="input_ids"):
        EncodedDataset([{"labels": 1}])


def test_epoch_shuffle_reads_every_example_once_per_epoch_in_a_new_order():
    from bertlib.batches import EpochShuffle

    order = EpochShuffle(10, seed=3)
    first, second = order.batch(0, 10), order.batch(1, 10)
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second  # each epoch has its own seed
    # A batch that crosses an epoch's end takes the last examples of one and the first of the next.
    assert order.batch(1, 7) == first[7:] + second[:4]


def test_epoch_shuffle_depends_only_on_seed_and_step():
    from bertlib.batches import EpochShuffle

    straight = [EpochShuffle(10, seed=3).batch(s, 4) for s in range(6)]
    resumed = EpochShuffle(10, seed=3)
    assert [resumed.batch(s, 4) for s in (5, 2, 0, 4, 1, 3)] == [straight[s] for s in (5, 2, 0, 4, 1, 3)]
    assert EpochShuffle(10, seed=4).batch(0, 10) != EpochShuffle(10, seed=3).batch(0, 10)
