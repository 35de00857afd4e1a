"""Transfer-learning checks: the right answer passes; a stub and typical mistakes fail with the right message."""

from __future__ import annotations

import torch

from bertlib import checks


def stub(*args):
    raise NotImplementedError


# ------------------------------------------------------------------ freeze_body
def good_freeze(model):
    for p in model.bert.parameters():
        p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_freeze_body():
    assert checks.check_freeze_body(good_freeze).passed
    r = checks.check_freeze_body(stub)
    assert not r and "Not implemented yet" in r.message


def test_freeze_body_mistakes():
    def encoder_only(model):  # forgets the embeddings and the pooler
        for p in model.bert.encoder.parameters():
            p.requires_grad_(False)
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    r = checks.check_freeze_body(encoder_only)
    assert not r and "embeddings included" in r.message

    def everything(model):
        for p in model.parameters():
            p.requires_grad_(False)
        return 0

    r = checks.check_freeze_body(everything)
    assert not r and "the new head is frozen too" in r.message

    def returns_frozen(model):
        good_freeze(model)
        return sum(p.numel() for p in model.bert.parameters())

    r = checks.check_freeze_body(returns_frozen)
    assert not r and "number of frozen parameters" in r.message


# ---------------------------------------------------------- discriminative groups
def good_groups(model, body_lr, head_lr):
    body = list(model.bert.parameters())
    ids = {id(p) for p in body}
    return [
        {"params": body, "lr": body_lr},
        {"params": [p for p in model.parameters() if id(p) not in ids], "lr": head_lr},
    ]


def test_discriminative_groups():
    assert checks.check_discriminative_groups(good_groups).passed
    assert not checks.check_discriminative_groups(stub)


def test_discriminative_groups_mistakes():
    swapped = checks.check_discriminative_groups(lambda m, b, h: good_groups(m, h, b))
    assert not swapped and "swapped" in swapped.message
    twice = checks.check_discriminative_groups(
        lambda m, b, h: [{"params": list(m.bert.parameters()), "lr": b}, {"params": list(m.parameters()), "lr": h}]
    )
    assert not twice and "two groups" in twice.message
    encoder_only = checks.check_discriminative_groups(
        lambda m, b, h: [
            {"params": list(m.bert.encoder.parameters()), "lr": b},
            {"params": [p for n, p in m.named_parameters() if not n.startswith("bert.")], "lr": h},
        ]
    )
    assert not encoder_only and "in no group" in encoder_only.message
    no_lr = checks.check_discriminative_groups(lambda m, b, h: [{"params": list(m.parameters())}])
    assert not no_lr and "'lr'" in no_lr.message


# ---------------------------------------------------------------- mean pooling
def good_pool(h, mask):
    m = mask[..., None].to(h.dtype)
    return (h * m).sum(1) / m.sum(1)


def test_mean_pooling():
    assert checks.check_mean_pooling(good_pool).passed
    assert not checks.check_mean_pooling(stub)


def test_mean_pooling_mistakes():
    r = checks.check_mean_pooling(lambda h, m: h.mean(1))
    assert not r and "[PAD] included" in r.message
    r = checks.check_mean_pooling(lambda h, m: (h * m[..., None]).sum(1) / h.size(1))
    assert not r and "divided by T" in r.message
    r = checks.check_mean_pooling(lambda h, m: h[:, 0])  # the [CLS] vector is not the mean
    assert not r and "largest difference" in r.message
    r = checks.check_mean_pooling(lambda h, m: good_pool(h, m)[:, None])
    assert not r and "shape" in r.message


# --------------------------------------------------------------- layer-wise lr
def good_layerwise(model, head_lr, decay):
    L = len(model.bert.encoder.layer)
    groups = [{"params": list(model.bert.embeddings.parameters()), "lr": head_lr * decay ** (L + 1)}]
    for i, layer in enumerate(model.bert.encoder.layer):
        groups.append({"params": list(layer.parameters()), "lr": head_lr * decay ** (L - i)})
    taken = {id(p) for g in groups for p in g["params"]}
    groups.append({"params": [p for p in model.parameters() if id(p) not in taken], "lr": head_lr})
    return groups


def test_layerwise_lr():
    assert checks.check_layerwise_lr(good_layerwise).passed
    assert not checks.check_layerwise_lr(stub)


def test_layerwise_lr_mistakes():
    def off_by_one(model, head_lr, decay):  # the top layer gets the head's rate
        groups = good_layerwise(model, head_lr, decay)
        for g in groups[1:-1]:
            g["lr"] /= decay
        return groups

    r = checks.check_layerwise_lr(off_by_one)
    assert not r and "one step below the head" in r.message

    def reversed_decay(model, head_lr, decay):  # the input side moves most
        groups = good_layerwise(model, head_lr, decay)
        for i, g in enumerate(groups[1:-1]):
            g["lr"] = head_lr * decay ** (i + 1)
        return groups

    r = checks.check_layerwise_lr(reversed_decay)
    assert not r and "expected" in r.message

    r = checks.check_layerwise_lr(lambda m, lr, d: good_layerwise(m, lr, d)[1:])  # embeddings left out
    assert not r and "in no group" in r.message


def test_checks_leave_the_global_rng_alone():
    torch.manual_seed(3)
    before = torch.rand(1)
    torch.manual_seed(3)
    checks.check_freeze_body(good_freeze)
    assert torch.equal(torch.rand(1), before)
