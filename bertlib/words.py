"""Words of the generated corpora and tasks: the split into words, and the indefinite article."""

from __future__ import annotations

import re

__all__ = ["split_words", "with_article"]

_WORD = re.compile(r"\w+|[^\w\s]")  # the same split as BERT's pre-tokenizer: words and punctuation marks


def split_words(text: str) -> list[str]:
    """Words and punctuation marks of ``text``, split the way BERT's pre-tokenizer splits them."""
    return _WORD.findall(text)


def with_article(word: str) -> str:
    """``word`` after its indefinite article: "an actor", "a baker"."""
    return ("an " if word[0] in "aeiou" else "a ") + word
