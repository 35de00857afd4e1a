"""Tests of bertlib.world and bertlib.data: deterministic, well-formed, learnable by design."""

import re
from collections import defaultdict

import pytest

from bertlib.data import Corpus, available_corpora, load_corpus
from bertlib.senses import POLYSEMOUS, word_senses
from bertlib.world import make_world


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus("town", n_documents=600, seed=0)


def test_same_seed_same_corpus_and_world():
    assert load_corpus("town", 50, seed=3).documents == load_corpus("town", 50, seed=3).documents
    assert make_world(3) == make_world(3)


def test_different_seed_different_corpus_and_world():
    assert load_corpus("town", 50, seed=0).documents != load_corpus("town", 50, seed=1).documents
    assert make_world(0).people != make_world(1).people


def test_a_bigger_corpus_starts_with_the_smaller_one():
    # Asking for more documents must not reshuffle the first ones.
    assert load_corpus("town", 80).documents[:40] == load_corpus("town", 40).documents


def test_documents_are_well_formed(corpus):
    assert len(corpus) == 600
    for doc in corpus.documents:
        assert len(doc) >= 2  # NSP needs a sentence and its successor
        for s in doc:
            assert s == s.lower() and s.endswith(".") and "  " not in s


def test_split_is_by_document_without_overlap(corpus):
    train, held = corpus.split(0.1, seed=0)
    assert (len(train), len(held)) == (540, 60)
    assert not {id(d) for d in train.documents} & {id(d) for d in held.documents}
    assert sorted(map(id, train.documents + held.documents)) == sorted(map(id, corpus.documents))
    assert corpus.split(0.1, seed=0)[1].documents == held.documents
    assert corpus.split(0.1, seed=1)[1].documents != held.documents


def test_sentences_texts_and_stats(corpus):
    sentences = corpus.sentences()
    assert list(corpus.texts()) == sentences
    stats = corpus.stats()
    assert stats["documents"] == 600 and stats["sentences"] == len(sentences)
    assert stats["words"] > stats["sentences"] * 5
    assert 200 <= stats["vocabulary"] <= 400  # a few hundred words: each a whole WordPiece token


def test_from_text():
    c = Corpus.from_text("The man went to the store. He bought milk!\n\nIt rained. Why?")
    assert c.documents == [
        ["The man went to the store.", "He bought milk!"],
        ["It rained.", "Why?"],
    ]


def test_polysemous_words_occur_in_every_sense(corpus):
    seen = defaultdict(set)
    for s in corpus.texts():
        for _, word, sense in word_senses(s):
            seen[word].add(sense)
    assert seen == {w: set(senses) for w, senses in POLYSEMOUS.items()}


def test_word_senses_labels():
    assert word_senses("anna plays the piano.") == [(1, "play", "music")]
    assert word_senses("they play chess together.") == [(1, "play", "sport")]
    assert word_senses("tom plays the king in the play.") == [
        (1, "play", "theatre"),
        (6, "play", "theatre"),
    ]
    assert word_senses("he walks along the river bank.") == [(5, "bank", "river")]
    assert word_senses("people keep their money in the bank.") == [(6, "bank", "money")]


def test_categories_are_non_empty_disjoint_and_in_the_text(corpus):
    categories = make_world(0).categories()
    assert {
        "names",
        "towns",
        "jobs",
        "animals",
        "foods",
        "instruments",
        "sports",
        "colours",
    } <= set(categories)
    owner = {}
    for name, words in categories.items():
        assert words, name
        for w in words:
            assert owner.setdefault(w, name) == name, f"{w!r} is in {owner[w]!r} and {name!r}"
    vocabulary = {w for s in corpus.texts() for w in re.findall(r"\w+", s)}
    assert set(owner) <= vocabulary


def test_world_relations_are_consistent():
    world = make_world(0)
    assert len(world.people) == 32 and len({p.name for p in world.people}) == 32
    assert {p.job for p in world.people} == {j.name for j in world.jobs}  # every job is held
    for p in world.people:
        friend, sibling = world.person(p.friend), world.person(p.sibling)
        assert friend.friend == p.name and sibling.sibling == p.name and friend is not sibling
        assert sibling.town == p.town and p.food != p.disliked_food
        assert p.pet.colour in world.animal(p.pet.animal).colours


def test_text_agrees_with_the_world(corpus):
    # Pronouns agree with the person a sentence starts with; every stated fact is the world's.
    world = make_world(0)
    people = {p.name: p for p in world.people}
    facts = [
        (
            r"(\w+) plays the (piano|violin|guitar|drums|flute|cello|trumpet|harp)",
            lambda p: p.instrument,
        ),
        (r"(\w+) plays (\w+) with", lambda p: p.sport),
        (r"(\w+) (?:is an? \w+ who lives|lives) in (\w+)", lambda p: p.town),
        (r"(\w+) has an? \w+ (\w+) called", lambda p: p.pet.animal),
        (r"(\w+) has an? (?:brother|sister) called (\w+)", lambda p: p.sibling),
        (r"(\w+) \w+ (?:his|her) friend (\w+)", lambda p: p.friend),
    ]
    checked = 0
    for s in corpus.texts():
        words = s[:-1].split()
        if words[0] in people:
            wrong = {"he", "his"} if people[words[0]].gender == "female" else {"she", "her"}
            assert not wrong & set(words), s
        for pattern, fact in facts:
            for who, value in re.findall(pattern, s):
                if who in people:
                    assert value == fact(people[who]), s
                    checked += 1
    assert checked > 1000


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown corpus 'wiki'.*town"):
        load_corpus("wiki")
    with pytest.raises(ValueError, match="empty corpus"):
        load_corpus("town", n_documents=0)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        load_corpus("town", 10).split(1.5)
    with pytest.raises(ValueError, match="empty"):
        load_corpus("town", 1).split(0.5)
    with pytest.raises(ValueError, match="even"):
        make_world(n_people=7)
    with pytest.raises(KeyError, match="zorro"):
        make_world(0).person("zorro")
    assert "town" in available_corpora()
