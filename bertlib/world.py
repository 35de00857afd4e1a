"""A small, fixed world of people, towns and facts that bertlib's corpora talk about.

BERT learns what context can predict. A corpus of interchangeable words gives it
little to learn; a corpus about a small world, where each person has fixed facts
that recur across documents, lets a masked word be recovered from the other words
of the pair (agreement, a job's verbs, a person's town, pet or friend).

The facts live here as frozen dataclasses, so later chapters can derive labelled
tasks (tagging, question answering, inference) from the same world that the
pretraining corpus describes. :mod:`bertlib.data` turns the world into text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Word lists. Every list is one category for the embeddings chapter, so no word
# appears in two lists (tests check that the categories are disjoint).
# Written as one string each, split into tuples, to keep the lists compact.
FEMALE_NAMES = tuple(
    "anna maria sofia emma lucy clara nora rosa julia elena hannah laura sara mia ella lena"
    " grace alice eva ruth".split()
)
MALE_NAMES = tuple(
    "tom ben sam leo jack paul omar felix hugo oscar noah luke adam peter david mark simon victor ivan carl".split()
)
PET_NAMES = tuple(
    "rex luna bella pip coco milo daisy bruno ziggy poppy fido nibbles sparky toby rolo kiki"
    " bingo dotty gizmo hector izzy jasper lulu patch rusty scout tilly zorro bubbles sooty"
    " pixie boris misty olly dino fifi".split()
)
TOWN_NAMES = tuple("millbrook riverton oakfield stonebridge greenhill westport ashford lakeside".split())
LANDSCAPES = ("by the river", "by the sea", "in the hills", "near a big forest", "by a lake")
INSTRUMENTS = tuple("piano violin guitar drums flute cello trumpet harp".split())
SPORTS = tuple("football tennis chess basketball hockey golf volleyball badminton".split())
FOODS = tuple("soup cheese apples pasta rice pizza pears honey noodles salad".split())
COLOURS = tuple("red blue green yellow black white brown grey pink purple".split())
# Roles in the theatre's plays, by gender, so that "anna plays the queen" agrees.
ROLES = {
    "female": ("queen", "princess", "witch", "captain"),
    "male": ("king", "prince", "wizard", "pirate"),
}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Job:
    """A job: where it is done and what a worker does there.

    Attributes:
        name: The job noun, e.g. ``"baker"``.
        workplace: Where the work happens, e.g. ``"bakery"``.
        preposition: How to say "works ... the workplace": ``"at"``, ``"on"`` or ``"in"``.
        duties: Verb phrases in the third person singular, e.g. ``"bakes bread"``.
    """

    name: str
    workplace: str
    preposition: str
    duties: tuple[str, ...]


@dataclass(frozen=True)
class Animal:
    """A kind of pet, with where it sleeps, what it does and its plausible colours."""

    name: str
    home: str
    habit: str
    colours: tuple[str, ...]


# Each job has its own verbs and workplace, so "bakes" predicts "bread" and "bakery".
# The banker, the fisher and the actor carry the money, river and theatre senses
# of "bank" and "play".
JOBS = (
    Job("baker", "bakery", "at", ("bakes bread", "sells cakes")),
    Job("teacher", "school", "at", ("teaches the children", "reads stories to the class")),
    Job("doctor", "hospital", "at", ("helps sick people", "gives medicine to the patients")),
    Job("gardener", "park", "in", ("waters the flowers", "cuts the grass")),
    Job("farmer", "farm", "on", ("feeds the cows", "grows wheat in the fields")),
    Job("fisher", "boat", "on", ("catches fish from the river bank", "sells fish at the market")),
    Job("banker", "bank", "at", ("counts money", "helps people save money in the bank")),
    Job("actor", "theatre", "at", ("acts in a play", "learns the words of a new play")),
    Job("chef", "restaurant", "in", ("cooks dinner for the guests", "cuts vegetables")),
    Job("mechanic", "garage", "at", ("repairs cars", "fixes old bikes")),
    Job("librarian", "library", "in", ("lends books to readers", "puts the books on the shelves")),
    Job("painter", "studio", "in", ("paints pictures", "mixes colours")),
)
_FURRY = ("black", "white", "brown", "grey")
ANIMALS = (
    Animal("dog", "kennel", "chases a ball in the park", _FURRY),
    Animal("cat", "basket", "sleeps in the sun all day", _FURRY),
    Animal("rabbit", "hutch", "eats fresh grass", _FURRY),
    Animal("parrot", "cage", "repeats every word it hears", ("green", "red", "blue", "yellow")),
    Animal("horse", "stable", "runs fast in the field", _FURRY),
    Animal("goat", "shed", "eats everything in the garden", _FURRY),
    Animal("hamster", "box", "runs on a little wheel", _FURRY),
    Animal("tortoise", "shell", "walks very slowly", ("brown", "green")),
)


@dataclass(frozen=True)
class Pet:
    """A person's pet: its kind (an :class:`Animal` name), its name and its colour."""

    animal: str
    name: str
    colour: str


@dataclass(frozen=True)
class Town:
    """A town and where it lies, e.g. ``Town("millbrook", "by the river")``."""

    name: str
    landscape: str


