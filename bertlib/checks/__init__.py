"""Exercise checks used by the lessons and by the autograder.

Each ``check_*`` function takes the reader's answer (usually a function),
runs it against bertlib's reference on several inputs, including odd shapes
and padding, and returns a :class:`CheckResult` that says precisely what is
wrong. Checks are grouped by concept, one module each; every module in this
package is imported here and its ``check_*`` functions re-exported, so
``bertlib.checks.check_masked_attention`` works without listing it by hand.
"""

import importlib
import pkgutil

from .core import EXERCISES, CheckFailure, CheckResult, Exercise, compare, exercise, run_check

__all__ = ["CheckResult", "CheckFailure", "Exercise", "EXERCISES", "exercise", "compare", "run_check"]

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "core":
        _module = importlib.import_module(f"{__name__}.{_info.name}")
        for _name in dir(_module):
            if _name.startswith("check_"):
                globals()[_name] = getattr(_module, _name)
                __all__.append(_name)
