"""Pretraining objectives, one module each: what a model is trained to predict, and its loss.

- :mod:`.mlm`: masked language modelling (BERT): the original token at the corrupted positions.
- :mod:`.sentence_pairs`: next sentence prediction (BERT) and sentence-order prediction (ALBERT),
  one 2-way head; the two differ only in how the data builds the pairs.
- :mod:`.distillation`: soft targets from a teacher (Hinton et al. 2015; DistilBERT).
- :mod:`.replaced_tokens`: replaced-token detection (ELECTRA), a generator and a discriminator.

The data side (:mod:`bertlib.pretraining`) corrupts the batches; an objective only scores
them. A model or objective module returns an output with ``loss`` (what the Trainer
minimises) and may add ``losses`` and ``metrics`` dicts, which the Trainer records in its
history. This package's ``__init__`` imports nothing, so a head can use one objective
without loading the others; import from the modules, or from ``bertlib``.
"""
