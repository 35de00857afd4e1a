"""Corpora for pretraining: short documents about the small world of :mod:`bertlib.world`.

Every corpus is generated from a seed, so nothing is downloaded and the same seed
gives the same text on every machine. A document is a list of sentences about one
person (a biography, a day in their life, a night at the theatre) or one town. The
sentences follow a loosely fixed order and keep naming the person, so that next
sentence prediction (NSP) is learnable, and they repeat each person's facts, so that
a masked word can usually be recovered from its context.

Example:
    >>> corpus = load_corpus("town", n_documents=100, seed=0)
    >>> train, held_out = corpus.split(0.1, seed=0)
    >>> len(train), len(held_out)
    (90, 10)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .words import split_words, with_article
from .world import DAYS, ROLES, Person, World, make_world


@dataclass
class Corpus:
    """A list of documents, each a list of sentence strings.

    Attributes:
        documents: The documents; every one has at least two sentences.
        name: The registry name the corpus was loaded as, e.g. ``"town"``.
        seed: The seed it was generated from.
    """

    documents: list[list[str]]
    name: str = "custom"
    seed: int = 0

    @classmethod
    def from_text(cls, text: str, name: str = "custom") -> Corpus:
        """Builds a corpus from plain text: blank lines separate documents.

        Sentences end at ".", "!" or "?" followed by whitespace.

        Example:
            >>> Corpus.from_text("The man went to the store. He bought milk.").documents
            [['The man went to the store.', 'He bought milk.']]
        """
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        return cls([re.split(r"(?<=[.!?])\s+", p) for p in paragraphs], name)

    def __len__(self) -> int:
        return len(self.documents)

    def sentences(self) -> list[str]:
        """All sentences of all documents, in order, as one flat list."""
        return [s for doc in self.documents for s in doc]

    def texts(self) -> Iterator[str]:
        """Yields the sentences one by one, e.g. for ``Tokenizer.train_from_iterator``."""
        for doc in self.documents:
            yield from doc

    def split(self, held_out_fraction: float = 0.1, seed: int = 0) -> tuple[Corpus, Corpus]:
        """Splits by document, so no held-out sentence has a neighbour in training.

        Args:
            held_out_fraction: Share of documents held out, strictly between 0 and 1.
            seed: Seed of the shuffle that picks the held-out documents.

        Returns:
            ``(train, held_out)``, both non-empty, documents in their original order.

        Raises:
            ValueError: If the fraction is not in (0, 1) or a side would be empty.
        """
        if not 0 < held_out_fraction < 1:
            raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
        n_held = round(len(self) * held_out_fraction)
        if not 0 < n_held < len(self):
            raise ValueError(
                f"cannot hold out {held_out_fraction} of {len(self)} documents: one side of the split would be empty"
            )
        held = set(random.Random(seed).sample(range(len(self)), n_held))
        train = [d for i, d in enumerate(self.documents) if i not in held]
        test = [d for i, d in enumerate(self.documents) if i in held]
        return (
            Corpus(train, f"{self.name}-train", self.seed),
            Corpus(test, f"{self.name}-held-out", self.seed),
        )

    def stats(self) -> dict[str, int]:
        """Counts documents, sentences, words (punctuation counts) and distinct words."""
        words = [w for s in self.texts() for w in split_words(s.lower())]
        n_sentences = sum(len(d) for d in self.documents)
        return {
            "documents": len(self),
            "sentences": n_sentences,
            "words": len(words),
            "vocabulary": len(set(words)),
        }


def _sibling_word(world: World, p: Person) -> str:
    return "sister" if world.person(p.sibling).gender == "female" else "brother"


def _window(rng: random.Random, sentences: list[str], min_len: int) -> list[str]:
    """A random run of consecutive sentences, at least ``min_len`` long.

    Cutting a window, rather than dropping sentences at random, keeps every pair
    of neighbours in its usual order, which is what makes NSP learnable quickly.
    """
    n = rng.randint(min(min_len, len(sentences)), len(sentences))
    start = rng.randint(0, len(sentences) - n)
    return sentences[start : start + n]


def _biography(world: World, p: Person, rng: random.Random) -> list[str]:
    """Who the person is: job, routine, pet, hobbies, food, sibling, in that order."""
    n, he, his, pet = p.name, p.subject, p.possessive, p.pet
    job, animal = world.job(p.job), world.animal(pet.animal)
    sibling = world.person(p.sibling)
    intro = rng.choice(
        [
            f"{n} is {with_article(job.name)} who lives in {p.town}.",
            f"{n} lives in {p.town} and works as {with_article(job.name)}.",
        ]
    )
    return _window(
        rng,
        [
            intro,
            f"every morning {n} {job.duties[0]}.",
            f"{n} works {job.preposition} the {job.workplace} where {he} {job.duties[1]}.",
            f"{n} has {with_article(pet.colour)} {animal.name} called {pet.name} that sleeps in a {animal.home}.",
            f"{pet.name} lives with {n} and {animal.habit}.",
            f"in the evening {n} plays the {p.instrument}.",
            f"at the weekend {n} plays {p.sport} with {his} friend {p.friend}.",
            rng.choice(
                [
                    f"the favourite food of {n} is {p.food}.",
                    f"{n} likes {p.food} but does not like {p.disliked_food}.",
                ]
            ),
            f"{n} has {with_article(_sibling_word(world, p))} called {sibling.name} who is {with_article(sibling.job)}.",
            f"the favourite colour of {n} is {p.colour}.",
        ],
        min_len=4,
    )


def _day(world: World, p: Person, rng: random.Random) -> list[str]:
    """One day in a person's life; weekdays go to work, weekends to the friend."""
    n, he, his, pet = p.name, p.subject, p.possessive, p.pet
    job, day = world.job(p.job), rng.choice(DAYS)
    middle = (
        [
            f"then {n} goes to the {job.workplace} where {he} {job.duties[0]}.",
            f"after lunch {n} {job.duties[1]}.",
        ]
        if day not in ("saturday", "sunday")
        else [
            f"{n} meets {his} friend {p.friend} and they play {p.sport} together.",
            f"after lunch {n} and {pet.name} have a picnic on the river bank.",
        ]
    )
    return _window(
        rng,
        [
            f"it is {day} and {n} wakes up early.",
            f"{n} gives {pet.name} the {pet.animal} some breakfast.",
            *middle,
            f"in the evening {n} plays the {p.instrument} at home.",
            f"for dinner {n} eats {p.food} and then {he} goes to bed.",
        ],
        min_len=4,
    )


