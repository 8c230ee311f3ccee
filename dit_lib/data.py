"""Small image datasets that need no download, and plotting helpers (seeded minibatches: `dit_lib.batches`).

Every dataset comes back as an `ImageDataset`: float32 images (N, C, H, W) in [-1, 1] (the
range the diffusion forward process assumes) and int64 labels (N,).

    "digits"  scikit-learn's bundled handwritten digits: 1,797 images, 8x8 grayscale, 10 classes.
              Fixed stratified split, 80 % train / 20 % test (1,438 / 359 images with seed=0).
    "shapes"  coloured shapes drawn on the fly, 16x16 RGB by default, any number of images;
              class = shape_index * len(colors) + color_index (default 3 shapes x 3 colours).
    "scenes"  the same classes at 32x32 on smooth dark gradients with grey pebbles (dit_lib.drawing):
              images worth compressing, for the latent DiT of chapter 11.
    "mnist"   the standard IDX files from a local folder (downloaded only with download=True).
"""
from __future__ import annotations

import gzip
import hashlib
import math
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange

from ._checks import check_positive_int, check_tensor
from .drawing import PALETTE, SHAPES, coverage_of, draw_scenes, place, shape_sdf  # noqa: F401 (re-exported)

DATASETS = ("digits", "shapes", "scenes", "mnist")
SPLITS = ("train", "test")

DEFAULT_SHAPES = ("square", "circle", "triangle")
DEFAULT_COLORS = ("red", "green", "blue")
SHAPES_DEFAULT_N = {"train": 10_000, "test": 2_000}   # also the size of "scenes"

MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
MNIST_MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images in [-1, 1] with their class labels and class names (square for the built-in datasets)."""

    name: str
    split: str
    images: torch.Tensor          # (N, C, H, W) float32 in [-1, 1]
    labels: torch.Tensor          # (N,) int64 in 0..num_classes-1
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        """The width (and height, for square images)."""
        return self.images.shape[-1]

    def __len__(self) -> int:
        return self.images.shape[0]


def load_dataset(name: str, split: str = "train", *, image_size: int | None = None, n: int | None = None,
                 seed: int = 0, **options) -> ImageDataset:
    """Load `name` ("digits", "shapes" or "mnist"); `n` keeps the first n images of the split.

    `seed` picks the digits train/test split (0 is the book's split) or the shapes images;
    MNIST uses its official split. Extra options: shapes= and colors= for "shapes",
    root= and download= for "mnist".
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets are {', '.join(DATASETS)}.")
    check_split(split)
    if n is not None:
        check_positive_int("n", n)
    allowed = {"digits": set(), "shapes": {"shapes", "colors"}, "scenes": {"shapes", "colors"},
               "mnist": {"root", "download"}}[name]
    if set(options) - allowed:
        raise TypeError(f"load_dataset({name!r}) got unexpected option(s) {sorted(set(options) - allowed)}; "
                        f"it accepts image_size, n, seed{''.join(', ' + a for a in sorted(allowed))}.")
    size = {"digits": 8, "shapes": 16, "scenes": 32, "mnist": 28}[name] if image_size is None else image_size
    if name == "digits":
        return load_digits(split, image_size=size, n=n, seed=seed)
    if name in ("shapes", "scenes"):
        make = make_shapes if name == "shapes" else make_scenes
        return make(n or SHAPES_DEFAULT_N[split], image_size=size, seed=seed, split=split, **options)
    return load_mnist(split=split, image_size=size, n=n, **options)


def check_split(split) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")


# ---------------------------------------------------------------- digits (bundled with scikit-learn)

def stratified_split(labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0):
    """Indices (train, test): round(test_fraction * n_c) random images of each class c go to test.

    Written out (not sklearn's `train_test_split`) so the split never changes with a library version.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = round(test_fraction * len(idx))
        test.append(idx[:k])
        train.append(idx[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def load_digits(split: str = "train", *, image_size: int = 8, n: int | None = None, seed: int = 0) -> ImageDataset:
    """scikit-learn's 8x8 digits scaled from 0..16 to [-1, 1] (x / 8 - 1).

    image_size must be 8 or a multiple of 8 (each pixel is repeated: nearest-neighbour upsampling).
    """
    from sklearn.datasets import load_digits as sklearn_digits

    check_split(split)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 or image_size % 8:
        raise ValueError(f"digits are 8x8; image_size must be 8 or a multiple of 8 (nearest-neighbour "
                         f"upsampling), got {image_size!r}.")
    bunch = sklearn_digits()
    labels = bunch.target.astype(np.int64)
    idx = stratified_split(labels, 0.2, seed)[SPLITS.index(split)]
    if n is not None and n > len(idx):
        raise ValueError(f"n={n} but the digits {split} split has only {len(idx)} images; pass n <= {len(idx)}.")
    idx = idx[:n]
    x = torch.from_numpy(bunch.images[idx]).float().div(8).sub(1).unsqueeze(1)   # (N, 1, 8, 8)
    x = x.repeat_interleave(image_size // 8, dim=2).repeat_interleave(image_size // 8, dim=3)
    return ImageDataset("digits", split, x.contiguous(), torch.from_numpy(labels[idx]),
                        tuple(str(d) for d in range(10)))


# ---------------------------------------------------------------- coloured shapes (generated)

def shapes_class_names(shapes=DEFAULT_SHAPES, colors=DEFAULT_COLORS) -> tuple[str, ...]:
    """Class index = shape_index * len(colors) + color_index, e.g. 'red square' is class 0."""
    for arg, values, known in (("shapes", shapes, SHAPES), ("colors", colors, tuple(PALETTE))):
        if isinstance(values, str) or not values or len(set(values)) != len(values) \
                or any(v not in known for v in values):
            raise ValueError(f"{arg} must be a non-empty sequence of distinct names from {known}, got {values!r}.")
    return tuple(f"{c} {s}" for s in shapes for c in colors)


def make_shapes(n: int, *, image_size: int = 16, shapes=DEFAULT_SHAPES, colors=DEFAULT_COLORS,
                seed: int = 0, split: str = "train") -> ImageDataset:
    """n coloured shapes on a black background, classes balanced, deterministic for (seed, split).

    Centre and half-extent r (0.25 to 0.4 of the image size) are random and the shape stays
    inside the frame. Edges are anti-aliased: coverage = clip(0.5 - signed distance, 0, 1).
    The train and test splits use independent random streams of the same seed.
    """
    check_positive_int("n", n)
    check_split(split)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"shapes need image_size >= 8 (an int, images are square), got {image_size!r}.")
    names = shapes_class_names(shapes, colors)
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    labels = rng.permutation(np.arange(n) % len(names))               # balanced classes, shuffled
    S = image_size
    r, cx, cy = place(rng, n, S, 0.25, 0.4)                            # (N,) each, shape inside the frame
    coverage = np.zeros((n, S, S))                                     # (N, H, W)
    for i, shape in enumerate(shapes):
        m = labels // len(colors) == i
        coverage[m] = coverage_of(shape, r[m], cx[m], cy[m], S)        # (n_i, H, W)
    rgb = np.array([PALETTE[c] for c in colors], dtype=np.float64)[labels % len(colors)]   # (N, 3)
    x = 2 * coverage[:, None] * rgb[:, :, None, None] - 1                                    # (N, 3, H, W)
    return ImageDataset("shapes", split, torch.from_numpy(x).float(), torch.from_numpy(labels), names)


def make_scenes(n: int, *, image_size: int = 32, shapes=DEFAULT_SHAPES, colors=DEFAULT_COLORS,
                seed: int = 0, split: str = "train") -> ImageDataset:
    """n scenes (`dit_lib.drawing.draw_scenes`): the shapes' classes on gradients with pebbles; balanced,
    deterministic for (seed, split), train and test from independent streams of the same seed."""
    check_positive_int("n", n)
    check_split(split)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 16:
        raise ValueError(f"scenes need image_size >= 16 (an int, images are square), got {image_size!r}.")
    names = shapes_class_names(shapes, colors)
    rng = np.random.default_rng([seed, SPLITS.index(split), 1])       # a stream of its own (not the shapes')
    labels = rng.permutation(np.arange(n) % len(names))               # balanced classes, shuffled
    x = 2 * draw_scenes(labels, rng, image_size, shapes, colors) - 1                      # (N, 3, H, W)
    return ImageDataset("scenes", split, torch.from_numpy(x).float(), torch.from_numpy(labels), names)


# ---------------------------------------------------------------- MNIST (IDX files, optional download)

def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or .gz): magic 0x0000 08 <ndim>, big-endian int32 sizes, then uint8 data."""
    path = Path(path)
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic number {data[:4].hex()}).")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != math.prod(shape):
        raise ValueError(f"{path} declares shape {shape} but holds {body.size} values; the file is truncated.")
    return body.reshape(shape)


