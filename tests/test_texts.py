"""The hand-written texts shipped with bertlib, and entity markers."""

import re

import pytest

from bertlib import texts
from bertlib.texts import (
    ENGLISH_ENTITIES,
    ENTITY_MARKERS,
    KOREAN_ENTITIES,
    english_sentences,
    korean_sentences,
    mark_entities,
    read_resource,
)


def test_korean_and_english_stories_are_parallel_and_sized_for_a_lesson():
    ko, en = korean_sentences(), english_sentences()
    assert 40 <= len(ko) <= 80 and len(ko) == len(en)
    assert all(re.search("[가-힣]", s) for s in ko)  # every Korean line is written in Hangul
    assert not any(re.search("[가-힣]", s) for s in en)


def test_every_entity_occurs_in_both_languages():
    ko, en = " ".join(korean_sentences()), " ".join(english_sentences())
    assert len(KOREAN_ENTITIES) == len(ENGLISH_ENTITIES)
    assert all(e in ko for e in KOREAN_ENTITIES) and all(e in en for e in ENGLISH_ENTITIES)


def test_korean_stems_take_many_particles():
    # The point of the text: one name appears in several glued-on forms.
    words = {w for s in korean_sentences() for w in s.replace(".", " ").split()}
    for name in KOREAN_ENTITIES[1:]:
        assert len({w for w in words if w.startswith(name)}) >= 3, name


def test_mark_entities_keeps_particles_outside():
    assert mark_entities("지수는 빵을 굽는다.", KOREAN_ENTITIES) == "[ENT] 지수 [/ENT]는 빵을 굽는다."
    assert mark_entities("강변마을의 빵집", KOREAN_ENTITIES) == "[ENT] 강변마을 [/ENT]의 빵집"
    assert mark_entities("Jisu met Minho.", ENGLISH_ENTITIES, ("<e>", "</e>")) == "<e> Jisu </e> met <e> Minho </e>."
    assert mark_entities("unchanged", []) == "unchanged"
    assert ENTITY_MARKERS == ("[ENT]", "[/ENT]")


def test_mark_entities_only_at_word_starts():
    assert mark_entities("NotJisu here", ["Jisu"]) == "NotJisu here"


def test_read_resource_reports_what_exists():
    assert read_resource("korean.txt").startswith("강변마을")
    with pytest.raises(FileNotFoundError, match="korean.txt"):
        texts.read_resource("missing.txt")
