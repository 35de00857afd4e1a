"""History: the records of a run, as data (bertlib.history)."""

import json

import bertlib


def test_history_round_trips_through_a_dict():
    history = bertlib.History(train=[{"step": 1, "loss": 2.5}], eval=[{"step": 1, "accuracy": 0.5}], seconds=3.0)
    history.skipped.append({"step": 2, "lr": 0.001, "reason": "loss nan"})
    again = bertlib.History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again == history and again is not history
    old = {"train": [], "eval": [], "seconds": 1.0}  # written before skipped steps were recorded
    assert bertlib.History.from_dict(old).skipped == []


def test_series_and_final_read_the_records():
    history = bertlib.History(
        train=[{"step": 10, "loss": 3.0}, {"step": 20, "loss": 2.0}],
        eval=[{"step": 10, "accuracy": 0.4}, {"step": 20, "accuracy": 0.6, "loss": 1.5}],
    )
    assert history.series("loss") == ([10, 20], [3.0, 2.0])
    assert history.series("loss", "eval") == ([20], [1.5])  # only the records that have the key
    assert history.final == {"step": 20, "accuracy": 0.6, "loss": 1.5}
    assert bertlib.History().final == {}
