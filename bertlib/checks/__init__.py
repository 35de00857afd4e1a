"""Exercise checks used by the lessons and by the autograder (``python -m bertlib grade``).

Each ``check_*`` function takes the reader's answer (usually a function),
runs it against bertlib's reference on several inputs, including odd shapes
and padding, and returns a :class:`CheckResult` that says precisely what is
wrong. Checks are grouped by concept, one module each.
"""

from .attention import check_attention_weights, check_masked_attention, check_split_heads
from .core import EXERCISES, CheckFailure, CheckResult, Exercise, compare, exercise, run_check

__all__ = [
    "CheckResult", "CheckFailure", "Exercise", "EXERCISES", "exercise", "compare", "run_check",
    "check_attention_weights", "check_masked_attention", "check_split_heads",
]
