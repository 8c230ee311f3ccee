"""Datasets: ranges, splits, determinism, the shapes generator, the MNIST reader, batches, plots, errors."""

import gzip

import numpy as np
import pytest
import torch

from dit_lib.batches import check_labels, iterate_minibatches
from dit_lib.data import (
    DATASETS,
    SHAPES,
    load_dataset,
    load_mnist,
    make_grid,
    make_shapes,
    read_idx,
    shape_sdf,
    stratified_split,
    to_image,
)


# ---------------------------------------------------------------- digits


def test_digits_split_sizes_range_and_dtypes():
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert (len(train), len(test)) == (1438, 359)  # 80 / 20 of 1,797, per class
    assert train.images.shape == (1438, 1, 8, 8) and train.images.dtype == torch.float32
    assert train.labels.dtype == torch.int64 and train.num_classes == 10 and train.channels == 1
    assert train.images.min() == -1 and train.images.max() == 1
    assert torch.all((train.images + 1) * 8 == ((train.images + 1) * 8).round())  # x / 8 - 1 of 0..16


def test_digits_split_is_stratified_disjoint_and_fixed():
    labels = np.repeat(np.arange(10), 20)
    tr, te = stratified_split(labels, 0.2, seed=0)
    assert sorted(np.concatenate([tr, te])) == list(range(200))  # disjoint and complete
    assert np.bincount(labels[te]).tolist() == [4] * 10  # 20 % of every class
    a, b = load_dataset("digits", "test"), load_dataset("digits", "test")
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.labels, load_dataset("digits", "test", seed=1).labels)


def test_digits_upsampled_is_nearest_neighbour_and_n_takes_the_first():
    small, big = load_dataset("digits", n=5), load_dataset("digits", n=5, image_size=16)
    assert big.images.shape == (5, 1, 16, 16) and big.image_size == 16
    assert torch.equal(big.images[:, :, ::2, ::2], small.images)
    assert torch.equal(big.images[:, :, 1::2, 1::2], small.images)
    assert torch.equal(small.labels, load_dataset("digits").labels[:5])


# ---------------------------------------------------------------- shapes


def test_shapes_range_balance_and_class_index():
    ds = make_shapes(900, shapes=("square", "circle", "triangle"), colors=("red", "green", "blue"))
    assert ds.images.shape == (900, 3, 16, 16) and ds.images.dtype == torch.float32
    assert ds.images.min() >= -1 and ds.images.max() <= 1
    assert torch.bincount(ds.labels).tolist() == [100] * 9
    assert ds.class_names[5] == "blue circle"  # 5 = shape 1 * 3 colours + colour 2
    for k in range(9):
        img = ds.images[ds.labels == k]  # (n, 3, H, W)
        lit = img.amax(dim=(0, 2, 3)) > 0.9  # channels that carry the colour
        assert lit.tolist() == [c == k % 3 for c in range(3)]
        assert torch.all(img[:, [c for c in range(3) if c != k % 3]] == -1)  # black elsewhere


def test_shapes_deterministic_per_seed_and_split():
    a, b = make_shapes(50, seed=3), make_shapes(50, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, make_shapes(50, seed=4).images)
    assert not torch.equal(a.images, make_shapes(50, seed=3, split="test").images)


def test_shape_signed_distances():
    r = np.array(4.0)
    zero = np.array(0.0)
    assert shape_sdf("circle", zero, zero, r) == -4 and shape_sdf("circle", np.array(4.0), zero, r) == 0
    assert shape_sdf("square", np.array(3.2), np.array(1.0), r) == pytest.approx(0)  # half side 0.8 r
    assert shape_sdf("triangle", zero, np.array(-4.0), r) == pytest.approx(0)  # apex (y points down)
    assert shape_sdf("triangle", zero, np.array(2.0), r) == pytest.approx(0)  # base at r / 2
    assert shape_sdf("cross", np.array(4.0), zero, r) == 0 and shape_sdf("cross", np.array(3.0), np.array(3.0), r) > 0


def test_shapes_any_number_of_images_and_a_palette_subset():
    # its speed is a benchmark (benchmarks/data_generation.py), not a timed test
    ds = make_shapes(10_000, shapes=SHAPES, colors=("red", "green"))
    assert len(ds) == 10_000 and ds.num_classes == 8
    assert torch.bincount(ds.labels).tolist() == [1250] * 8


# ---------------------------------------------------------------- MNIST (a tiny file in the IDX format)


