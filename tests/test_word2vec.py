"""Skip-gram with negative sampling: the loss, the pairs, determinism, and vectors that learn something."""

import pytest
import torch
import torch.nn.functional as F

from bertlib.word2vec import (
    SkipGram,
    Word2Vec,
    sgns_loss,
    skipgram_pairs,
    tokenize_words,
    train_skipgram,
)

# A tiny corpus with two clear groups: instruments follow "plays the", foods follow "eats".
_CORPUS = [
    f"{name} plays the {inst} and eats {food} ."
    for name in ("anna", "ben", "carla", "dan", "eva", "finn")
    for inst, food in (("piano", "soup"), ("violin", "rice"), ("cello", "pasta"), ("harp", "bread"))
]


def test_tokenize_words_drops_punctuation_and_lowercases():
    assert tokenize_words("Anna plays the Piano, then eats.") == [
        "anna",
        "plays",
        "the",
        "piano",
        "then",
        "eats",
    ]


def test_sgns_loss_matches_the_formula():
    g = torch.Generator().manual_seed(0)
    c, p, n = (
        torch.randn(3, 4, generator=g),
        torch.randn(3, 4, generator=g),
        torch.randn(3, 2, 4, generator=g),
    )
    by_hand = (
        sum(
            -torch.log(torch.sigmoid(p[b] @ c[b])) - sum(torch.log(torch.sigmoid(-n[b, k] @ c[b])) for k in range(2))
            for b in range(3)
        )
        / 3
    )
    torch.testing.assert_close(sgns_loss(c, p, n), by_hand)


def test_sgns_loss_is_low_for_aligned_pairs_and_opposed_noise():
    v = torch.tensor([[3.0, 0.0]])
    good = sgns_loss(v, v, -v[:, None])
    bad = sgns_loss(v, -v, v[:, None])
    assert good < 0.01 < 5 < bad


def test_skipgram_pairs_stay_inside_sentences():
    centres, contexts = skipgram_pairs([[1, 2, 3], [4, 5]], window=1)
    pairs = sorted(zip(centres.tolist(), contexts.tolist(), strict=True))
    assert pairs == [
        (1, 2),
        (2, 1),
        (2, 3),
        (3, 2),
        (4, 5),
        (5, 4),
    ]  # no (3, 4): different sentences
    c2, _ = skipgram_pairs([[1, 2, 3]], window=5)
    assert len(c2) == 6


def test_skipgram_module_starts_with_zero_context_vectors():
    model = SkipGram(10, 4, seed=1)
    assert model.context.weight.abs().max() == 0 and model.centre.weight.abs().max() <= 0.5 / 4
    loss = model(torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor([[5, 6], [7, 8]]))
    torch.testing.assert_close(loss, torch.tensor(3 * 0.6931), atol=1e-3, rtol=0)  # σ(0) = 1/2 everywhere


def test_training_is_deterministic_and_learns_groups():
    kwargs = dict(dim=8, window=1, epochs=40, batch_size=1024, lr=0.1, min_count=1, subsample=0, seed=3)
    a, b = train_skipgram(_CORPUS, **kwargs), train_skipgram(_CORPUS, **kwargs)
    torch.testing.assert_close(a.vectors, b.vectors, atol=0, rtol=0)
    assert a.losses[-1] < a.losses[0] / 2
    # Words that share contexts end up close, words that never do stay apart.
    assert a.similarity("piano", "violin") > 0.9 and a.similarity("soup", "rice") > 0.9
    assert a.similarity("piano", "soup") < 0.6
    assert {w for w, _ in a.most_similar("piano", k=3)} == {"cello", "harp", "violin"}


def test_word2vec_lookup_and_neighbours():
    w = Word2Vec(["a", "b", "c"], torch.tensor([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0]]), [3, 2, 1])
    assert "a" in w and "z" not in w and len(w) == 3
    assert [x for x, _ in w.most_similar("a", k=2)] == ["b", "c"]
    assert w.most_similar(torch.tensor([0.0, 1.0]), k=1)[0][0] == "b"
    assert w.similarity("a", "c") == pytest.approx(-1.0)
    torch.testing.assert_close(w.vector("b"), torch.tensor([0.9, 0.1]))
    with pytest.raises(KeyError, match="not in the vocabulary"):
        w.vector("z")


def test_min_count_and_errors():
    w = train_skipgram(["a b a b c"], dim=2, epochs=1, min_count=2, subsample=0)
    assert w.words == ["a", "b"]
    with pytest.raises(ValueError, match="min_count"):
        train_skipgram(["a b"], min_count=2)


def test_subsampling_thins_frequent_words_deterministically():
    text = ["the " * 50 + "piano violin"] * 4
    a = train_skipgram(text, dim=4, epochs=1, min_count=1, subsample=1e-2, seed=0)
    b = train_skipgram(text, dim=4, epochs=1, min_count=1, subsample=1e-2, seed=0)
    torch.testing.assert_close(a.vectors, b.vectors, atol=0, rtol=0)
    assert F.cosine_similarity(a.vectors, b.vectors).min() > 0.999
