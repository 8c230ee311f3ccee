"""Your own images for training: an .npz file or a folder of class folders, loaded as an `ImageDataset`.

Two layouts are read, nothing else (`python -m dit_lib.train --data PATH`):

    my_data.npz    `images`: uint8 0..255, or float in [0, 1]; shape (N, H, W) for grayscale or
                   (N, H, W, C) channel-last with C = 1 (grayscale), 3 (RGB) or 4 (RGBA) (the layout
                   of PIL, numpy and matplotlib; a torch-style (N, C, H, W) array is refused:
                   np.moveaxis(x, 1, -1)). `labels`: (N,) integers 0..K-1.  Optional
                   `class_names`: K strings (str or bytes, e.g. np.array(['cat', 'dog'])).
    my_folder/     one subfolder per class, class names = subfolder names sorted as text ("10"
                   before "2": name them "02", "10"); inside, PNG or JPEG files (.png, .jpg,
                   .jpeg in any case; hidden files such as .DS_Store are skipped), read with Pillow,
                   8-bit, turned upright by their EXIF orientation. All grayscale (modes 1, L, LA, or
                   a palette of greys) -> 1 channel, otherwise RGB (3 channels).

Transparency is composited onto black, the same way in both layouts (`ALPHA_BACKGROUND`): a pixel
with opacity a in [0, 1] becomes a x colour, so an RGBA .npz gives 3 channels and grayscale with
alpha gives 1, like the same pictures saved as PNGs.

Every image must have the same size (H and W may differ; the patch size must divide both), and
every class 0..K-1 at least `MIN_PER_CLASS` images. The
pixels are mapped to the model's range [-1, 1] (x / 127.5 - 1 for uint8, 2 x - 1 for float), so
the same pictures as an .npz or as PNGs give the same tensor and the same `content_hash`. Bad
input raises ValueError naming the file, the problem and the fix.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from .data import DATASETS, ImageDataset, load_dataset
from .latents import load_latents

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MIN_PER_CLASS = 2          # one image per class is memorised, not learnt; zero cannot be sampled
GRAYSCALE_MODES = ("1", "L", "LA")                   # 8-bit (or 1-bit) grayscale, with or without alpha
ALPHA_MODES = ("LA", "PA", "RGBA", "La", "RGBa")     # modes with an alpha channel (also: any "transparency" key)
ALPHA_BACKGROUND = "black"                           # what a transparent pixel becomes (colour x opacity)


def load_image_data(path) -> ImageDataset:
    """The images of an .npz file or of a folder of class folders (see the module docstring)."""
    p = Path(path).expanduser()
    if not p.exists():
        builtin = f" (built-in datasets go to --dataset: {', '.join(DATASETS)})" if str(path) in DATASETS else ""
        raise ValueError(f"data {str(path)!r} does not exist; pass an .npz file or a folder of class "
                         f"folders{builtin}.")
    if p.is_dir():
        return load_folder(p)
    if p.suffix.lower() != ".npz":
        raise ValueError(f"data {p} is neither an .npz file nor a folder; save your arrays with "
                         f"np.savez({p.stem!r}.npz, images=..., labels=...) or point to a folder of class folders.")
    return load_npz(p)


def load_npz(path) -> ImageDataset:
    """`images` (N, H, W) or (N, H, W, C), uint8 or float in [0, 1], with integer `labels` (N,)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {}
            for k in f.files:
                try:
                    arrays[k] = f[k]
                except ValueError as err:
                    if "allow_pickle" not in str(err):
                        raise
                    raise ValueError(f"{path}: {k} is an array of Python objects (dtype object: a list of mixed "
                                     f"types, or np.array(..., dtype=object)), which dit_lib does not unpickle; save "
                                     f"it as numbers or strings, e.g. {k}=np.array(values, dtype=str) for names.") from None
    except ValueError as err:
        if "Python objects" in str(err):
            raise
        raise ValueError(f"{path} could not be read as an .npz file ({type(err).__name__}: {err}); write it "
                         f"with np.savez(path, images=images, labels=labels).") from err
    except Exception as err:  # not a zip, truncated, ...
        raise ValueError(f"{path} could not be read as an .npz file ({type(err).__name__}: {err}); write it "
                         f"with np.savez(path, images=images, labels=labels).") from err
    for key in ("images", "labels"):
        if key not in arrays:
            raise ValueError(f"{path} has no {key!r} array (it holds {sorted(arrays)}); write it with "
                             f"np.savez(path, images=images, labels=labels).")
    x = arrays["images"]
    if x.ndim == 3:
        x = x[..., None]                                                     # (N, H, W, 1)
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"{path}: images has shape {arrays['images'].shape}; expected (N, H, W) or channel-last "
                         f"(N, H, W, C) with C = 1, 3 or 4. For a torch-style (N, C, H, W) array save "
                         f"np.moveaxis(images, 1, -1).")
    images = to_model_range(x, f"{path}: images")                             # (N, C, H, W)
    names = arrays.get("class_names")
    if names is not None and (names.ndim != 1 or names.dtype.kind not in "US"):
        raise ValueError(f"{path}: class_names must be a 1-D array of strings, got dtype {names.dtype} and "
                         f"shape {names.shape}; save class_names=np.array(['cat', 'dog', ...]) (a list of "
                         f"str, not objects: np.array(names, dtype=str)).")
    if names is not None and names.dtype.kind == "S":                   # bytes, e.g. np.array([b'cat'])
        try:
            names = np.char.decode(names, "utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: class_names are bytes that are not UTF-8 ({err}); save them as str: "
                             f"class_names=np.array(['cat', 'dog', ...]).") from err
    labels = check_labels(arrays["labels"], len(images), f"{path}", None if names is None else len(names))
    k = int(labels.max()) + 1 if names is None else len(names)
    class_names = tuple(str(s) for s in names) if names is not None else tuple(str(c) for c in range(k))
    return ImageDataset("npz", "train", images, labels, class_names)