def _theatre(world: World, p: Person, rng: random.Random) -> list[str]:
    """A night at the theatre: an actor plays a role, a friend comes to watch."""
    n, his = p.name, p.possessive
    role, other = rng.sample(ROLES[p.gender], 2)
    return _window(
        rng,
        [
            f"this week there is a new play at the theatre in {p.town}.",
            f"the play is about a {role} and a {other}.",
            f"{n} is an actor and plays the {role} in the play.",
            f"{n} asks {his} friend {p.friend} to come and see the play.",
            f"after the play {n} and {p.friend} eat {p.food} together.",
        ],
        min_len=3,
    )


def _town(world: World, town: str, rng: random.Random) -> list[str]:
    """A town and some of its residents, each sentence naming the town."""
    residents = [p for p in world.people if p.town == town]
    lines = [f"{town} is a small town {world.town(town).landscape}."]
    for p in rng.sample(residents, min(len(residents), rng.randint(2, 4))):
        lines.append(
            rng.choice(
                [
                    f"{p.name} the {p.job} lives in {town}.",
                    f"{p.name} works as {with_article(p.job)} in {town}.",
                ]
            )
        )
    lines += [
        f"people in {town} keep their money in the bank.",
        f"the theatre in {town} shows a new play every month.",
    ]
    return lines


def _town_corpus(world: World, n_documents: int, rng: random.Random) -> list[list[str]]:
    """Mixes the four kinds of document; each has at least two sentences."""
    actors = [p for p in world.people if p.job == "actor"]
    docs: list[list[str]] = []
    while len(docs) < n_documents:
        kind = rng.random()
        if kind < 0.45:
            doc = _biography(world, rng.choice(world.people), rng)
        elif kind < 0.75:
            doc = _day(world, rng.choice(world.people), rng)
        elif kind < 0.88:
            doc = _town(world, rng.choice(world.towns).name, rng)
        else:
            doc = _theatre(world, rng.choice(actors), rng)
        if len(doc) >= 2:
            docs.append(doc)
    return docs


# The registry: name -> generator of documents. Add a corpus by adding a line here.
_CORPORA: dict[str, Callable[[World, int, random.Random], list[list[str]]]] = {
    "town": _town_corpus,
}


def load_corpus(name: str = "town", n_documents: int = 2000, seed: int = 0) -> Corpus:
    """Generates one of bertlib's corpora.

    Args:
        name: Which corpus; one of ``available_corpora()``.
        n_documents: How many documents to generate (at least 1).
        seed: Seed of the world (:func:`bertlib.world.make_world`) and of the text.

    Returns:
        A :class:`Corpus`; the same arguments always give the same corpus.

    Raises:
        ValueError: On an unknown name or ``n_documents < 1``.
    """
    if name not in _CORPORA:
        raise ValueError(f"unknown corpus {name!r}; choose one of {available_corpora()}")
    if n_documents < 1:
        raise ValueError(f"n_documents must be at least 1 (an empty corpus), got {n_documents}")
    # The world and the text draw from separate generators, so a world is reusable.
    world = make_world(seed)
    docs = _CORPORA[name](world, n_documents, random.Random(f"{name}-{seed}"))
    return Corpus(docs, name, seed)


def available_corpora() -> list[str]:
    """Names accepted by :func:`load_corpus`."""
    return sorted(_CORPORA)
