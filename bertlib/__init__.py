"""bertlib: a small, tested BERT for learning, shared by every chapter of the book.

One import gives the whole public API::

    import bertlib
    config = bertlib.BertConfig.preset("mini", vocab_size=tokenizer.vocab_size)
    model = bertlib.BertForPreTraining(config)

Each object traces back to the chapter that teaches it: tokenization in
``bertlib.tokenization`` (chapter 2), skip-gram in ``bertlib.word2vec``
(chapter 3), attention in ``bertlib.attention`` (chapter 4), masking and NSP
pairs in ``bertlib.pretraining`` (chapters 6-8), task heads and task data in
``bertlib.task_heads``, ``bertlib.tasks`` and ``bertlib.finetuning`` (chapter 9),
the small BERT in ``bertlib.pretrained`` (chapter 8) and the real MiniLM in
``bertlib.minilm`` (chapter 10), and what came after BERT in ``bertlib.albert``,
``bertlib.electra``, ``bertlib.rotary`` and ``bertlib.objectives`` (chapter 11). The
corpora come from ``bertlib.data`` and its small world, ``bertlib.world``.
"""

from . import checks, data, finetuning, pretrained, task_kinds, tasks, texts, viz, word2vec, world
from .albert import AlbertModel, parameter_counts
from .albert_config import ALBERT_PRESETS, AlbertConfig
from .albert_heads import AlbertForPreTraining, AlbertForPreTrainingOutput
from .attention import extended_attention_mask, scaled_dot_product_attention
from .batches import EncodedDataset
from .checkpoint import CheckpointError, CheckpointWarning
from .config import PRESETS, BertConfig
from .constants import IGNORE_INDEX, IS_NEXT, NOT_NEXT
from .electra import (
    ElectraForMaskedLM,
    ElectraForPreTraining,
    ElectraForPreTrainingOutput,
    ElectraMaskedLMOutput,
    ElectraModel,
)
from .electra_config import ElectraConfig, generator_config
from .heads import BertForPreTraining, BertForPreTrainingOutput
from .history import History
from .model import BertModel, BertModelOutput
from .objectives.distillation import Distillation, DistillationOutput, distillation_loss, soft_target_loss
from .objectives.mlm import masked_logits, mlm_loss
from .objectives.replaced_tokens import (
    ReplacedTokenDetection,
    ReplacedTokenDetectionOutput,
    rtd_labels,
    sample_replacements,
)
from .objectives.sentence_pairs import sentence_pair_loss
from .optimization import default_param_groups, warmup_linear_decay
from .pretraining import (
    IN_ORDER,
    SWAPPED,
    PretrainingDataset,
    SentencePair,
    make_nsp_pairs,
    make_sop_pairs,
    mask_tokens,
)
from .task_heads import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .tokenization import SPECIAL_TOKENS, BertTokenizer, train_tokenizer
from .training import Trainer
from .training_config import TrainingConfig
from .utils import get_device, in_colab, seeded_generator, set_seed, setup_notebook, versions
from .version import __version__ as __version__
from .word_masking import WholeWordPretrainingDataset, mask_whole_words

__all__ = [
    "BertConfig",
    "PRESETS",
    "BertModel",
    "BertModelOutput",
    "BertForPreTraining",
    "BertForPreTrainingOutput",
    "AlbertConfig",
    "ALBERT_PRESETS",
    "AlbertModel",
    "AlbertForPreTraining",
    "AlbertForPreTrainingOutput",
    "parameter_counts",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
    "SequenceClassifierOutput",
    "TokenClassifierOutput",
    "QuestionAnsweringModelOutput",
    "IGNORE_INDEX",
    "scaled_dot_product_attention",
    "extended_attention_mask",
    "CheckpointError",
    "CheckpointWarning",
    "BertTokenizer",
    "train_tokenizer",
    "SPECIAL_TOKENS",
    "mask_tokens",
    "mask_whole_words",
    "WholeWordPretrainingDataset",
    "make_nsp_pairs",
    "make_sop_pairs",
    "IN_ORDER",
    "SWAPPED",
    "masked_logits",
    "mlm_loss",
    "sentence_pair_loss",
    "soft_target_loss",
    "distillation_loss",
    "Distillation",
    "DistillationOutput",
    "ElectraConfig",
    "generator_config",
    "ElectraModel",
    "ElectraForMaskedLM",
    "ElectraForPreTraining",
    "ElectraMaskedLMOutput",
    "ElectraForPreTrainingOutput",
    "ReplacedTokenDetection",
    "ReplacedTokenDetectionOutput",
    "rtd_labels",
    "sample_replacements",
    "SentencePair",
    "PretrainingDataset",
    "IS_NEXT",
    "NOT_NEXT",
    "Trainer",
    "TrainingConfig",
    "History",
    "EncodedDataset",
    "default_param_groups",
    "warmup_linear_decay",
    "set_seed",
    "get_device",
    "seeded_generator",
    "versions",
    "in_colab",
    "setup_notebook",
    "checks",
    "viz",
    "data",
    "world",
    "tasks",
    "task_kinds",
    "finetuning",
    "pretrained",
    "texts",
    "word2vec",
]
