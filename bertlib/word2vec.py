"""Skip-gram with negative sampling (SGNS), the static word vectors BERT improves on.

Mikolov et al. (2013) learn one vector per word by asking a small model to tell
the words that really appear near a centre word (positives) from words drawn at
random from the corpus (negatives). The labels come from the text itself, which
makes SGNS an early instance of self-supervised, contrastive learning. The
embeddings chapter trains it in seconds on a bertlib corpus and then shows its
limit: a word with several senses ("play", "bank") still gets a single vector.

Example:
    >>> from bertlib.data import load_corpus
    >>> w2v = train_skipgram(load_corpus("town", 200).sentences(), dim=16, epochs=1)
    >>> w2v.most_similar("piano", k=3)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .utils import seeded_generator

__all__ = [
    "SkipGram",
    "Word2Vec",
    "sgns_loss",
    "skipgram_pairs",
    "tokenize_words",
    "train_skipgram",
]

_LETTER_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")  # letters only: punctuation and digits are dropped


def tokenize_words(text: str) -> list[str]:
    """Lowercased words of ``text``, punctuation dropped: ``"Anna plays." -> ["anna", "plays"]``."""
    return _LETTER_WORD.findall(text.lower())


def sgns_loss(centre: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """The negative-sampling loss, averaged over the batch (Mikolov et al. 2013, eq. 4).

    For centre vector v, true context vector u_o and K negative context vectors u_k:
    ``-log σ(u_o · v) - Σ_k log σ(-u_k · v)``.

    Args:
        centre: (B, D) vectors of the centre words (the input embedding).
        positive: (B, D) context vectors of words really seen in the window.
        negatives: (B, K, D) context vectors of words drawn at random.

    Returns:
        A scalar: the mean loss over the B pairs.
    """
    pos_score = (centre * positive).sum(-1)  # (B,): high when the pair is real
    neg_score = torch.bmm(negatives, centre.unsqueeze(-1)).squeeze(-1)  # (B, K): low for noise
    # logsigmoid is the numerically safe log σ(x); σ(-x) = 1 - σ(x) scores "not a real pair".
    return -(F.logsigmoid(pos_score) + F.logsigmoid(-neg_score).sum(-1)).mean()


class SkipGram(nn.Module):
    """Two embedding tables: one for a word as the centre, one for a word as context.

    Keeping the two roles apart lets a word be unlike itself (a word rarely sits
    next to itself); the centre table is the one kept as "the word vectors".

    Args:
        vocab_size: number of words V.
        dim: vector size D.
        seed: seed of the initialisation.
    """

    def __init__(self, vocab_size: int, dim: int, seed: int = 0):
        super().__init__()
        self.centre = nn.Embedding(vocab_size, dim)
        self.context = nn.Embedding(vocab_size, dim)
        # word2vec's own init: small random centre vectors, zero context vectors.
        with torch.no_grad():
            self.centre.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=seeded_generator(seed))
            self.context.weight.zero_()

    def forward(self, centre: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """(B,) centre ids, (B,) context ids, (B, K) negative ids -> scalar SGNS loss."""
        return sgns_loss(self.centre(centre), self.context(context), self.context(negatives))


def skipgram_pairs(sentences: Sequence[Sequence[int]], window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (centre, context) pair with the context at most ``window`` words away, in the same sentence.

    Args:
        sentences: each a list of word ids.
        window: how many words on each side count as context.

    Returns:
        (centres (N,), contexts (N,)) LongTensors, grouped by distance (1, then 2, ...).
    """
    flat = torch.tensor([i for s in sentences for i in s], dtype=torch.long)  # (W,) all words in a row
    sentence_of = torch.repeat_interleave(torch.arange(len(sentences)), torch.tensor([len(s) for s in sentences]))
    return _pairs(flat, sentence_of, window)


