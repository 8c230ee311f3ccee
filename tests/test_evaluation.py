"""The quality judge: accurate on real data, deterministic, honest on noise; the Fréchet distance formula."""

import numpy as np
import pytest
import scipy.linalg
import torch

import dit_lib.evaluation as evaluation
from dit_lib.data import load_dataset
from dit_lib.distances import frechet_distance, frechet_distance_gaussians, gaussian_stats
from dit_lib.evaluation import class_matched_real_sets, evaluate_samples, get_judge, load_judge, real_baseline_fd, train_judge


@pytest.fixture(scope="module")
def digits_judge():
    return get_judge("digits")


# ---------------------------------------------------------------- Fréchet distance


def test_fd_of_diagonal_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    mu_a, mu_b, a, b = rng.normal(size=5), rng.normal(size=5), rng.uniform(0.1, 2, 5), rng.uniform(0.1, 2, 5)
    closed = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance_gaussians(mu_a, np.diag(a), mu_b, np.diag(b)) == pytest.approx(closed, rel=1e-12)


def test_fd_matches_the_sqrtm_formula_for_full_covariances():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    cov_a, cov_b, mu_a, mu_b = A @ A.T, B @ B.T + np.eye(6), rng.normal(size=6), rng.normal(size=6)
    reference = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    assert frechet_distance_gaussians(mu_a, cov_a, mu_b, cov_b) == pytest.approx(reference, rel=1e-9)


def test_fd_of_samples():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20_000, 3)) * [1.0, 2.0, 0.5]
    y = rng.normal(size=(20_000, 3)) * [1.0, 1.0, 0.5] + [1.0, 0.0, 0.0]  # closed form: 1 + (2 - 1)^2 = 2
    assert frechet_distance(x, x) == pytest.approx(0, abs=1e-9)
    assert frechet_distance(torch.tensor(x), torch.tensor(y)) == pytest.approx(2.0, rel=0.05)
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)  # symmetric


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros((100, 4)), np.zeros((100, 5)), "feature dimensions do not match"),
        (np.zeros((4, 8)), np.zeros((100, 8)), "got 4 samples of 8 features, too few .* at least 9 samples"),
        (np.zeros(100), np.zeros(100), r"2-D array \(N, F\)"),
    ],
)
def test_fd_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


def test_gaussian_stats_float64():
    mu, cov = gaussian_stats(torch.ones(10, 2, dtype=torch.float32))
    assert mu.dtype == cov.dtype == np.float64 and cov.shape == (2, 2)


# ---------------------------------------------------------------- the judge


def test_digits_judge_is_accurate_on_real_test_data(digits_judge):
    test = load_dataset("digits", "test")
    assert digits_judge.test_accuracy >= 0.95  # measured 0.9805 (7 of 359 wrong)
    assert digits_judge.accuracy(test.images, test.labels) == digits_judge.test_accuracy
    assert digits_judge.predict(test.images).dtype == torch.int64
    assert digits_judge.features(test.images).shape == (359, 64)


def test_judge_training_is_deterministic_and_leaves_global_state_alone(digits_judge):
    torch.manual_seed(123)
    rng_before, threads_before = torch.get_rng_state(), torch.get_num_threads()
    again = train_judge("digits")
    assert torch.equal(torch.get_rng_state(), rng_before) and torch.get_num_threads() == threads_before
    for (k, v), w in zip(digits_judge.net.state_dict().items(), again.net.state_dict().values()):
        assert torch.equal(v, w), k
    test = load_dataset("digits", "test")
    assert torch.equal(again.predict(test.images), digits_judge.predict(test.images))


def test_shapes_judge_is_accurate_on_real_test_data():
    judge = get_judge("shapes")  # 3 shapes x 3 colours, 16x16
    assert judge.num_classes == 9
    assert judge.test_accuracy >= 0.97  # measured 0.9980


def test_judge_cache_in_memory_and_on_disk(digits_judge, tmp_path, monkeypatch):
    assert get_judge("digits") is digits_judge
    assert get_judge("digits", cache_dir=tmp_path) is digits_judge  # memory hit, also written to disk
    (path,) = tmp_path.glob("judge-digits-*.pt")
    monkeypatch.setattr(evaluation, "_JUDGES", {})
    monkeypatch.setattr(evaluation, "train_judge", lambda *a, **k: pytest.fail("should load, not train"))
    loaded = get_judge("digits", cache_dir=tmp_path)
    x = load_dataset("digits", "test").images
    assert torch.equal(loaded.features(x), digits_judge.features(x))
    assert load_judge(path).test_accuracy == digits_judge.test_accuracy


def test_judge_is_honest_about_real_data_and_noise(digits_judge):
    real, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    x, y = test.images[:300], test.labels[:300]
    good = evaluate_samples(digits_judge, x, y, real.images, real.labels)
    noise = evaluate_samples(digits_judge, torch.rand(300, 1, 8, 8) * 2 - 1, y, real.images, real.labels)
    assert good.accuracy > 0.95 and noise.accuracy < 0.3
    assert good.fd < 2 * good.fd_real_baseline  # real test images score like real ones
    assert noise.fd > 30 * good.fd_real_baseline
    assert good.fd_real_baseline == pytest.approx(real_baseline_fd(digits_judge, real.images, real.labels, y), rel=1e-6)


def test_fd_catches_what_accuracy_misses(digits_judge):
    """One real image per class repeated (mode collapse): perfect accuracy, FD far above the floor."""
    real, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    y = torch.arange(300) % 10
    first_of_class = torch.stack([test.images[test.labels == c][0] for c in range(10)])  # (10, 1, 8, 8)
    collapsed = evaluate_samples(digits_judge, first_of_class[y], y, real.images, real.labels)
    assert collapsed.accuracy > 0.89  # at most one of the ten is misjudged
    assert collapsed.fd > 10 * collapsed.fd_real_baseline


def test_class_matched_real_sets():
    real_labels = torch.arange(40) % 4  # 10 real images per class
    labels = torch.tensor([0, 0, 1, 3, 3, 3, 3, 3])
    a, b = class_matched_real_sets(real_labels, labels, seed=0)
    assert torch.equal(real_labels[a], labels) and torch.equal(real_labels[b], labels)
    assert len(set(a.tolist()) | set(b.tolist())) == 16  # disjoint
    with pytest.raises(ValueError, match="class 3 needs 2 x 6 = 12 real images .* has 10"):
        class_matched_real_sets(real_labels, torch.full((6,), 3))


def test_judge_bad_input(digits_judge):
    x = torch.zeros(4, 1, 8, 8)
    with pytest.raises(ValueError, match=r"expects images \(N, 1, 8, 8\) .* got shape \(4, 3, 16, 16\)"):
        digits_judge.predict(torch.zeros(4, 3, 16, 16))
    with pytest.raises(ValueError, match="label 10 in labels is out of range: valid labels are 0..9"):
        digits_judge.accuracy(x, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="images has 4 items but labels has 3"):
        digits_judge.accuracy(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="real_images has 4 items but real_labels has 3"):
        real_baseline_fd(digits_judge, x, torch.tensor([0, 1, 2]), torch.tensor([0]))
