"""Small shared fixtures' building blocks for the package tests (not a test module)."""

import torch

import bertlib

SENTENCES = [
    "anna lives in oakton and works as a baker .",
    "every morning she bakes bread in the bakery .",
    "her cat is called pepper .",
    "ben lives in riverside and works as a doctor .",
    "he helps sick people at the hospital .",
    "his dog is called rex .",
    "carla plays the violin in the evening .",
    "she also plays chess with her brother .",
]
DOCUMENTS = [SENTENCES[0:3], SENTENCES[3:6], SENTENCES[6:8]]


def tiny_tokenizer():
    return bertlib.train_tokenizer(SENTENCES, vocab_size=400)


def load_script(name: str):
    """A build script of scripts/ as a module (scripts/ is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_and_batch():
    """A fresh tiny BertForPreTraining in eval mode and one 5-token sequence (a new model per call)."""
    bertlib.set_seed(0)
    model = bertlib.BertForPreTraining(bertlib.BertConfig.preset("test")).eval()
    ids = torch.tensor([[2, 10, 11, 12, 3]])
    return model, ids