def find_or_download_mnist(root, stem: str, download: bool) -> Path:
    """Path of `stem` or `stem.gz` in root; downloads `stem.gz` (checking its MD5) only if download=True."""
    root = Path(root).expanduser()
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    if not download:
        raise FileNotFoundError(f"MNIST file {stem}[.gz] not found in {root}; put the four IDX files "
                                f"{', '.join(f for p in MNIST_FILES.values() for f in p)} (.gz or raw) there, "
                                f"or pass download=True to fetch them into that directory.")
    root.mkdir(parents=True, exist_ok=True)
    target, errors = root / f"{stem}.gz", []
    for mirror in MNIST_MIRRORS:
        try:
            blob = urllib.request.urlopen(mirror + target.name, timeout=60).read()
        except OSError as err:
            errors.append(f"{mirror}: {err}")
            continue
        if hashlib.md5(blob).hexdigest() == MNIST_MD5[target.name]:
            target.write_bytes(blob)
            return target
        errors.append(f"{mirror}: MD5 mismatch")
    raise RuntimeError(f"could not download {target.name}: {'; '.join(errors)}")


def load_mnist(root="data/mnist", split: str = "train", *, image_size: int = 28, n: int | None = None,
               download: bool = False) -> ImageDataset:
    """MNIST scaled from 0..255 to [-1, 1]. image_size 28, 14 or 7 average-pools the 28x28 images;
    32, 16 or 8 first pads them with background to 32x32 (as LeNet did) and then pools."""
    if image_size not in (28, 14, 7, 32, 16, 8):
        raise ValueError(f"MNIST image_size must be one of 28, 14, 7 (pooled) or 32, 16, 8 (padded to 32, "
                         f"then pooled), got {image_size!r}.")
    check_split(split)
    image_file, label_file = MNIST_FILES[split]
    images = read_idx(find_or_download_mnist(root, image_file, download))[:n]    # (N, 28, 28) uint8
    labels = read_idx(find_or_download_mnist(root, label_file, download))[:n]    # (N,) uint8
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or labels.max(initial=0) > 9:
        raise ValueError(f"MNIST files in {root} do not match: images {images.shape}, labels {labels.shape} "
                         f"(labels must be 0..9).")
    x = torch.from_numpy(images.copy()).float().div(127.5).sub(1).unsqueeze(1)   # (N, 1, 28, 28)
    if 32 % image_size == 0:
        x = F.pad(x, (2, 2, 2, 2), value=-1.0)                                    # (N, 1, 32, 32)
    x = F.avg_pool2d(x, x.shape[-1] // image_size)                               # (N, 1, S, S)
    return ImageDataset("mnist", split, x, torch.from_numpy(labels.astype(np.int64)),
                        tuple(str(d) for d in range(10)))


# ---------------------------------------------------------------- pictures

def to_image(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] tensor (C, H, W) or (B, C, H, W) -> [0, 1] numpy (H, W, C) or (B, H, W, C) for plotting.

    A single channel is dropped, giving (H, W) or (B, H, W), which `plt.imshow(..., cmap="gray")` accepts.
    """
    check_tensor("x", x)
    if x.ndim not in (3, 4):
        raise ValueError(f"x must be (C, H, W) or (B, C, H, W), got shape {tuple(x.shape)}.")
    img = ((x.detach().float().cpu().clamp(-1, 1) + 1) / 2).movedim(-3, -1)      # (..., H, W, C)
    return (img.squeeze(-1) if img.shape[-1] == 1 else img).numpy()


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 1, pad_value: float = 0.0) -> torch.Tensor:
    """Tile (B, C, H, W) into one (C, H', W') image with `nrow` images per row (like torchvision's)."""
    check_tensor("images", images, ndim=4)
    check_positive_int("nrow", nrow)
    B = images.shape[0]
    cols = min(nrow, B)
    rows = math.ceil(B / cols)
    fill = images.new_full((rows * cols - B, *images.shape[1:]), pad_value)
    x = torch.cat([images, fill])                                                # (rows*cols, C, H, W)
    x = F.pad(x, (padding, 0, padding, 0), value=pad_value)                      # pad top and left
    x = rearrange(x, "(r c) C h w -> C (r h) (c w)", r=rows, c=cols)
    return F.pad(x, (0, padding, 0, padding), value=pad_value)                   # (C, H', W')
