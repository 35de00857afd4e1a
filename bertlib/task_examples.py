"""The examples of the labelled tasks, each written from the facts of :mod:`bertlib.world`.

One function per task writes one :class:`Example` with a given label:
``sentiment_example`` (food reviews), ``entity_example`` (BIO tags over words),
``qa_example`` (a question and a passage holding its answer) and ``nli_example``
(premise and hypothesis). :mod:`bertlib.tasks` turns them into balanced,
disjoint train and test splits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .words import split_words, with_article
from .world import DAYS, World

__all__ = [
    "Example",
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "ENTITY_TAGS",
    "NLI_LABELS",
    "sentiment_example",
    "entity_example",
    "qa_example",
    "nli_example",
]


@dataclass
class Example:
    """One labelled example. Which fields are set depends on the task's kind.

    Attributes:
        text: The sentence (sequence, token), the premise (pair) or the question (span).
        text_pair: The hypothesis (pair) or the passage (span); None otherwise.
        label: The class index into ``Task.labels`` (sequence, pair); None otherwise.
        words: ``split_words(text)`` (token tasks): the units that get tags.
        tags: One index into ``Task.labels`` per word (token tasks).
        answer_start: Character offset of the answer in ``text_pair`` (span tasks).
        answer_text: The answer, ``text_pair[answer_start:answer_start + len(answer_text)]``.
    """

    text: str
    text_pair: str | None = None
    label: int | None = None
    words: list[str] | None = None
    tags: list[int] | None = None
    answer_start: int | None = None
    answer_text: str | None = None


# ----------------------------------------------------------------- sentiment
POSITIVE_WORDS = ("good", "great", "tasty", "lovely", "fresh", "nice", "delicious", "perfect")
NEGATIVE_WORDS = ("bad", "awful", "terrible", "cold", "dry", "salty", "bland", "burnt")


def sentiment_example(world: World, rng: random.Random, label: int) -> Example:
    """A two-sentence review; the second sentence decides the label (1 = positive)."""
    p = rng.choice(world.people)
    food, town, he = rng.choice(world.categories()["foods"]), p.town, p.subject
    intro = rng.choice(
        [
            f"{p.name} had {food} at the restaurant in {town}.",
            f"{p.name} bought {food} at the market in {town}.",
            f"for dinner {p.name} ate {food} with {p.possessive} friend {p.friend}.",
            f"on {rng.choice(DAYS)} {p.name} cooked {food} at home.",
        ]
    )

    def adj(positive: bool) -> str:
        return rng.choice(POSITIVE_WORDS if positive else NEGATIVE_WORDS)

    pos = bool(label)
    # Plain and negated forms come in equal numbers and each contrast form holds one word
    # of each polarity, so every sentiment word (and "not") is as common in both labels.
    form = rng.randrange(7)
    if form == 0:
        verdict = f"the {food} was {adj(pos)}."
    elif form == 1:
        verdict = f"the {food} was not {adj(not pos)}."
    elif form == 2:
        verdict = f"{he} said it was {adj(pos)}."
    elif form == 3:
        verdict = f"{he} did not think it was {adj(not pos)}."
    elif form == 4:
        verdict = f"the {food} looked {adj(not pos)} but tasted {adj(pos)}."
    elif form == 5:
        verdict = f"the {food} was not {adj(not pos)}, it was {adj(pos)}."
    else:
        verdict = f"{he} thought it was {adj(not pos)} at first but in the end it was {adj(pos)}."
    return Example(text=f"{intro} {verdict}", label=label)


# ------------------------------------------------------------------ entities
ENTITY_TAGS = ["O", "B-PER", "B-PET", "B-TOWN", "B-ORG", "I-ORG"]


def entity_example(world: World, rng: random.Random, label: int) -> Example:
    """A sentence as chunks: plain text (tag O) or (phrase, type) for an entity."""
    p, q = rng.sample(world.people, 2)
    pet, day, town = p.pet, rng.choice(DAYS), rng.choice(world.towns).name
    work = world.job(p.job).workplace
    place = rng.choice([work, "bank", "theatre", "park", "library", "market"])
    when = rng.choice(["", f"on {day}", "in the morning", "in the evening", "every week"])
    chunks = rng.choice(
        [
            [(p.name, "PER"), "lives in", (p.town, "TOWN"), "and works at the", (f"{p.town} {work}", "ORG"), "."],
            [(p.name, "PER"), "takes", (pet.name, "PET"), "to the", (f"{town} park", "ORG"), "."],
            [
                (pet.name, "PET"),
                f"the {pet.animal} sleeps in a {world.animal(pet.animal).home} in",
                (p.town, "TOWN"),
                ".",
            ],
            [(p.name, "PER"), "and", (q.name, "PER"), f"play {p.sport} together."],
            [(p.name, "PER"), f"puts {p.possessive} money in the", (f"{town} bank", "ORG"), "."],
            [(p.name, "PER"), "and", (pet.name, "PET"), "have a picnic on the river bank."],
            [(p.name, "PER"), "visits", (q.name, "PER"), "in", (q.town, "TOWN"), "."],
            [(p.name, "PER"), "sees a new play with", (q.name, "PER"), "at the", (f"{town} theatre", "ORG"), "."],
            [(p.name, "PER"), "gives", (pet.name, "PET"), "some food and goes to the", (f"{town} {place}", "ORG"), "."],
            [(p.name, "PER"), "says that", (town, "TOWN"), f"is a small town {world.town(town).landscape}."],
            [(p.name, "PER"), f"walks with {with_article(pet.colour)} {pet.animal} called", (pet.name, "PET"), "."],
            [
                (q.name, "PER"),
                f"meets {with_article(p.job)} from",
                (p.town, "TOWN"),
                "and",
                (pet.name, "PET"),
                "the",
                pet.animal,
                ".",
            ],
        ]
    )
    chunks = ([when] if when else []) + chunks
    words, tags = [], []
    for chunk in chunks:
        phrase, kind = (chunk, None) if isinstance(chunk, str) else chunk
        for i, w in enumerate(split_words(phrase)):
            words.append(w)
            tags.append(0 if kind is None else ENTITY_TAGS.index(f"{'B' if i == 0 else 'I'}-{kind}"))
    text = " ".join(words).replace(" .", ".").replace(" ,", ",")
    assert split_words(text) == words  # the text splits back into exactly the tagged words
    return Example(text=text, words=words, tags=tags)


# ------------------------------------------------------------------------ qa
def _facts(world: World, name: str) -> list[tuple[str, str, str, str]]:
    """(question, sentence prefix, answer, sentence suffix) for each fact about a person."""
    p = world.person(name)
    job, n = world.job(p.job), p.name
    return [
        (f"where does {n} live?", f"{n} lives in ", p.town, "."),
        (f"what is the job of {n}?", f"{n} works as {with_article(p.job)[: -len(p.job)]}", p.job, "."),
        (f"where does {n} work?", f"every day {n} goes to the ", job.workplace, f" and {job.duties[0]}."),
        (
            f"what is the name of the {p.pet.animal} of {n}?",
            f"{n} has {with_article(p.pet.colour)} {p.pet.animal} called ",
            p.pet.name,
            ".",
        ),
        (f"which instrument does {n} play?", f"in the evening {n} plays the ", p.instrument, "."),
        (f"which sport does {n} play?", f"at the weekend {n} plays ", p.sport, "."),
        (f"what is the favourite food of {n}?", f"the favourite food of {n} is ", p.food, "."),
        (f"what is the favourite colour of {n}?", f"the favourite colour of {n} is ", p.colour, "."),
    ]


def qa_example(world: World, rng: random.Random, label: int) -> Example:
    """A passage of facts about a person and a friend or sibling; a question about one of them."""
    a = rng.choice(world.people)
    b = world.person(rng.choice([a.friend, a.sibling]))
    blocks = [rng.sample(_facts(world, a.name), 3), rng.sample(_facts(world, b.name), 3)]
    rng.shuffle(blocks)
    who, which = rng.randrange(2), rng.randrange(3)  # which person and which fact is asked about
    passage, start, answer, question = "", 0, "", ""
    for i, block in enumerate(blocks):
        for j, (q, before, ans, after) in enumerate(block):
            sep = " " if passage else ""
            if (i, j) == (who, which):
                question, answer, start = q, ans, len(passage) + len(sep) + len(before)
            passage += sep + before + ans + after
    return Example(text=question, text_pair=passage, answer_start=start, answer_text=answer)


# ----------------------------------------------------------------------- nli
NLI_LABELS = ["entailment", "neutral", "contradiction"]
_EXCLUSIVE = ("town", "job", "food", "colour", "friend")  # attributes with exactly one value


def _statement(attr: str, name: str, value: str, negated: bool) -> str:
    """A hypothesis: ``name``'s ``attr`` is (or, negated, is not) ``value``."""
    no = "not " if negated else ""
    if attr == "town":
        return f"{name} {'does not live' if negated else 'lives'} in {value}."
    if attr == "job":
        return f"{name} is {no}{with_article(value)}."
    if attr == "friend":
        return f"the best friend of {name} is {no}{value}."
    return f"the favourite {attr} of {name} is {no}{value}."