def _pairs(flat: torch.Tensor, sentence_of: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs from (W,) word ids and (W,) sentence numbers, without a Python loop over sentences."""
    centres, contexts = [flat[:0]], [flat[:0]]
    for d in range(1, window + 1):
        same = sentence_of[:-d] == sentence_of[d:]  # (W - d,): both words in one sentence
        left, right = flat[:-d][same], flat[d:][same]
        centres += [left, right]  # each pair counts in both directions
        contexts += [right, left]
    return torch.cat(centres), torch.cat(contexts)


@dataclass
class Word2Vec:
    """Trained static word vectors: one row of ``vectors`` per word of ``words``.

    Attributes:
        words: the vocabulary, most frequent first.
        vectors: (V, D) the centre embeddings, one per word.
        counts: how often each word occurs in the training text.
        losses: the training loss, one value per logged step.
    """

    words: list[str]
    vectors: torch.Tensor
    counts: list[int]
    losses: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._index

    def index(self, word: str) -> int:
        """Row of ``word`` in ``vectors``; a clear KeyError for a word never seen."""
        if word not in self._index:
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self)} words seen at least min_count times).")
        return self._index[word]

    def vector(self, word: str) -> torch.Tensor:
        """(D,) the static vector of ``word``: the same whatever the sentence."""
        return self.vectors[self.index(word)]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words' vectors, in [-1, 1]."""
        return float(F.cosine_similarity(self.vector(a), self.vector(b), dim=0))

    def most_similar(self, word: str | torch.Tensor, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` words whose vectors have the highest cosine with ``word`` (a word or a (D,) vector).

        The query word itself is left out.
        """
        query = self.vector(word) if isinstance(word, str) else word
        sims = F.cosine_similarity(self.vectors, query[None], dim=-1)  # (V,)
        if isinstance(word, str):
            sims[self.index(word)] = -2.0  # below any cosine, so never returned
        top = sims.topk(min(k, len(self) - isinstance(word, str)))
        return [(self.words[i], float(s)) for s, i in zip(top.values, top.indices, strict=True)]


def train_skipgram(
    sentences: Iterable[str | Sequence[str]],
    dim: int = 32,
    window: int = 2,
    negatives: int = 5,
    epochs: int = 3,
    batch_size: int = 4096,
    lr: float = 0.02,
    min_count: int = 2,
    subsample: float = 1e-3,
    seed: int = 0,
) -> Word2Vec:
    """Train skip-gram with negative sampling; the same seed gives the same vectors.

    Args:
        sentences: strings (split with :func:`tokenize_words`) or lists of words.
        dim: vector size D.
        window: context words on each side of the centre word.
        negatives: random "noise" words per real pair (K).
        epochs: passes over all (centre, context) pairs.
        batch_size: pairs per optimisation step.
        lr: Adam's learning rate.
        min_count: words seen fewer times are dropped.
        subsample: frequent words are kept with probability sqrt(t / f) + t / f,
            t = ``subsample``, f = the word's share of the text (0 turns it off).
        seed: seed of the init, the subsampling, the shuffles and the negatives.

    Returns:
        A :class:`Word2Vec` with the centre vectors.
    """
    texts = [tokenize_words(s) if isinstance(s, str) else list(s) for s in sentences]
    words, counts, flat, sentence_of, noise, keep = _corpus_statistics(texts, min_count, subsample)

    g = seeded_generator(seed)
    model = SkipGram(len(words), dim, seed=seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    # Every tensor here is small, so several threads spend more time synchronising than
    # computing (many times more on a busy machine); one thread gives the same numbers.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(epochs):
            # A fresh subsample each epoch: frequent words ("the", "in") are thinned out.
            draw = torch.rand(len(flat), generator=g) < keep[flat]  # (W,) True = keep this occurrence
            centres, contexts = _pairs(flat[draw], sentence_of[draw], window)
            order = torch.randperm(len(centres), generator=g)
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                noise_ids = torch.multinomial(noise, len(batch) * negatives, replacement=True, generator=g)
                loss = model(centres[batch], contexts[batch], noise_ids.view(len(batch), negatives))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    return Word2Vec(words, model.centre.weight.detach().clone(), [counts[w] for w in words], losses)


def _corpus_statistics(texts: list[list[str]], min_count: int, subsample: float):
    """What skip-gram samples from: the vocabulary and the text as ids, with noise and keep probabilities.

    Returns:
        (words, counts, flat (W,) ids of the whole text, sentence_of (W,) each id's sentence,
        noise (V,) the negatives' distribution, keep (V,) each word's chance to survive subsampling).
    """
    counts = Counter(w for t in texts for w in t)
    # Most frequent first, ties alphabetical: a deterministic vocabulary.
    words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    if len(words) < 2:
        raise ValueError(f"Only {len(words)} word(s) occur at least min_count={min_count} times: give more text.")
    index = {w: i for i, w in enumerate(words)}
    ids = [[index[w] for w in t if w in index] for t in texts]
    flat = torch.tensor([i for s in ids for i in s], dtype=torch.long)  # (W,) the whole text as ids
    sentence_of = torch.repeat_interleave(torch.arange(len(ids)), torch.tensor([len(s) for s in ids]))
    freq = torch.tensor([counts[w] for w in words], dtype=torch.float)
    # Negatives come from the unigram distribution raised to 3/4 (rare words drawn more often).
    noise = freq.pow(0.75) / freq.pow(0.75).sum()
    share = freq / freq.sum()
    keep = ((subsample / share).sqrt() + subsample / share).clamp(max=1.0)
    if subsample <= 0:
        keep = torch.ones_like(share)
    return words, counts, flat, sentence_of, noise, keep
