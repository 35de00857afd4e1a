"""The words of the generated texts (bertlib.words)."""

from bertlib.words import split_words, with_article


def test_split_words_separates_punctuation_like_berts_pre_tokenizer():
    assert split_words("anna's cat, pepper, sleeps.") == ["anna", "'", "s", "cat", ",", "pepper", ",", "sleeps", "."]
    assert split_words("") == []


def test_with_article_picks_a_or_an():
    assert [with_article(w) for w in ("actor", "baker", "owl")] == ["an actor", "a baker", "an owl"]
