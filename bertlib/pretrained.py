"""The small BERT of chapter 8, pretrained once and cached, with no download at run time.

(The real pretrained encoder, all-MiniLM-L6-v2, is :mod:`bertlib.minilm`.)
:func:`load_small_bert` returns the small BERT that chapter 8 pretrains on the
town corpus (MLM + NSP). It is trained once, by :func:`pretrain_small_bert`
following :data:`SMALL_BERT_RECIPE`, and cached in ``~/.cache/bertlib``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError, atomic_folder
from .code_fingerprint import code_fingerprint
from .config import BertConfig
from .data import Corpus, load_corpus
from .heads import BertForPreTraining
from .history import History
from .precision import check_precision, resolve_precision
from .pretraining import PretrainingDataset, SentencePair, make_nsp_pairs
from .tokenization import BertTokenizer, train_tokenizer
from .training import Trainer
from .training_config import TrainingConfig
from .utils import get_device

__all__ = [
    "SmallBertRecipe",
    "SMALL_BERT_RECIPE",
    "SmallBertData",
    "small_bert_data",
    "pretrain_small_bert",
    "load_small_bert",
    "load_small_bert_history",
    "small_bert_path",
    "cache_root",
]

RECIPE_NAME = "recipe.json"
HISTORY_NAME = "history.json"


@dataclass(frozen=True)
class SmallBertRecipe:
    """Everything that decides the small pretrained BERT's weights (chapter 8).

    Change a field with ``dataclasses.replace(SMALL_BERT_RECIPE, steps=1000)``;
    a different recipe is cached in a different folder.
    """

    corpus: str = "town"  # a bertlib.data corpus
    n_documents: int = 2000  # documents generated from the seed
    held_out_fraction: float = 0.1  # documents kept aside for held-out accuracy
    seed: int = 0  # corpus, split, NSP pairs, initial weights, batches, masks
    vocab_size: int = 1000  # WordPiece vocabulary, special tokens included
    preset: str = "mini"  # BertConfig preset (L2/H128 on a CPU)
    dropout: float = 0.0  # hidden_dropout_prob; 0 learns faster in a short run (attention dropout is 0 too)
    max_length: int = 64  # tokens per sentence pair, [CLS] and [SEP]s included
    steps: int = 1000  # optimizer updates; NSP needs several hundred before it leaves chance
    batch_size: int = 32  # sentence pairs per update
    lr: float = 2e-3  # peak learning rate
    warmup_steps: int = 60  # linear warmup, then linear decay to 0
    precision: str = "fp32"  # TrainingConfig.precision: bf16 weights differ; "auto" is cached as what it resolves to

    def __post_init__(self):
        check_precision(self.precision)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def short_hash(self, fingerprint: str = "") -> str:
        """Ten hex digits naming this recipe (plus a corpus fingerprint) in the cache.

        The code that turns a recipe into weights is part of the name too
        (:func:`code_fingerprint`), so a checkout with other training code never
        loads a model that another checkout trained.
        """
        text = json.dumps(self.to_dict(), sort_keys=True) + fingerprint + _FORMAT + code_fingerprint()
        return hashlib.sha256(text.encode()).hexdigest()[:10]


SMALL_BERT_RECIPE = SmallBertRecipe()
_FORMAT = "small-bert-v1"  # the cache folder's layout; bump it when that changes


@dataclass
class SmallBertData:
    """The tokenizer and the datasets a recipe trains and evaluates on."""

    tokenizer: BertTokenizer
    train: PretrainingDataset
    held_out: PretrainingDataset
    train_pairs: list[SentencePair]  # the text behind ``train``: (sentence A, sentence B, IsNext/NotNext)
    held_out_pairs: list[SentencePair]
    corpus: Corpus  # the whole corpus, before the split


def small_bert_data(recipe: SmallBertRecipe = SMALL_BERT_RECIPE) -> SmallBertData:
    """Corpus -> document split -> WordPiece -> NSP pairs -> datasets, all from ``recipe.seed``."""
    corpus = load_corpus(recipe.corpus, n_documents=recipe.n_documents, seed=recipe.seed)
    train, held_out = corpus.split(recipe.held_out_fraction, seed=recipe.seed)
    tokenizer = train_tokenizer(train.texts(), vocab_size=recipe.vocab_size)  # never sees held-out text
    train_pairs = make_nsp_pairs(train.documents, seed=recipe.seed)
    held_pairs = make_nsp_pairs(held_out.documents, seed=recipe.seed + 1)
    return SmallBertData(
        tokenizer,
        PretrainingDataset(train_pairs, tokenizer, max_length=recipe.max_length),
        PretrainingDataset(held_pairs, tokenizer, max_length=recipe.max_length),
        train_pairs,
        held_pairs,
        corpus,
    )


def _fingerprint(corpus: Corpus) -> str:
    """sha256 of a corpus's text: a changed corpus generator gets a new cache folder."""
    return hashlib.sha256("\n\n".join("\n".join(d) for d in corpus.documents).encode()).hexdigest()


