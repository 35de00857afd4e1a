"""Labelled tasks about the small world of :mod:`bertlib.world`, for fine-tuning.

Four tasks, one per kind of BERT head (Devlin et al. 2018, section 4):

* ``"sentiment"`` (kind ``"sequence"``): is a short food review positive or
  negative? Negation ("the bread was not bad") and contrast ("the soup looked
  great but tasted awful") make every sentiment word occur as often in positive
  as in negative reviews, so counting words is not enough.
* ``"entities"`` (kind ``"token"``): BIO tags over words for people, pets, towns
  and places such as "the millbrook bakery" (a two-word entity).
* ``"qa"`` (kind ``"span"``): a question about a two-person passage whose answer
  is a span of the passage. ``text`` is the question, ``text_pair`` the passage
  (BERT's order: [CLS] question [SEP] passage [SEP]); ``answer_start`` is a
  character offset into ``text_pair``.
* ``"nli"`` (kind ``"pair"``): does the premise (``text``) entail, contradict, or
  say nothing about the hypothesis (``text_pair``)?

Every task is generated from ``make_world(seed)`` with the words of the "town"
pretraining corpus, so a BERT pretrained on that corpus knows the names. The
same seed gives the same examples; no test example occurs in the training split,
and classification labels are exactly balanced in both splits.

Example:
    >>> task = load_task("sentiment")
    >>> task.kind, task.labels, len(task.train), len(task.test)
    ('sequence', ['negative', 'positive'], 1200, 400)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .task_examples import (
    ENTITY_TAGS,
    NLI_LABELS,
    Example,
    entity_example,
    nli_example,
    qa_example,
    sentiment_example,
)
from .world import World, make_world

__all__ = ["Task", "load_task", "available_tasks"]


@dataclass
class Task:
    """A labelled task: its kind, label names, and disjoint train and test splits.

    Attributes:
        name: The name given to :func:`load_task`.
        kind: ``"sequence"`` (one text, one label), ``"pair"`` (two texts, one label),
            ``"token"`` (one tag per word) or ``"span"`` (answer span in ``text_pair``).
        labels: Class names (tag names for token tasks; ``[]`` for span tasks).
        train, test: The examples.
    """

    name: str
    kind: str
    labels: list[str]
    train: list[Example]
    test: list[Example]

    def __repr__(self) -> str:
        return (
            f"Task({self.name!r}, kind={self.kind!r}, labels={self.labels}, "
            f"train={len(self.train)}, test={len(self.test)})"
        )


# ------------------------------------------------------------------ registry
# name -> (kind, labels, example maker, train size, test size)
_TASKS: dict[str, tuple[str, list[str], Callable[[World, random.Random, int], Example], int, int]] = {
    "sentiment": ("sequence", ["negative", "positive"], sentiment_example, 1200, 400),
    "entities": ("token", ENTITY_TAGS, entity_example, 1000, 300),
    "qa": ("span", [], qa_example, 1200, 300),
    "nli": ("pair", NLI_LABELS, nli_example, 1500, 450),
}


def available_tasks() -> list[str]:
    """Names accepted by :func:`load_task`."""
    return sorted(_TASKS)


def load_task(name: str, seed: int = 0) -> Task:
    """Generates one of the labelled tasks.

    Args:
        name: ``"sentiment"``, ``"entities"``, ``"qa"`` or ``"nli"``.
        seed: Seed of the world (:func:`bertlib.world.make_world`) and of the examples;
            use the seed the encoder's pretraining corpus was generated with.

    Returns:
        A :class:`Task`; the same arguments always give the same examples.

    Raises:
        ValueError: On an unknown name.
    """
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {available_tasks()}")
    kind, labels, make, n_train, n_test = _TASKS[name]
    world, rng = make_world(seed), random.Random(f"task-{name}-{seed}")
    n_classes = len(labels) if kind in ("sequence", "pair") else 1
    seen: set[tuple[str, str | None]] = set()
    examples: list[Example] = []
    # Labels cycle 0, 1, ..., so any prefix of whole cycles is exactly balanced;
    # a duplicate is redrawn with the same label, which keeps the cycle intact.
    while len(examples) < n_train + n_test:
        label = len(examples) % n_classes
        for _ in range(1000):
            ex = make(world, rng, label)
            if (ex.text, ex.text_pair) not in seen:
                break
        else:
            raise RuntimeError(f"task {name!r} ran out of distinct examples")
        seen.add((ex.text, ex.text_pair))
        examples.append(ex if n_classes > 1 else Example(**{**ex.__dict__, "label": None}))
    train, test = examples[:n_train], examples[n_train:]
    rng.shuffle(train)
    rng.shuffle(test)
    return Task(name, kind, list(labels), train, test)