def nli_example(world: World, rng: random.Random, label: int) -> Example:
    """Premise: a true fact in the corpus's words. Hypothesis: one claim, labelled by the premise alone."""
    p = rng.choice(world.people)
    n = p.name
    facts = {
        ("town", "job"): rng.choice(
            [
                f"{n} is {with_article(p.job)} who lives in {p.town}.",
                f"{n} lives in {p.town} and works as {with_article(p.job)}.",
            ]
        ),
        ("food",): f"the favourite food of {n} is {p.food}.",
        ("colour",): f"the favourite colour of {n} is {p.colour}.",
        ("friend",): f"at the weekend {n} plays {p.sport} with {p.possessive} friend {p.friend}.",
    }
    # One sentence of premise: a 2-layer encoder learns to compare it with the hypothesis in a
    # few hundred updates; with two sentences it needed many more.
    chosen = rng.choice(list(facts))
    premise, stated = facts[chosen], list(chosen)
    truth = {"town": p.town, "job": p.job, "food": p.food, "colour": p.colour, "friend": p.friend}
    pools = {
        "town": [t.name for t in world.towns],
        "job": [j.name for j in world.jobs],
        "food": list(world.categories()["foods"]),
        "colour": list(world.categories()["colours"]),
        "friend": [q.name for q in world.people if q.name != n],
    }
    negated = rng.random() < 0.5
    if NLI_LABELS[label] == "neutral":
        unstated = [a for a in _EXCLUSIVE if a not in stated]
        if rng.random() < 0.5:  # a fact the premise does not mention
            attr, who = rng.choice(unstated), n
        else:  # a stated kind of fact, but about somebody else
            others = [q.name for q in world.people if q.name not in (n, p.friend)]  # friendship is mutual
            attr, who = rng.choice(stated), rng.choice(others)
        value = rng.choice(pools[attr])
    else:
        attr, who = rng.choice(stated), n
        # Entailment: "is X" with the true X, or "is not Y" with a wrong Y; contradiction: the reverse.
        same = (NLI_LABELS[label] == "entailment") != negated
        value = truth[attr] if same else rng.choice([v for v in pools[attr] if v != truth[attr]])
    return Example(text=premise, text_pair=_statement(attr, who, value, negated), label=label)