def load_folder(root) -> ImageDataset:
    """A folder with one subfolder of PNG/JPEG images per class (class names = sorted subfolder names)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    root = Path(root)
    classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    loose = sorted(f.name for f in root.iterdir() if f.is_file() and not f.name.startswith("."))
    if not classes:
        only = f" (only files: {', '.join(loose[:3])})" if loose else ""
        raise ValueError(f"folder {root} has no class subfolders{only}; "
                         f"put the images of each class in its own subfolder, e.g. {root}/cat/001.png.")
    if loose:
        raise ValueError(f"folder {root} holds files outside the class subfolders ({', '.join(loose[:3])}); "
                         f"move each into the subfolder of its class, or out of {root}.")
    pictures, labels, first = [], [], None
    for c, folder in enumerate(classes):
        files = sorted(f for f in folder.iterdir() if not f.name.startswith("."))
        if not files:
            raise ValueError(f"class folder {folder} is empty; put at least {MIN_PER_CLASS} images in it or remove it.")
        for f in files:
            if f.is_dir() or f.suffix.lower() not in IMAGE_SUFFIXES:
                raise ValueError(f"{f} is not an image file ({', '.join(IMAGE_SUFFIXES)}); the class folders may "
                                 f"hold only images: move it out of {root}.")
            try:
                with Image.open(f) as im:
                    im.load()
                    picture = ImageOps.exif_transpose(im)          # a copy, upright as the camera meant
            except (UnidentifiedImageError, OSError) as err:
                raise ValueError(f"{f} could not be read as an image ({err}); re-save it as PNG or remove it.") from err
            if picture.mode in ("I", "I;16", "I;16B", "F"):
                raise ValueError(f"{f} has {picture.mode!r} pixels (16-bit or float); dit_lib reads 8-bit images: "
                                 f"re-save it as 8-bit, or scale all images yourself and pass an .npz of floats in [0, 1].")
            if first is None:
                first = (f, picture.size)
            elif picture.size != first[1]:
                raise ValueError(f"mixed image sizes: {f} is {picture.size[0]}x{picture.size[1]} (width x height) but "
                                 f"{first[0]} is {first[1][0]}x{first[1][1]}; resize all images to one size.")
            pictures.append(picture)
            labels.append(c)
    gray = all(is_grayscale(p) for p in pictures)
    alpha = any(p.mode in ALPHA_MODES or "transparency" in p.info for p in pictures)
    mode = ("L" if gray else "RGB") + ("A" if alpha else "")
    x = np.stack([np.asarray(p.convert(mode)) for p in pictures])      # (N, H, W[, C]) uint8
    images = to_model_range(x[..., None] if x.ndim == 3 else x, f"{root}")
    labels = check_labels(np.array(labels, dtype=np.int64), len(images), f"{root}", len(classes))
    return ImageDataset("folder", "train", images, labels, tuple(d.name for d in classes))


def is_grayscale(picture) -> bool:
    """A Pillow image in a grayscale mode, or with a palette whose colours (those it uses) are greys."""
    if picture.mode in GRAYSCALE_MODES:
        return True
    if picture.mode in ("P", "PA"):
        rgb = np.asarray(picture.convert("RGB"))
        return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
    return False


def to_model_range(x: np.ndarray, where: str) -> torch.Tensor:
    """uint8 0..255 or float [0, 1], channel-last (N, H, W, C) -> float32 (N, C, H, W) in [-1, 1].

    C = 2 (grayscale + alpha) or 4 (RGBA): the colour is composited onto black (colour x opacity),
    giving 1 or 3 channels."""
    if x.dtype == np.uint8:
        y = x.astype(np.float32) / 127.5 - 1
    elif x.dtype.kind == "f":
        if not np.isfinite(x).all() or x.min(initial=0) < 0 or x.max(initial=0) > 1:
            raise ValueError(f"{where} are float with values in [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}]; float images "
                             f"must lie in [0, 1] (from [-1, 1]: (x + 1) / 2), or pass uint8 0..255.")
        y = x.astype(np.float32) * 2 - 1
    elif x.dtype in (np.uint16, np.dtype(">u2")):
        raise ValueError(f"{where} have dtype {x.dtype} (16-bit); pass uint8 0..255, e.g. (x >> 8).astype(np.uint8), "
                         f"or float in [0, 1] (x / 65535).")
    else:
        raise ValueError(f"{where} have dtype {x.dtype}; pass uint8 0..255 (images.astype(np.uint8)) "
                         f"or float in [0, 1] (images / 255).")
    if x.shape[-1] in (2, 4):                                   # alpha last: composite onto black
        colour, opacity = (y[..., :-1] + 1) / 2, (y[..., -1:] + 1) / 2        # both in [0, 1]
        y = (colour * opacity * 2 - 1).astype(np.float32)
    if len(y) == 0:
        raise ValueError(f"{where} hold no images (shape {x.shape}); pass at least {MIN_PER_CLASS} per class.")
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(y, -1, 1)))


def check_labels(labels: np.ndarray, n: int, where: str, num_classes: int | None) -> torch.Tensor:
    """(N,) integers 0..K-1, every class with at least MIN_PER_CLASS images -> int64 tensor."""
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{where}: labels have dtype {labels.dtype}; they must be integers 0..K-1 "
                         f"(labels.astype(np.int64), or np.unique(labels, return_inverse=True)[1] for names).")
    if labels.shape != (n,):
        raise ValueError(f"{where}: labels have shape {labels.shape} but there are {n} images; "
                         f"pass one label per image, shape ({n},).")
    if num_classes is None and len(labels) and labels.min() < 0:
        raise ValueError(f"{where}: label {int(labels.min())} is negative; labels must be class indices 0..K-1 "
                         f"(np.unique(labels, return_inverse=True)[1] renumbers them).")
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    bad = labels[(labels < 0) | (labels >= k)]
    if len(bad):
        raise ValueError(f"{where}: label {int(bad[0])} is out of range; labels must be 0..{k - 1} "
                         f"({k} class_names); fix the labels or the class_names.")
    counts = np.bincount(labels.astype(np.int64), minlength=k)
    if counts.min() < MIN_PER_CLASS:
        c = int(counts.argmin())
        raise ValueError(f"{where}: too few images: class {c} has {int(counts[c])} (every class 0..{k - 1} needs "
                         f"at least {MIN_PER_CLASS}); add images, or renumber the classes you have with "
                         f"np.unique(labels, return_inverse=True)[1].")
    return torch.from_numpy(labels.astype(np.int64))


def content_hash(images: torch.Tensor, labels: torch.Tensor) -> str:
    """sha256 of the float32 images in [-1, 1] and the int64 labels: the same for the same data in any file format."""
    h = hashlib.sha256()
    h.update(str(tuple(images.shape)).encode())
    h.update(images.detach().to(torch.float32).contiguous().numpy().tobytes())
    h.update(labels.detach().to(torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()


def describe_dataset(ds: ImageDataset, path: str | None = None, options: dict | None = None) -> dict:
    """What a checkpoint records about its training data (plain types, readable with weights_only).

    kind: "npz" or "folder" (your own files, at `path` as given, and at `resolved_path`, absolute),
    "latents" (a file of `dit_lib.latents.save_latents`) or "builtin" (`name`, loaded with `options`).
    """
    kind = ds.name if ds.name in ("npz", "folder", "latents") else "builtin"
    return {"kind": kind, "name": None if kind != "builtin" else ds.name, "path": None if path is None else str(path),
            "resolved_path": None if path is None else str(Path(path).expanduser().resolve()),
            "options": dict(options or {}), "n": len(ds), "image_size": list(ds.images.shape[-2:]),
            "channels": ds.channels, "num_classes": ds.num_classes, "class_names": list(ds.class_names),
            "sha256": content_hash(ds.images, ds.labels)}


def describe_tensors(images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
    """What a checkpoint records about images handed to the `Trainer` directly (no file, no class names)."""
    return {"kind": "tensors", "name": None, "path": None, "resolved_path": None, "options": {}, "n": len(images),
            "image_size": list(images.shape[-2:]), "channels": images.shape[1], "num_classes": num_classes,
            "class_names": None, "sha256": content_hash(images, labels)}


def load_training_set(dataset: str, data=None, data_kwargs: dict | None = None) -> tuple[ImageDataset, dict]:
    """(ImageDataset, `describe_dataset` of it): your files at `data` (dataset "npz" or "folder"), a
    latents file (dataset "latents": the record adds its `scale_factor` and `source`), or the train
    split of the built-in `dataset` loaded with `data_kwargs`."""
    if dataset == "latents":                              # scaled VAE latents; their scale factor goes along
        ds, meta = load_latents(data)
        return ds, {**describe_dataset(ds, data, data_kwargs), **meta}
    if data is None:
        ds = load_dataset(dataset, split="train", **(data_kwargs or {}))
    else:
        ds = load_image_data(data)
        if ds.name != dataset:
            kind = "an .npz file" if ds.name == "npz" else "a folder"
            raise ValueError(f"data {str(data)!r} is {kind} but dataset={dataset!r}; pass dataset={ds.name!r}.")
    return ds, describe_dataset(ds, data, data_kwargs)
