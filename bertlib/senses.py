"""The senses of the corpora's polysemous words ("play", "bank"), labelled in each sentence (chapter 3).

Static word vectors give each word one vector; these labels let chapter 3 measure
how well contextual vectors separate the senses instead.
"""

from __future__ import annotations

from .words import split_words
from .world import INSTRUMENTS, SPORTS

__all__ = ["POLYSEMOUS", "word_senses"]


# The polysemous words, their senses, and the words that reveal each sense.
POLYSEMOUS = {
    "play": ("music", "sport", "theatre"),
    "bank": ("money", "river"),
}


def word_senses(sentence: str) -> list[tuple[int, str, str]]:
    """Finds the polysemous words of a sentence and labels the sense of each one.

    The corpora only use "play" and "bank" in frames that fix the sense: "plays the
    piano" (music), "plays chess" (sport), "a new play" or "plays the queen"
    (theatre); "the river bank" (river) or "money in the bank" (money).

    Args:
        sentence: A sentence of a bertlib corpus, e.g. ``"anna plays the harp."``.

    Returns:
        ``(word_index, word, sense)`` for each occurrence, where ``word_index``
        counts the words and punctuation marks of the sentence from 0.
    """
    words = split_words(sentence.lower())
    found = []
    for i, w in enumerate(words):
        after = [x for x in words[i + 1 : i + 3] if x != "the"][:1]
        if w in ("play", "plays"):
            nxt = after[0] if after else ""
            sense = "music" if nxt in INSTRUMENTS else "sport" if nxt in SPORTS else "theatre"
            found.append((i, "play", sense))
        elif w == "bank":
            found.append((i, "bank", "river" if words[i - 1] == "river" else "money"))
    return found
