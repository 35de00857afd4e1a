"""WordPiece tokenization with the Hugging Face ``tokenizers`` library.

:class:`BertTokenizer` trains a WordPiece vocabulary in seconds, saves and loads
``tokenizer.json`` (ours or a real BERT's), and encodes sentences and sentence
pairs into the three tensors BERT reads: ``input_ids``, ``token_type_ids`` and
``attention_mask``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer

from .checkpoint import atomic_write
from .wordpiece import train_wordpiece

__all__ = ["BertTokenizer", "train_tokenizer", "SPECIAL_TOKENS"]

# BERT's special tokens, in the order that gives them ids 0..4 in our vocabularies.
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


class BertTokenizer:
    """A BERT WordPiece tokenizer: text -> subword tokens -> ids with [CLS]/[SEP], segments and padding.

    Build one with :meth:`train`, :meth:`from_file` or :meth:`from_pretrained`.
    """

    def __init__(self, backend: Tokenizer):
        self.backend = backend
        # Padding and truncation are done per call here, never hidden in the file's settings
        # (a real BERT tokenizer.json may pad every input to 128 by default).
        backend.no_padding()
        backend.no_truncation()
        vocab = backend.get_vocab()
        missing = [t for t in SPECIAL_TOKENS if t not in vocab]
        if missing:
            raise ValueError(
                f"This tokenizer lacks BERT's special tokens {missing}; train it with bertlib.train_tokenizer."
            )
        self.pad_token_id, self.unk_token_id, self.cls_token_id, self.sep_token_id, self.mask_token_id = (
            vocab[t] for t in SPECIAL_TOKENS
        )

    # ------------------------------------------------------------------ build
    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int = 1000,
        min_frequency: int = 1,
        lowercase: bool = True,
        extra_special_tokens: Sequence[str] = (),
    ) -> BertTokenizer:
        """Train a WordPiece vocabulary on ``texts`` (Wu et al. 2016; BERT section 3).

        Args:
            texts: the training text, one string per sentence or document.
            vocab_size: the largest vocabulary to learn, special tokens included.
            min_frequency: pieces seen fewer times are not added.
            lowercase: lowercase and strip accents first, as the uncased BERT does.
            extra_special_tokens: more tokens never split, e.g. ["[ENT]", "[/ENT]"].
        """
        if isinstance(extra_special_tokens, str):
            raise TypeError(
                f"extra_special_tokens must be a list of tokens, not one str: pass [{extra_special_tokens!r}]."
            )
        specials = SPECIAL_TOKENS + [t for t in extra_special_tokens if t not in SPECIAL_TOKENS]
        return cls(train_wordpiece(texts, specials, vocab_size, min_frequency, lowercase))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> BertTokenizer:
        """Load a ``tokenizer.json`` (written by bertlib or by Hugging Face)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No tokenizer file at {path}.")
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as e:
            if isinstance(e, ValueError) and "special tokens" in str(e):
                raise
            raise ValueError(f"{path} is not a valid tokenizer.json ({e}); save the tokenizer again.") from e

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> BertTokenizer:
        """Load the tokenizer.json stored in a checkpoint folder."""
        return cls.from_file(Path(directory) / "tokenizer.json")

    def save(self, path: str | os.PathLike) -> None:
        """Write ``tokenizer.json`` (atomically: a temporary file, then a rename)."""
        parent = Path(path).absolute().parent
        if not parent.is_dir():
            raise FileNotFoundError(
                f"Cannot save the tokenizer to {path}: the folder {parent} does not exist. "
                f"Create it first (Path(folder).mkdir(parents=True)) or save into an existing folder."
            )
        atomic_write(Path(path), lambda tmp: self.backend.save(str(tmp)))

    def add_special_tokens(self, tokens: Sequence[str]) -> list[int]:
        """Add tokens that are never split (e.g. entity markers); returns their ids.

        The model's vocabulary must grow to match (a larger word-embedding matrix).
        """
        self.backend.add_special_tokens(list(tokens))
        return [self.backend.token_to_id(t) for t in tokens]

    # ------------------------------------------------------------- vocabulary
    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def __len__(self) -> int:
        return self.vocab_size

    def get_vocab(self) -> dict[str, int]:
        return self.backend.get_vocab()

    @property
    def special_token_ids(self) -> set[int]:
        """Ids of every special token (the five BERT ones and any added)."""
        added = self.backend.get_added_tokens_decoder()
        return {i for i, t in added.items() if t.special} | {self.backend.token_to_id(t) for t in SPECIAL_TOKENS}

    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        return [
            self.backend.token_to_id(t) if self.backend.token_to_id(t) is not None else self.unk_token_id
            for t in tokens
        ]

    def convert_ids_to_tokens(self, ids: Iterable[int] | torch.Tensor) -> list[str]:
        return [self.backend.id_to_token(i) for i in self._checked_ids(ids)]

    def _checked_ids(self, ids: Iterable[int] | torch.Tensor) -> list[int]:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(
                f"Token id {bad[0]} is not in this tokenizer's vocabulary (ids 0..{self.vocab_size - 1}): "
                f"decode ids that this tokenizer produced."
            )
        return ids

    # --------------------------------------------------------------- encoding
    def tokenize(self, text: str) -> list[str]:
        """Subword tokens of one text, without [CLS]/[SEP]."""
        return self.backend.encode(text, add_special_tokens=False).tokens

    def encode(
        self, text: str, text_pair: str | None = None, max_length: int | None = None, add_special_tokens: bool = True
    ) -> dict[str, list[int]]:
        """One sentence or pair as lists: input_ids, token_type_ids, attention_mask (no padding).

        With ``max_length``, the longer sentence loses tokens from its end until
        the whole, [CLS] and [SEP]s included, fits: max_length - 2 word tokens for
        one sentence, max_length - 3 for a pair.
        """
        batch = self.__call__(
            [text],
            None if text_pair is None else [text_pair],
            max_length=max_length,
            padding=False,
            return_tensors=None,
            add_special_tokens=add_special_tokens,
        )
        return {k: v[0] for k, v in batch.items()}

    def __call__(
        self,
        texts: str | Sequence[str],
        text_pairs: str | Sequence[str] | None = None,
        max_length: int | None = None,
        padding: bool | str = "longest",
        return_tensors: str | None = "pt",
        add_special_tokens: bool = True,
        return_offsets: bool = False,
    ) -> dict:
        """Encode a batch of sentences (or sentence pairs) for BERT.

        Args:
            texts: a sentence or a list of them (sentence A).
            text_pairs: the second sentences (B), same length as ``texts``, or None.
            max_length: truncate each example to this many tokens (specials included).
            padding: "longest" pads to the longest example, "max_length" to ``max_length``,
                False not at all (then ``return_tensors`` must be None).
            return_tensors: "pt" for (B, T) LongTensors, None for lists of lists.
            return_offsets: also return ``offset_mapping`` (character spans per token)
                and ``word_ids`` (which word each token came from; None for specials).

        Returns:
            A dict with ``input_ids``, ``token_type_ids`` (0 = A, 1 = B) and
            ``attention_mask`` (1 = real token, 0 = [PAD]).
        """
        texts, text_pairs = _checked_batch(texts, text_pairs, max_length, padding, return_tensors, add_special_tokens)
        if max_length is not None:
            self.backend.enable_truncation(max_length, strategy="longest_first")
        try:
            inputs = list(texts) if text_pairs is None else list(zip(texts, text_pairs, strict=False))
            encodings = self.backend.encode_batch(inputs, add_special_tokens=add_special_tokens)
        finally:
            self.backend.no_truncation()
        length = max_length if padding == "max_length" else max((len(e.ids) for e in encodings), default=0)
        out = {"input_ids": [], "token_type_ids": [], "attention_mask": []}
        if return_offsets:
            out.update(offset_mapping=[], word_ids=[])
        for e in encodings:
            pad = length - len(e.ids) if padding else 0
            out["input_ids"].append(e.ids + [self.pad_token_id] * pad)
            out["token_type_ids"].append(e.type_ids + [0] * pad)
            out["attention_mask"].append(e.attention_mask + [0] * pad)
            if return_offsets:
                out["offset_mapping"].append(list(e.offsets) + [(0, 0)] * pad)
                # word_ids restart per sequence in a pair; None marks [CLS]/[SEP]/[PAD]
                out["word_ids"].append(list(e.word_ids) + [None] * pad)
        if return_tensors == "pt":
            for k in ("input_ids", "token_type_ids", "attention_mask"):
                out[k] = torch.tensor(out[k], dtype=torch.long)
        return out

    def decode(self, ids: Iterable[int] | torch.Tensor, skip_special_tokens: bool = True) -> str:
        """Ids back to text (subword pieces joined)."""
        return self.backend.decode(self._checked_ids(ids), skip_special_tokens=skip_special_tokens)

    def __repr__(self) -> str:
        return f"BertTokenizer(vocab_size={self.vocab_size})"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1000, **kwargs) -> BertTokenizer:
    """Shorthand for :meth:`BertTokenizer.train`."""
    return BertTokenizer.train(texts, vocab_size=vocab_size, **kwargs)


def _checked_batch(
    texts: str | Sequence[str],
    text_pairs: str | Sequence[str] | None,
    max_length: int | None,
    padding: bool | str,
    return_tensors: str | None,
    add_special_tokens: bool,
) -> tuple[Sequence[str], Sequence[str] | None]:
    """``BertTokenizer.__call__``'s texts as lists, after checking that its arguments fit together."""
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(text_pairs, str):
        text_pairs = [text_pairs]
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"Got {len(texts)} first sentences but {len(text_pairs)} second sentences.")
    if padding not in (False, "longest", "max_length", True):
        raise ValueError(f"padding must be 'longest', 'max_length' or False, got {padding!r}.")
    if padding == "max_length" and max_length is None:
        raise ValueError("padding='max_length' needs max_length.")
    if return_tensors not in ("pt", None):
        raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}.")
    if return_tensors == "pt" and padding is False and len(texts) > 1:
        raise ValueError("A batch tensor needs equal lengths: use padding='longest' or return_tensors=None.")
    if max_length is not None:
        min_len = (3 if text_pairs is not None else 2) if add_special_tokens else 1
        if max_length < min_len + 1:
            raise ValueError(f"max_length={max_length} leaves no room for words next to [CLS]/[SEP].")
    return texts, text_pairs