def write_idx(path, array: np.ndarray, gz: bool):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_files(tmp_path, gz):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (6, 28, 28)), np.array([0, 1, 2, 9, 4, 5])
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, gz)
    assert np.array_equal(read_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}"), images)
    ds = load_dataset("mnist", "test", root=tmp_path)
    assert ds.images.shape == (6, 1, 28, 28) and ds.labels.tolist() == labels.tolist()
    x = torch.tensor(images / 127.5 - 1, dtype=torch.float32)
    assert torch.allclose(ds.images[:, 0], x, atol=1e-6)
    pooled = load_mnist(tmp_path, "test", image_size=14, n=2).images  # 2x2 average pooling
    assert torch.allclose(pooled[:, 0], x[:2].reshape(2, 14, 2, 14, 2).mean((2, 4)), atol=1e-6)
    padded = load_mnist(tmp_path, "test", image_size=16).images  # pad to 32, then 2x2 pool
    assert padded.shape == (6, 1, 16, 16) and torch.all(padded[:, :, 0] == -1)


def test_mnist_bad_files(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + (5).to_bytes(4, "big") * 3 + b"\x01")
    with pytest.raises(ValueError, match="declares shape .* truncated"):
        read_idx(tmp_path / "t10k-images-idx3-ubyte")
    (tmp_path / "bad").write_bytes(b"PK\x03\x04....")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_mnist_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\[\.gz\] not found in .*download=True"):
        load_dataset("mnist", root=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing downloaded by default


# ---------------------------------------------------------------- batches and pictures


def test_minibatches_cover_the_epoch_and_are_seeded():
    x, y = torch.arange(10.0).view(10, 1, 1, 1), torch.arange(10)
    batches = list(iterate_minibatches(x, y, 4, generator=torch.Generator().manual_seed(0), drop_last=False))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    assert sorted(torch.cat([b for _, b in batches]).tolist()) == list(range(10))
    assert all(torch.equal(b.flatten(), c) for b, c in batches)  # images stay with their labels
    again = list(iterate_minibatches(x, y, 4, generator=torch.Generator().manual_seed(0), drop_last=False))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, again))
    assert [len(b) for b, _ in iterate_minibatches(x, y, 4, generator=torch.Generator())] == [4, 4]


def test_to_image_and_make_grid():
    x = torch.linspace(-1, 1, 2 * 3 * 4 * 5).view(2, 3, 4, 5)
    img = to_image(x)
    assert img.shape == (2, 4, 5, 3) and img.min() == 0 and img.max() == 1
    assert to_image(x[:, :1]).shape == (2, 4, 5) and to_image(x[0]).shape == (4, 5, 3)
    grid = make_grid(x.repeat(3, 1, 1, 1), nrow=4, padding=1)  # 6 images -> 2 rows of 4
    assert grid.shape == (3, 2 * (4 + 1) + 1, 4 * (5 + 1) + 1)
    assert torch.equal(grid[:, 1 + 5 : 1 + 5 + 4, 1 + 6 : 1 + 6 + 5], x[1])  # row 1, column 1 is image 5
    assert torch.all(grid[:, 6:, 2 * 6 + 1 :] == 0)  # empty cells get pad_value


# ---------------------------------------------------------------- errors name the value and the fix


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: load_dataset("cifar"), ValueError, "unknown dataset 'cifar'; known datasets are digits, shapes, scenes, mnist"),
        (lambda: load_dataset("digits", "val"), ValueError, "split must be one of .* got 'val'"),
        (lambda: load_dataset("digits", n=0), ValueError, "n must be a positive integer, got 0"),
        (lambda: load_dataset("digits", n=5000), ValueError, "n=5000 but the digits train split has only 1438"),
        (lambda: load_dataset("digits", image_size=12), ValueError, "multiple of 8 .* got 12"),
        (lambda: load_dataset("shapes", image_size=4), ValueError, "image_size >= 8 .* got 4"),
        (lambda: load_dataset("shapes", shapes=("star",)), ValueError, "shapes must be .* got \\('star',\\)"),
        (lambda: load_dataset("shapes", colors=("red", "red")), ValueError, "distinct names"),
        (lambda: load_dataset("digits", colors=("red",)), TypeError, "unexpected option.*'colors'"),
        (lambda: load_mnist("x", image_size=20), ValueError, "MNIST image_size must be one of"),
        (
            lambda: check_labels(torch.tensor([0, 10]), 10),
            ValueError,
            "label 10 in labels is out of range: valid labels are 0..9",
        ),
        (lambda: check_labels(torch.tensor([0.0]), 10), TypeError, "integer tensor"),
        (
            lambda: next(iterate_minibatches(torch.zeros(3, 1, 2, 2), torch.zeros(3).long(), 8)),
            ValueError,
            "batch_size 8 is larger than the 3 images",
        ),
        (
            lambda: next(iterate_minibatches(torch.zeros(3, 1, 2, 2), torch.zeros(4).long(), 2)),
            ValueError,
            "images has 3 items but labels has 4",
        ),
        (lambda: to_image(torch.zeros(2, 2)), ValueError, r"\(C, H, W\) or \(B, C, H, W\)"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_every_dataset_name_is_handled():
    assert DATASETS == ("digits", "shapes", "scenes", "mnist")