@dataclass(frozen=True)
class Person:
    """One character of the world and the facts that every document repeats.

    Attributes:
        name: First name, unique in the world.
        gender: ``"female"`` or ``"male"``; decides he/she and his/her.
        town: Name of the home town (siblings share it).
        job: Name of a :class:`Job`.
        pet: The person's :class:`Pet`.
        instrument: The instrument the person plays (music sense of "play").
        sport: The sport or game the person plays (sport sense of "play").
        food: Favourite food.
        disliked_food: A food the person does not like (for negation).
        colour: Favourite colour.
        friend: Name of the best friend (the relation is symmetric).
        sibling: Name of the brother or sister (symmetric, same town).
    """

    name: str
    gender: str
    town: str
    job: str
    pet: Pet
    instrument: str
    sport: str
    food: str
    disliked_food: str
    colour: str
    friend: str
    sibling: str

    @property
    def subject(self) -> str:
        """The subject pronoun, ``"she"`` or ``"he"``."""
        return "she" if self.gender == "female" else "he"

    @property
    def possessive(self) -> str:
        """The possessive pronoun, ``"her"`` or ``"his"``."""
        return "her" if self.gender == "female" else "his"


@dataclass(frozen=True)
class World:
    """Everything the corpora describe; built by :func:`make_world`.

    Attributes:
        seed: The seed the world was made from.
        people: The characters, in a fixed order.
        towns: The towns the characters live in.
        jobs: The jobs, with their workplaces and duties.
        animals: The kinds of pet.
    """

    seed: int
    people: tuple[Person, ...]
    towns: tuple[Town, ...]
    jobs: tuple[Job, ...]
    animals: tuple[Animal, ...]

    def person(self, name: str) -> Person:
        """Returns the person called ``name``; raises ``KeyError`` if there is none."""
        for p in self.people:
            if p.name == name:
                return p
        raise KeyError(f"no person called {name!r} in this world")

    def job(self, name: str) -> Job:
        """Returns the :class:`Job` called ``name``."""
        return next(j for j in self.jobs if j.name == name)

    def animal(self, name: str) -> Animal:
        """Returns the :class:`Animal` called ``name``."""
        return next(a for a in self.animals if a.name == name)

    def town(self, name: str) -> Town:
        """Returns the :class:`Town` called ``name``."""
        return next(t for t in self.towns if t.name == name)

    def categories(self) -> dict[str, tuple[str, ...]]:
        """Word categories for plots and tagging tasks, e.g. ``{"towns": (...), ...}``.

        Only words that are used in this world are listed; the lists are disjoint.
        """
        used = {
            "names": [p.name for p in self.people],
            "pet names": [p.pet.name for p in self.people],
            "towns": [t.name for t in self.towns],
            "jobs": [j.name for j in self.jobs],
            "animals": [a.name for a in self.animals],
            "foods": [w for p in self.people for w in (p.food, p.disliked_food)],
            "instruments": [p.instrument for p in self.people],
            "sports": [p.sport for p in self.people],
            "colours": [w for p in self.people for w in (p.colour, p.pet.colour)],
        }
        # dict.fromkeys keeps the first occurrence order, so the result is deterministic.
        return {k: tuple(dict.fromkeys(v)) for k, v in used.items()}


def _pairs(items: list[str], rng: random.Random) -> dict[str, str]:
    """Pairs up an even-length list at random; returns a symmetric name -> partner map."""
    order = items[:]
    rng.shuffle(order)
    pairs = {}
    for a, b in zip(order[::2], order[1::2], strict=True):
        pairs[a], pairs[b] = b, a
    return pairs


def make_world(seed: int = 0, n_people: int = 32) -> World:
    """Builds the world: who lives where, does what, owns which pet and plays what.

    The word lists are fixed; the seed decides which names are used and how the
    facts are dealt out. Jobs, instruments, sports and animals are dealt in turn
    from a shuffled list, so each of them belongs to at least one person.

    Args:
        seed: Seed of the ``random.Random`` that deals the facts.
        n_people: Number of characters, even, from 12 to 36 (half female).

    Returns:
        A :class:`World`; the same seed always gives the same world.

    Raises:
        ValueError: If ``n_people`` is odd or out of range.
    """
    if n_people % 2 or not 12 <= n_people <= 36:
        raise ValueError(f"n_people must be even and between 12 and 36, got {n_people}")
    rng = random.Random(seed)
    half = n_people // 2
    gender = {n: "female" for n in rng.sample(FEMALE_NAMES, half)}
    gender |= {n: "male" for n in rng.sample(MALE_NAMES, half)}
    names = list(gender)
    rng.shuffle(names)

    def deal(values) -> list:
        # Cycle through a shuffled copy so every value is used about equally often.
        values = list(values)
        rng.shuffle(values)
        return [values[i % len(values)] for i in range(n_people)]

    jobs = deal(j.name for j in JOBS)
    instruments, sports = deal(INSTRUMENTS), deal(SPORTS)
    animals = deal(ANIMALS)
    foods = deal(FOODS)
    colours = deal(COLOURS)
    pet_names = rng.sample(PET_NAMES, n_people)
    towns = [Town(name, rng.choice(LANDSCAPES)) for name in TOWN_NAMES]
    # Siblings share a home town; friends are a second pairing that never pairs siblings.
    siblings = _pairs(names, rng)
    friends = _pairs(names, rng)
    while any(friends[n] == siblings[n] for n in names):
        friends = _pairs(names, rng)
    town_of: dict[str, str] = {}
    for name in names:
        if name not in town_of:
            # Deal the towns in turn to sibling pairs, so every town has residents.
            town = towns[len(town_of) // 2 % len(towns)].name
            town_of[name] = town_of[siblings[name]] = town
    people = []
    for i, name in enumerate(names):
        animal = animals[i]
        disliked = rng.choice([f for f in FOODS if f != foods[i]])
        pet = Pet(animal.name, pet_names[i], rng.choice(animal.colours))
        hobbies = (instruments[i], sports[i], foods[i], disliked, colours[i])
        friend, sibling = friends[name], siblings[name]
        people.append(Person(name, gender[name], town_of[name], jobs[i], pet, *hobbies, friend, sibling))
    return World(seed, tuple(people), tuple(towns), JOBS, ANIMALS)
