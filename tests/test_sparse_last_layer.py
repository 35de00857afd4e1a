"""The last layer run only where the heads read it (bertlib.sparse_last_layer)."""

import pytest
import torch

from bertlib import BertConfig, BertForPreTraining, BertModel
from bertlib.sparse_last_layer import applies, encode_kept


def test_keep_computes_the_last_layer_at_the_kept_rows_only():
    torch.manual_seed(2)
    config = BertConfig.preset("test")
    model = BertModel(config).eval()
    ids = torch.randint(5, config.vocab_size, (3, 7))
    mask = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 2 + [0] * 5])
    keep = torch.zeros(3, 7, dtype=torch.bool)
    keep[:, 0] = True
    keep[0, [2, 6]] = True
    keep[1, 3] = True
    with torch.no_grad():
        full = model(ids, attention_mask=mask)
        kept, part = encode_kept(model, ids, None, mask, keep)
    assert part.last_hidden_state is None and kept.shape == (6, config.hidden_size)
    torch.testing.assert_close(kept, full.last_hidden_state[keep], atol=1e-6, rtol=0)
    torch.testing.assert_close(part.pooler_output, full.pooler_output, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="position 0"):
        encode_kept(model, ids, None, None, torch.ones(3, 7, dtype=torch.bool).index_fill(1, torch.tensor([0]), False))
    with pytest.raises(ValueError, match="bool tensor"):
        encode_kept(model, ids, None, None, keep.long())
    with pytest.raises(ValueError, match=r"input_ids must be a \(batch, seq_len\) tensor"):
        encode_kept(model, ids[0], None, None, keep[0])  # one sentence without its batch axis


def test_the_config_switch_and_the_mode_decide_when_it_applies():
    model = BertForPreTraining(BertConfig.preset("test"))
    assert applies(model.train(), False, False)
    assert not applies(model, True, False) and not applies(model, False, True)  # every layer is asked for
    assert not applies(model.eval(), False, False)
    off = BertForPreTraining(BertConfig.preset("test", sparse_last_layer=False)).train()
    assert not applies(off, False, False)
    with pytest.raises(ValueError, match="True or False"):
        BertConfig.preset("test", sparse_last_layer="yes")
    assert "sparse_last_layer" not in BertConfig().to_dict()  # a speed switch, not part of config.json