def pretrain_small_bert(
    recipe: SmallBertRecipe = SMALL_BERT_RECIPE,
    data: SmallBertData | None = None,
    device: str | None = None,
    progress: bool = True,
    eval_every: int | None = 100,
    checkpoint_dir: str | os.PathLike | None = None,
    live_plot: bool = False,
    **config_overrides: Any,
) -> tuple[BertForPreTraining, BertTokenizer, History]:
    """Pretrain a small BERT with MLM + NSP on a bertlib corpus (Devlin et al. 2019, section 3.1).

    The same call trains the cached model of :func:`load_small_bert` and the one
    chapter 8 trains in front of the reader. On a CPU it is deterministic: the
    same recipe gives the same weights.

    Args:
        recipe: corpus, sizes and optimisation settings.
        data: reuse the output of :func:`small_bert_data` (built from ``recipe`` if None).
        device: "cpu", "cuda", ... (None picks the best available).
        progress: show the progress bar.
        eval_every: steps between held-out evaluations (None: only at the end).
        checkpoint_dir: save training checkpoints here (resumes from the latest).
        live_plot: redraw the loss curves while training (in Jupyter).
        **config_overrides: BertConfig fields, e.g. ``hidden_dropout_prob=0.0``.

    Returns:
        (model in eval mode, its tokenizer, the training History).
    """
    data = data or small_bert_data(recipe)
    config = BertConfig.preset(
        recipe.preset,
        **{"vocab_size": data.tokenizer.vocab_size, "hidden_dropout_prob": recipe.dropout, **config_overrides},
    )
    with torch.random.fork_rng(devices=[]):  # seed the initial weights without touching global state
        torch.manual_seed(recipe.seed)
        model = BertForPreTraining(config)
    train_config = TrainingConfig(
        steps=recipe.steps,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        warmup_steps=recipe.warmup_steps,
        seed=recipe.seed,
        precision=recipe.precision,
        eval_every=eval_every,
        device=device,
        progress=progress,
        live_plot=live_plot,
        checkpoint_dir=None if checkpoint_dir is None else str(checkpoint_dir),
    )
    trainer = Trainer(model, data.train, train_config, eval_data=data.held_out, tokenizer=data.tokenizer)
    history = trainer.train()
    return trainer.model.eval(), data.tokenizer, history


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where cached models live: ``cache_dir``, else ``$BERTLIB_CACHE``, else ``~/.cache/bertlib``."""
    return Path(cache_dir or os.environ.get("BERTLIB_CACHE") or Path.home() / ".cache" / "bertlib").expanduser()


def small_bert_path(recipe: SmallBertRecipe = SMALL_BERT_RECIPE, cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder of a recipe's model: ``<root>/small-bert-<hash of recipe and corpus text>``."""
    fingerprint = _fingerprint(load_corpus(recipe.corpus, n_documents=recipe.n_documents, seed=recipe.seed))
    return cache_root(cache_dir) / f"small-bert-{recipe.short_hash(fingerprint)}"


def load_small_bert(
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    recipe: SmallBertRecipe = SMALL_BERT_RECIPE,
    device: str | None = None,
) -> tuple[BertForPreTraining, BertTokenizer]:
    """The small BERT pretrained in chapter 8, from the cache, trained (once) if it is not there.

    The first call trains it with :func:`pretrain_small_bert` (about a minute on
    two CPU cores) and saves model, tokenizer, recipe and history atomically:
    into a temporary folder, then one rename. Processes that ask at the same time
    wait for the one that trains. A damaged cache folder is trained again.

    Args:
        cache_dir: the cache root (default ``$BERTLIB_CACHE`` or ``~/.cache/bertlib``).
        progress: show the progress bar if it has to train.
        recipe: what to train; each recipe has its own folder.
        device: where to train if it has to (the returned model is on the CPU).

    Returns:
        (BertForPreTraining in eval mode on the CPU, its tokenizer).
    """
    recipe = _resolved(recipe, device)
    folder = small_bert_path(recipe, cache_dir)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _lock(folder.with_name(f".{folder.name}.lock")):  # one process trains, the others wait
        if folder.is_dir():
            try:
                return _load_cached(folder, recipe)
            except (CheckpointError, ValueError, FileNotFoundError, OSError) as e:
                warnings.warn(
                    f"The cached small BERT in {folder} is unreadable ({e}); training it again.", stacklevel=2
                )
                shutil.rmtree(folder, ignore_errors=True)
        model, tokenizer, history = pretrain_small_bert(recipe, device=device, progress=progress)

        def write(tmp: Path) -> None:
            model._write_files(tmp, tokenizer)
            (tmp / RECIPE_NAME).write_text(json.dumps(recipe.to_dict(), indent=1, sort_keys=True) + "\n")
            (tmp / HISTORY_NAME).write_text(json.dumps(history.to_dict(), indent=1) + "\n")

        atomic_folder(folder, write, keep_others=False)  # the folder appears complete or not at all
        return _load_cached(folder, recipe)


def load_small_bert_history(
    cache_dir: str | os.PathLike | None = None, recipe: SmallBertRecipe = SMALL_BERT_RECIPE
) -> History:
    """The training History saved with the cached small BERT (call :func:`load_small_bert` first)."""
    path = small_bert_path(_resolved(recipe, None), cache_dir) / HISTORY_NAME
    if not path.is_file():
        raise CheckpointError(
            f"No cached small BERT history at {path}: call bertlib.pretrained.load_small_bert() first."
        )
    return History.from_dict(json.loads(path.read_text()))


def _resolved(recipe: SmallBertRecipe, device: str | None) -> SmallBertRecipe:
    """The recipe with "auto" precision replaced by what it means on ``device``: bf16 and fp32 weights differ."""
    if recipe.precision != "auto":
        return recipe
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return replace(recipe, precision=resolve_precision("auto", get_device(device)))


def _load_cached(folder: Path, recipe: SmallBertRecipe) -> tuple[BertForPreTraining, BertTokenizer]:
    saved = json.loads((folder / RECIPE_NAME).read_text())
    if saved != recipe.to_dict():  # a hash collision or a hand-edited folder: never hand out the wrong model
        raise CheckpointError(f"{folder / RECIPE_NAME} describes a different recipe.")
    return BertForPreTraining.from_pretrained(folder), BertTokenizer.from_pretrained(folder)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive file lock (POSIX); elsewhere no lock, and concurrent first calls both train."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
