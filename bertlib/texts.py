"""Small hand-written texts shipped with bertlib, and entity markers.

The generated corpora of :mod:`bertlib.data` are large but repetitive. The texts
here are short and written by hand for the tokenization chapter: a story of about
sixty sentences about a riverside village, in Korean (``korean.txt``) and in a
loose English version (``english.txt``), line by line parallel. In the Korean text
the same stems come back with different particles and endings ("지수는", "지수가",
"지수의", "지수에게"), which is what makes an agglutinative language hard to
tokenize.

Example:
    >>> ko, en = korean_sentences(), english_sentences()
    >>> len(ko) == len(en)
    True
    >>> mark_entities("지수는 빵을 굽는다.", KOREAN_ENTITIES)
    '[ENT] 지수 [/ENT]는 빵을 굽는다.'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources

__all__ = [
    "ENGLISH_ENTITIES",
    "ENTITY_MARKERS",
    "KOREAN_ENTITIES",
    "english_sentences",
    "korean_sentences",
    "mark_entities",
    "read_resource",
]

# The named entities of the story: the village, four people and a cat, in the same order.
KOREAN_ENTITIES = ("강변마을", "지수", "민호", "도윤", "서연", "나비")
ENGLISH_ENTITIES = ("Riverside", "Jisu", "Minho", "Doyun", "Seoyeon", "Nabi")
# The markers a Korean BERT variant put around entities (added as special tokens).
ENTITY_MARKERS = ("[ENT]", "[/ENT]")


@cache
def read_resource(name: str) -> str:
    """The text of ``bertlib/resources/<name>`` (UTF-8), from the installed package.

    Raises:
        FileNotFoundError: if there is no such resource; the message lists those there are.
    """
    folder = resources.files("bertlib") / "resources"
    path = folder / name
    if not path.is_file():
        known = sorted(p.name for p in folder.iterdir() if p.is_file())
        raise FileNotFoundError(f"bertlib has no resource {name!r}; it has {known}.")
    return path.read_text(encoding="utf-8")


def _lines(name: str) -> list[str]:
    # One sentence a line; blank lines and lines starting with "#" are skipped.
    return [ln.strip() for ln in read_resource(name).splitlines() if ln.strip() and not ln.startswith("#")]


def korean_sentences() -> list[str]:
    """The Korean story, one sentence per item (written for the book)."""
    return _lines("korean.txt")


def english_sentences() -> list[str]:
    """The English version of the story; item i tells what Korean sentence i tells."""
    return _lines("english.txt")


def mark_entities(sentence: str, entities: Sequence[str], markers: Sequence[str] = ENTITY_MARKERS) -> str:
    """Wrap every entity that starts a word in entity markers.

    A Korean particle glued to the name stays outside: ``"지수는"`` becomes
    ``"[ENT] 지수 [/ENT]는"``, so the tokenizer sees the name, the markers and
    the particle as separate pieces.

    Args:
        sentence: the text to mark.
        entities: the names to find; longer names win where two overlap.
        markers: the opening and closing marker.

    Returns:
        The sentence with ``"<open> name <close>"`` around each entity.
    """
    if not entities:
        return sentence
    start, end = markers
    # Longest first, so "강변마을" is not cut short by a shorter name that starts it.
    names = "|".join(re.escape(e) for e in sorted(entities, key=len, reverse=True))
    # (?<!\w): the entity must begin a word (not sit inside another word).
    return re.sub(rf"(?<!\w)({names})", rf"{start} \1 {end}", sentence)
