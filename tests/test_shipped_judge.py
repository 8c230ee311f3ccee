"""The shipped judges (dit_lib/pretrained/judge_<name>.pth, `make judges`): get_judge loads them
instead of training, and the digits one is what `train_judge` gives: bit for bit on the processor
family that wrote it, the same readings elsewhere (the scenes one is checked the same way by
`python -m dit_lib.pretrained.build --judges --check`, outside `make test`: it trains for a minute)."""

import pytest
import torch

from dit_lib import evaluation
from dit_lib.data import load_dataset
from dit_lib.evaluation import get_judge, load_judge, shipped_judge_path, train_judge
from dit_lib.machine import processor, same_family


@pytest.mark.parametrize("name", evaluation.SHIPPED_JUDGES)
def test_every_shipped_judge_loads_and_reads_real_test_images(name, monkeypatch):
    monkeypatch.setattr(evaluation, "_JUDGES", {})
    monkeypatch.setattr(evaluation, "train_judge", lambda *a, **k: pytest.fail("should load the shipped judge"))
    judge = get_judge(name)
    test = load_dataset(name, "test")
    assert judge.accuracy(test.images, test.labels) == judge.test_accuracy >= 0.97


@pytest.fixture(scope="module")
def shipped():
    path = shipped_judge_path("digits")
    assert path.is_file(), f"{path} is missing: run `make judges`"
    return load_judge(path), torch.load(path, weights_only=True)


def test_get_judge_loads_the_shipped_file_instead_of_training(shipped, monkeypatch):
    judge, _ = shipped
    monkeypatch.setattr(evaluation, "_JUDGES", {})
    monkeypatch.setattr(evaluation, "train_judge", lambda *a, **k: pytest.fail("should load the shipped judge"))
    loaded = get_judge("digits")
    for a, b in zip(loaded.net.state_dict().values(), judge.net.state_dict().values()):
        assert torch.equal(a, b)
    assert loaded.test_accuracy == judge.test_accuracy >= 0.97


def test_other_seeds_and_options_are_trained_not_shipped(monkeypatch):
    calls = []
    monkeypatch.setattr(evaluation, "_JUDGES", {})
    monkeypatch.setattr(evaluation, "train_judge", lambda name, **k: calls.append((name, k)) or "trained")
    assert get_judge("digits", seed=1) == "trained" and get_judge("digits", n=100) == "trained"
    assert calls == [("digits", {"seed": 1}), ("digits", {"seed": 0, "n": 100})]


def test_the_shipped_judge_is_what_train_judge_gives(shipped):
    judge, saved = shipped
    fresh = train_judge("digits")
    x = load_dataset("digits", "test").images
    assert fresh.test_accuracy == pytest.approx(judge.test_accuracy, abs=0.01)
    if saved.get("processor") and same_family(saved["processor"], processor()):
        for a, b in zip(fresh.net.state_dict().values(), judge.net.state_dict().values()):
            assert torch.equal(a, b)  # bit for bit, as the card of a checkpoint
        assert fresh.test_accuracy == judge.test_accuracy
    else:  # last-bit differences grow over training
        assert (fresh.predict(x) == judge.predict(x)).double().mean() >= 0.98
