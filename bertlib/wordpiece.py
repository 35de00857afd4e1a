"""Training a WordPiece tokenizer (Wu et al. 2016; BERT section 3): the vocabulary and the pipeline.

:func:`learn_wordpiece_vocab` is the merge loop chapter 2 writes by hand, made
deterministic; :func:`train_wordpiece` wraps its pieces in a ``tokenizers``
pipeline (BERT's normalizer, pre-tokenizer, decoder and [CLS]/[SEP] template),
which :meth:`bertlib.tokenization.BertTokenizer.train` returns as a tokenizer.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable, Sequence

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

__all__ = ["learn_wordpiece_vocab", "train_wordpiece"]


def train_wordpiece(
    texts: Iterable[str], specials: Sequence[str], vocab_size: int, min_frequency: int = 1, lowercase: bool = True
) -> Tokenizer:
    """A WordPiece ``tokenizers`` pipeline trained on ``texts``; ``specials`` take the first ids, in order."""
    if isinstance(texts, str):
        raise TypeError(
            "texts must be an iterable of strings, not one str (it would train on its characters): pass [text]."
        )
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise ValueError("Cannot train a tokenizer on an empty corpus: pass at least one non-empty text.")
    specials = list(specials)
    if vocab_size <= len(specials):
        raise ValueError(
            f"vocab_size={vocab_size} leaves no room for words next to the {len(specials)} special tokens."
        )
    normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()  # split on spaces and punctuation
    words: Counter[str] = Counter()
    for text in texts:
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    vocab_size = _grown_for_alphabet(words, vocab_size, len(specials))
    pieces = learn_wordpiece_vocab(words, vocab_size - len(specials), min_frequency)
    backend = Tokenizer(
        models.WordPiece(
            {t: i for i, t in enumerate(specials + pieces)}, unk_token="[UNK]", max_input_chars_per_word=100
        )
    )
    backend.normalizer = normalizer
    backend.pre_tokenizer = pre_tokenizer
    backend.decoder = decoders.WordPiece()  # "play ##ing" -> "playing"
    backend.add_special_tokens(specials)  # never split, never lowercased
    vocab = backend.get_vocab()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",  # ":1" puts sentence B and its [SEP] in segment 1
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return backend


def learn_wordpiece_vocab(words: Counter[str], size: int, min_frequency: int = 1) -> list[str]:
    """Learn WordPiece pieces from word counts, deterministically.

    Start from single characters (``##`` marks a piece that continues a word),
    then repeatedly merge the adjacent pair with the highest score
    count(ab) / (count(a) * count(b)): pairs whose parts rarely occur apart
    merge first. Ties go to the pair whose joined text (``##`` markers included)
    comes first in code-point order, a longer text before its own prefix
    ("a" + "##bc" before "a" + "##b"), so the same text always gives the same vocabulary (the ``tokenizers`` trainer breaks ties by
    hash order and is not reproducible).

    Args:
        words: how often each pre-tokenized word occurs.
        size: how many pieces to return at most (special tokens not included).
        min_frequency: pairs seen fewer times are never merged.

    Returns:
        The pieces: the alphabet first, then the merges in the order learned.
    """
    splits = {w: [w[0]] + ["##" + c for c in w[1:]] for w in words}
    vocab = sorted({p for pieces in splits.values() for p in pieces})
    seen = set(vocab)
    while len(vocab) < size:
        single: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for w, pieces in splits.items():
            n = words[w]
            for i, p in enumerate(pieces):
                single[p] += n
                if i + 1 < len(pieces):
                    pairs[p, pieces[i + 1]] += n
        best = max(
            (pair for pair, n in pairs.items() if n >= min_frequency),
            key=lambda pr: (pairs[pr] / (single[pr[0]] * single[pr[1]]), [-ord(c) for c in pr[0] + pr[1]]),
            default=None,
        )
        if best is None:  # every word is a single piece, or no pair is frequent enough
            break
        merged = best[0] + best[1].removeprefix("##")
        for w, pieces in splits.items():
            if len(pieces) > 1:
                splits[w] = _merge(pieces, best, merged)
        if merged not in seen:
            vocab.append(merged)
            seen.add(merged)
    return vocab[:size]


def _grown_for_alphabet(words: Counter[str], vocab_size: int, n_specials: int) -> int:
    """``vocab_size``, grown (with a warning) to hold every character of the corpus."""
    # WordPiece keeps every character (word-initial and "##" forms), or words of the corpus become [UNK].
    alphabet = len({w[0] for w in words} | {"##" + c for w in words for c in w[1:]})
    if alphabet > vocab_size - n_specials:
        warnings.warn(
            f"vocab_size={vocab_size} is too small for the corpus's {alphabet} characters (word-initial and "
            f"'##' forms) and {n_specials} special tokens: the vocabulary grows to "
            f"{alphabet + n_specials}. Pass a larger vocab_size to silence this.",
            stacklevel=4,  # the caller of BertTokenizer.train
        )
        return alphabet + n_specials
    return vocab_size


def _merge(pieces: list[str], pair: tuple[str, str], merged: str) -> list[str]:
    out, i = [], 0
    while i < len(pieces):
        if i + 1 < len(pieces) and pieces[i] == pair[0] and pieces[i + 1] == pair[1]:
            out.append(merged)
            i += 2
        else:
            out.append(pieces[i])
            i += 1
    return out
