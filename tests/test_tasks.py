"""Labelled tasks: deterministic, disjoint splits, balanced labels, consistent fields."""

from collections import Counter

import pytest

from bertlib.task_examples import NEGATIVE_WORDS, POSITIVE_WORDS
from bertlib.tasks import Task, available_tasks, load_task
from bertlib.words import split_words


@pytest.fixture(scope="module", params=["sentiment", "entities", "qa", "nli"])
def task(request) -> Task:
    return load_task(request.param)


def test_names_and_bad_name():
    assert available_tasks() == ["entities", "nli", "qa", "sentiment"]
    with pytest.raises(ValueError, match="choose one of .*sentiment"):
        load_task("sentimen")


def test_same_seed_same_examples_other_seed_differs(task):
    again = load_task(task.name)
    assert again.train[:20] == task.train[:20] and again.test[:20] == task.test[:20]
    assert load_task(task.name, seed=1).train[:20] != task.train[:20]


def test_splits_are_disjoint_and_sized(task):
    key = lambda e: (e.text, e.text_pair)  # noqa: E731
    assert not {key(e) for e in task.train} & {key(e) for e in task.test}
    assert len({key(e) for e in task.train}) == len(task.train)
    assert 200 <= len(task.test) < len(task.train) <= 2000


def test_fields_match_the_kind(task):
    for ex in task.train[:200] + task.test[:100]:
        if task.kind in ("sequence", "pair"):
            assert ex.label in range(len(task.labels)) and ex.tags is None
            assert (ex.text_pair is not None) == (task.kind == "pair")
        elif task.kind == "token":
            assert ex.words == split_words(ex.text) and len(ex.tags) == len(ex.words)
            assert all(0 <= t < len(task.labels) for t in ex.tags)
        else:
            assert task.kind == "span" and ex.text.endswith("?")
            assert ex.text_pair[ex.answer_start : ex.answer_start + len(ex.answer_text)] == ex.answer_text


@pytest.mark.parametrize("name", ["sentiment", "nli"])
def test_classification_labels_are_exactly_balanced(name):
    task = load_task(name)
    for split in (task.train, task.test):
        counts = Counter(e.label for e in split)
        assert len(counts) == len(task.labels) and len(set(counts.values())) == 1


def test_bio_tags_are_well_formed():
    task = load_task("entities")
    tags = task.labels
    seen = Counter()
    for ex in task.train:
        for prev, cur in zip(["O"] + [tags[t] for t in ex.tags], [tags[t] for t in ex.tags], strict=False):
            seen[cur] += 1
            if cur.startswith("I-"):  # an I- tag continues an entity of the same type
                assert prev[2:] == cur[2:], ex
    assert all(seen[t] > 0 for t in tags)  # every tag occurs


def test_sentiment_words_are_not_enough():
    """Every sentiment word, and "not", occurs about equally in positive and negative reviews."""
    task = load_task("sentiment")
    by_label = [Counter(), Counter()]
    for ex in task.train:
        by_label[ex.label].update(set(split_words(ex.text)))
    for word in (*POSITIVE_WORDS, *NEGATIVE_WORDS, "not", "but"):
        neg, pos = by_label[0][word], by_label[1][word]
        assert abs(pos - neg) <= 0.35 * (pos + neg), (word, neg, pos)


def test_nli_entailed_claims_repeat_the_premise():
    task = load_task("nli")
    for ex in task.train[:300]:
        if task.labels[ex.label] == "entailment" and " not " not in ex.text_pair:
            # a positive entailed claim repeats a fact of the premise, in its own words
            value = split_words(ex.text_pair)[-2]
            assert value in split_words(ex.text), ex


def test_nli_premise_is_one_sentence():
    task = load_task("nli")
    for ex in task.train[:300] + task.test[:100]:
        assert ex.text.count(".") == 1 and ex.text.endswith("."), ex.text
        assert ex.text_pair.count(".") == 1, ex.text_pair
