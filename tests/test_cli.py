"""Your own images through the command line: .npz / folder -> `python -m dit_lib.train` -> checkpoint
that records the data truthfully -> `python -m dit_lib.sample` -> PNG grid; and every bad input refused
with a message that names the file and the fix."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dit_lib import sample as sample_cli
from dit_lib import train as train_cli
from dit_lib.checkpoint import load_checkpoint
from dit_lib.image_files import MIN_PER_CLASS, load_image_data
from dit_lib.trainer import TrainConfig, Trainer, load_training_set

NAMES = ("bars", "lines", "square")  # sorted, as a folder's class names are
TRAIN = [
    "--model",
    "DiT-Micro/2",
    "--steps",
    "12",
    "--batch-size",
    "16",
    "--log-every",
    "4",
    "--gate-every",
    "6",
    "--no-progress",
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def patterns(n=18):
    """Three classes of 8x8 uint8 pictures: vertical bars, horizontal lines, a square."""
    labels = np.arange(n) % 3
    x = np.zeros((n, 8, 8), np.uint8)
    x[labels == 0, :, ::2] = 255
    x[labels == 1, ::2, :] = 255
    x[labels == 2, 2:6, 2:6] = 200
    return x, labels


def write_folder(root: Path, x, labels, names=NAMES) -> Path:
    for i, c in enumerate(labels):
        d = root / names[c]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[i]).save(d / f"{i:03d}.png")
    return root


def hash_by_hand(x_uint8_nhw, labels) -> str:
    """sha256 of the (N, 1, H, W) float32 images x / 127.5 - 1 and the int64 labels, written out here."""
    t = x_uint8_nhw.astype(np.float32)[:, None] / np.float32(127.5) - np.float32(1)
    h = hashlib.sha256(str(tuple(t.shape)).encode())
    h.update(np.ascontiguousarray(t).tobytes())
    h.update(labels.astype(np.int64).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def npz_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("npz")
    x, labels = patterns()
    np.savez(d / "toy.npz", images=x, labels=labels, class_names=np.array(NAMES))
    train_cli.main(["--data", str(d / "toy.npz"), "--out", str(d / "toy.pt"), *TRAIN])
    return d, x, labels


def test_npz_round_trip_records_the_data_and_samples_a_grid(npz_run):
    d, x, labels = npz_run
    ckpt = load_checkpoint(d / "toy.pt")
    assert ckpt["train_config"]["dataset"] == "npz" and ckpt["train_config"]["data"] == str(d / "toy.npz")
    assert ckpt["record"]["dataset"] == {
        "kind": "npz",
        "name": None,
        "path": str(d / "toy.npz"),
        "resolved_path": str((d / "toy.npz").resolve()),
        "options": {},
        "n": 18,
        "image_size": [8, 8],
        "channels": 1,
        "num_classes": 3,
        "class_names": list(NAMES),
        "sha256": hash_by_hand(x, labels),
    }
    assert ckpt["model_config"]["input_size"] in ((8, 8), [8, 8]) and ckpt["model_config"]["num_classes"] == 3
    assert ckpt["step"] == 12

    args = ["--checkpoint", str(d / "toy.pt"), "--per-class", "3", "--steps", "4", "--zoom", "2", "--no-progress"]
    out = sample_cli.main([*args, "--out", str(d / "grid.png"), "--npz", str(d / "s.npz")])
    png = Image.open(d / "grid.png")
    assert png.mode == "L" and png.size == (2 * (3 * 9 + 1), 2 * (3 * 9 + 1))  # 3 x 3 tiles of 8 + 1 pad
    saved = np.load(d / "s.npz")
    assert saved["images"].shape == (9, 8, 8) and saved["images"].dtype == np.uint8
    assert saved["labels"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and saved["class_names"].tolist() == list(NAMES)
    grid = np.asarray(png)[::2, ::2]  # undo the zoom
    for i, img in enumerate(saved["images"]):  # row = class, column = copy
        r, c = divmod(i, 3)
        assert np.array_equal(grid[1 + 9 * r : 9 + 9 * r, 1 + 9 * c : 9 + 9 * c], img)
    torch.testing.assert_close(
        out["images"].clamp(-1, 1), torch.from_numpy(saved["images"]).float()[:, None] / 127.5 - 1, atol=0.5 / 127.5, rtol=0
    )
    again = sample_cli.main([*args, "--out", str(d / "grid2.png")])  # same seed, same images
    assert torch.equal(again["images"], out["images"])
    other = sample_cli.main([*args, "--seed", "1", "--out", str(d / "grid3.png")])
    assert not torch.equal(other["images"], out["images"])
    back = load_image_data(d / "s.npz")  # the samples train again
    assert back.num_classes == 3 and back.class_names == NAMES and len(back) == 9


def test_sample_labels_by_name_and_index(npz_run):
    d, _, _ = npz_run
    out = sample_cli.main(
        [
            "--checkpoint",
            str(d / "toy.pt"),
            "--labels",
            "square",
            "0",
            "square",
            "--steps",
            "2",
            "--out",
            str(d / "named.png"),
            "--no-progress",
        ]
    )
    assert out["labels"] == [2, 0, 2] and Image.open(d / "named.png").size == (3 * 9 + 1, 9 + 1)
    with pytest.raises(ValueError, match=r"label 'cat' is neither a class index 0\.\.2 nor a class name .*bars"):
        sample_cli.main(["--checkpoint", str(d / "toy.pt"), "--labels", "cat", "--out", str(d / "x.png")])


def test_folder_round_trip_through_the_real_commands(tmp_path):
    x, labels = patterns()
    order = np.lexsort((np.arange(len(labels)), labels))  # the folder reads class by class, files sorted
    root = write_folder(tmp_path / "pics", x, labels)
    ds = load_image_data(root)
    np.savez(tmp_path / "same.npz", images=x[order], labels=labels[order])
    assert ds.class_names == NAMES and ds.labels.tolist() == labels[order].tolist()
    assert torch.equal(ds.images, load_image_data(tmp_path / "same.npz").images)  # PNG and npz: one tensor
    run = [sys.executable, "-m", "dit_lib.train", "--data", str(root), "--out", str(tmp_path / "f.pt"), *TRAIN]
    subprocess.run(run, check=True, env=ENV, capture_output=True)
    rec = load_checkpoint(tmp_path / "f.pt")["record"]["dataset"]
    assert rec["kind"] == "folder" and rec["path"] == str(root) and rec["class_names"] == list(NAMES)
    assert rec["resolved_path"] == str(root.resolve())
    assert rec["n"] == 18 and rec["sha256"] == hash_by_hand(x[order], labels[order])
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "dit_lib.sample",
            "--checkpoint",
            str(tmp_path / "f.pt"),
            "--labels",
            "0",
            "1",
            "2",
            "1",
            "--nrow",
            "2",
            "--steps",
            "3",
            "--out",
            str(tmp_path / "g.png"),
            "--no-progress",
        ],
        check=True,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert "sampled 4 images" in res.stdout and Image.open(tmp_path / "g.png").size == (2 * 9 + 1, 2 * 9 + 1)


def test_rgb_folder_and_channel_last_npz(tmp_path):
    x, labels = patterns(6)
    rgb = np.stack([x, x // 2, np.zeros_like(x)], axis=-1)  # (N, 8, 8, 3)
    for i, c in enumerate(labels):
        (tmp_path / "pics" / NAMES[c]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb[i]).save(tmp_path / "pics" / NAMES[c] / f"{i}.png")
    ds = load_image_data(tmp_path / "pics")
    assert ds.images.shape == (6, 3, 8, 8) and ds.channels == 3
    np.savez(tmp_path / "f.npz", images=rgb.astype(np.float64) / 255, labels=labels)  # float in [0, 1]
    f = load_image_data(tmp_path / "f.npz")
    assert f.images.shape == (6, 3, 8, 8) and f.class_names == ("0", "1", "2")
    torch.testing.assert_close(f.images[0, 1], torch.from_numpy(x[0] // 2).float() / 127.5 - 1)


def test_wide_images_train_and_sample(tmp_path):
    x, labels = patterns(6)
    np.savez(tmp_path / "wide.npz", images=np.concatenate([x, x[:, :4]], axis=1).transpose(0, 2, 1), labels=labels)
    train_cli.main(
        [
            "--data",
            str(tmp_path / "wide.npz"),
            "--out",
            str(tmp_path / "w.pt"),
            *TRAIN[:2],
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--no-progress",
        ]
    )
    out = sample_cli.main(
        [
            "--checkpoint",
            str(tmp_path / "w.pt"),
            "--per-class",
            "1",
            "--steps",
            "2",
            "--out",
            str(tmp_path / "w.png"),
            "--no-progress",
        ]
    )
    assert out["images"].shape == (3, 1, 8, 12) and Image.open(tmp_path / "w.png").size == (13 + 1, 3 * 9 + 1)  # a row per class


def test_sixteen_bit_png_is_refused(tmp_path):
    x, labels = patterns(6)
    root = write_folder(tmp_path / "p", x, labels)
    Image.fromarray(x[0].astype(np.uint16) * 256).save(root / "bars" / "deep.png")
    with pytest.raises(ValueError, match=rf"{root}/bars/deep\.png has 'I;16' pixels \(16-bit or float\); .*re-save it as 8-bit"):
        load_image_data(root)


def test_builtin_datasets_still_work_and_are_recorded(tmp_path):
    cfg, _ = train_cli.parse_args(["--dataset", "digits", "--out", "x.pt"])
    assert cfg.dataset == "digits" and cfg.data is None
    ds, info = load_training_set(cfg)
    assert info["kind"] == "builtin" and info["name"] == "digits" and info["n"] == len(ds) == 1438
    assert info["class_names"] == [str(d) for d in range(10)] and info["image_size"] == [8, 8]


def test_config_and_cli_refuse_mixed_sources(capsys):
    with pytest.raises(ValueError, match="dataset='npz' / 'folder' / 'latents' with data=<path>"):
        TrainConfig(dataset="npz")
    with pytest.raises(ValueError, match="dataset='digits' with data='x.npz'"):
        TrainConfig(data="x.npz")
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--dataset", "digits", "--data", "x.npz", "--out", "x.pt"])
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--data", "x.npz", "--image-size", "16", "--out", "x.pt"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_help_shows_no_default_on_flags(capsys):
    for cli in (train_cli, sample_cli):
        with pytest.raises(SystemExit):
            cli.parse_args(["--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--no-progress no progress bar --" in text or text.endswith("no progress bar")
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "fixed variance, MSE loss only --sample-at" in text and "(default: True)" not in text
    assert "--steps STEPS training steps in all (default: 2000)" in text


def test_resume_on_other_data_is_refused(npz_run, tmp_path):
    d, x, labels = npz_run
    np.savez(tmp_path / "other.npz", images=255 - x, labels=labels)
    cfg = TrainConfig(dataset="npz", data=str(tmp_path / "other.npz"), model="DiT-Micro/2", batch_size=16)
    ds, info = load_training_set(cfg)
    tr = Trainer(cfg, ds.images, ds.labels, ds.num_classes, data_info=info)
    with pytest.raises(ValueError, match=r"was trained on other data .*toy\.npz.* than npz .*other\.npz"):
        tr.load(d / "toy.pt")


# ------------------------------------------------------------------------- bad input


def bad_npz(tmp_path, **arrays):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(images=np.zeros((6, 8, 8), np.uint8)), r"has no 'labels' array .*np\.savez\(path, images=images, labels=labels\)"),
        (dict(labels=np.zeros(6, np.int64)), r"has no 'images' array"),
        (
            dict(images=np.zeros((6, 8, 8), np.uint8), labels=np.array([0, 1, 2, 0, 1, 3]), class_names=np.array(NAMES)),
            r"label 3 is out of range; labels must be 0\.\.2 \(3 class_names\)",
        ),
        (
            dict(images=np.zeros((6, 8, 8), np.uint8), labels=np.array([0, 1, 2, 0, 1, -1])),
            r"label -1 is negative; labels must be class indices 0\.\.K-1",
        ),
        (
            dict(images=np.zeros((6, 8, 8), np.uint8), labels=np.array([0, 1, 2, 0, 1, -1]), class_names=np.array(NAMES)),
            r"label -1 is out of range; labels must be 0\.\.2 \(3 class_names\)",
        ),
        (dict(images=np.zeros((6, 8, 8, 2), np.uint8), labels=np.arange(6) % 3), r"\(N, H, W, C\) with C = 1, 3 or 4"),
        (
            dict(images=np.zeros((6, 8, 8), np.uint16), labels=np.arange(6) % 3),
            r"dtype uint16 \(16-bit\); pass uint8 0\.\.255, e\.g\. \(x >> 8\)\.astype\(np\.uint8\)",
        ),
        (
            dict(
                images=np.zeros((6, 8, 8), np.uint8), labels=np.arange(6) % 3, class_names=np.array(["a", 1, 2.0], dtype=object)
            ),
            r"class_names is an array of Python objects .*np\.array\(values, dtype=str\)",
        ),
        (
            dict(images=np.zeros((6, 8, 8), np.uint8), labels=np.array([0.0, 1, 2, 0, 1, 2])),
            r"labels have dtype float64; they must be integers 0\.\.K-1 \(labels\.astype\(np\.int64\)",
        ),
        (
            dict(images=np.zeros((6, 8, 8), np.uint8), labels=np.array([0, 1, 2, 0, 1])),
            r"labels have shape \(5,\) but there are 6",
        ),
        (
            dict(images=np.zeros((6, 8, 8), np.uint8), labels=np.array([0, 0, 0, 2, 2, 2])),
            r"too few images: class 1 has 0 .*at least 2.*np\.unique\(labels, return_inverse=True\)",
        ),
        (dict(images=np.zeros((5, 8, 8), np.uint8), labels=np.array([0, 0, 1, 1, 2])), r"too few images: class 2 has 1"),
        (
            dict(images=np.zeros((6, 8, 8), np.int64), labels=np.arange(6) % 3),
            r"images have dtype int64; pass uint8 0\.\.255 \(images\.astype\(np\.uint8\)\)",
        ),
        (
            dict(images=np.full((6, 8, 8), 2.0), labels=np.arange(6) % 3),
            r"must lie in \[0, 1\] \(from \[-1, 1\]: \(x \+ 1\) / 2\)",
        ),
        (dict(images=np.zeros((6, 3, 8, 8), np.uint8), labels=np.arange(6) % 3), r"np\.moveaxis\(images, 1, -1\)"),
        (dict(images=np.zeros((0, 8, 8), np.uint8), labels=np.zeros(0, np.int64)), r"hold no images"),
    ],
)
def test_bad_npz_names_the_file_and_the_fix(tmp_path, arrays, message):
    path = bad_npz(tmp_path, **arrays)
    with pytest.raises(ValueError, match=message) as err:
        load_image_data(path)
    assert str(path) in str(err.value)


def test_bad_paths(tmp_path):
    with pytest.raises(ValueError, match=r"'nowhere\.npz' does not exist; pass an \.npz file or a folder"):
        load_image_data("nowhere.npz")
    with pytest.raises(ValueError, match=r"built-in datasets go to --dataset"):
        load_image_data("digits")
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"x\.csv is neither an \.npz file nor a folder"):
        load_image_data(tmp_path / "x.csv")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz could not be read as an \.npz file"):
        load_image_data(tmp_path / "junk.npz")


def test_bad_folders_name_the_file_and_the_fix(tmp_path):
    x, labels = patterns(6)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=rf"folder {empty} has no class subfolders; put the images of each class"):
        load_image_data(empty)
    root = write_folder(tmp_path / "a", x, labels)
    (root / "lines" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=rf"{root}/lines/notes\.txt is not an image file .*move it out"):
        load_image_data(root)
    root = write_folder(tmp_path / "b", x, labels)
    (root / "bars" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=rf"{root}/bars/broken\.png could not be read as an image"):
        load_image_data(root)
    root = write_folder(tmp_path / "c", x, labels)
    Image.fromarray(np.zeros((10, 8), np.uint8)).save(root / "square" / "zz.png")
    with pytest.raises(ValueError, match=rf"mixed image sizes: {root}/square/zz\.png is 8x10 .*resize all images"):
        load_image_data(root)
    root = write_folder(tmp_path / "d", x, labels)
    (root / "dog").mkdir()
    with pytest.raises(ValueError, match=rf"class folder {root}/dog is empty; put at least {MIN_PER_CLASS} images"):
        load_image_data(root)
    root = write_folder(tmp_path / "e", x[:5], labels[:5])  # class 'square' has one image
    with pytest.raises(ValueError, match=rf"{root}: too few images: class 2 has 1"):
        load_image_data(root)
    root = write_folder(tmp_path / "f", x, labels)
    Image.fromarray(x[0]).save(root / "stray.png")
    with pytest.raises(ValueError, match=rf"folder {root} holds files outside the class subfolders \(stray\.png\)"):
        load_image_data(root)


def test_the_command_prints_the_error_without_a_traceback(tmp_path):
    path = bad_npz(tmp_path, images=np.zeros((6, 8, 8), np.uint8))
    res = subprocess.run(
        [sys.executable, "-m", "dit_lib.train", "--data", str(path), "--out", str(tmp_path / "x.pt")],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith(f"error: {path} has no 'labels' array")


# ------------------------------------------------------------------------- formats: alpha, palettes, EXIF, names


def rgba_pictures(n=6, seed=0):
    """(N, 8, 8, 4) uint8 RGBA pictures with every opacity from clear to opaque, labels 0..2."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 8, 8, 4), dtype=np.uint8)
    x[:, 0, 0, 3], x[:, 0, 1, 3] = 0, 255
    return x, np.arange(n) % 3


def test_alpha_is_composited_onto_black_the_same_way_as_npz_and_as_pngs(tmp_path):
    from dit_lib.image_files import content_hash

    x, labels = rgba_pictures()
    order = np.lexsort((np.arange(len(labels)), labels))
    for i, c in enumerate(labels):
        (tmp_path / "rgba" / NAMES[c]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[i], mode="RGBA").save(tmp_path / "rgba" / NAMES[c] / f"{i}.png")
    folder = load_image_data(tmp_path / "rgba")
    np.savez(tmp_path / "rgba.npz", images=x[order], labels=labels[order])
    npz = load_image_data(tmp_path / "rgba.npz")
    by_hand = (x[order, ..., :3] / 255.0) * (x[order, ..., 3:] / 255.0) * 2 - 1  # colour x opacity, onto black
    assert folder.images.shape == npz.images.shape == (6, 3, 8, 8)
    assert torch.equal(folder.images, npz.images)
    assert content_hash(folder.images, folder.labels) == content_hash(npz.images, npz.labels)
    torch.testing.assert_close(npz.images, torch.from_numpy(by_hand).float().permute(0, 3, 1, 2))
    assert (npz.images[:, :, 0, 0] == -1).all()  # fully clear: black
    # grayscale with alpha ("LA") gives one channel, composited the same way
    for i, c in enumerate(labels):
        (tmp_path / "la" / NAMES[c]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[i, ..., [0, 3]].transpose(1, 2, 0).copy(), mode="LA").save(tmp_path / "la" / NAMES[c] / f"{i}.png")
    la = load_image_data(tmp_path / "la")
    assert la.images.shape == (6, 1, 8, 8)
    torch.testing.assert_close(la.images[:, 0], torch.from_numpy(by_hand[..., 0]).float())


def test_palette_pngs_give_one_channel_for_greys_and_three_for_colours(tmp_path):
    x, labels = patterns(6)
    rgb = np.stack([x, x // 2, np.zeros_like(x)], axis=-1)
    for name, pictures in (("grey", x), ("colour", rgb)):
        for i, c in enumerate(labels):
            (tmp_path / name / NAMES[c]).mkdir(parents=True, exist_ok=True)
            picture = Image.fromarray(pictures[i]).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)
            picture.save(tmp_path / name / NAMES[c] / f"{i}.png")
    assert Image.open(tmp_path / "grey" / NAMES[0] / "0.png").mode == "P"
    for name, pictures in (("grey", x), ("colour", rgb)):
        write = tmp_path / f"plain-{name}"
        for i, c in enumerate(labels):
            (write / NAMES[c]).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pictures[i]).save(write / NAMES[c] / f"{i}.png")
        palette, plain = load_image_data(tmp_path / name), load_image_data(write)
        assert palette.channels == plain.channels == (1 if name == "grey" else 3)
        assert torch.equal(palette.images, plain.images)


def test_exif_orientation_is_applied(tmp_path):
    x, labels = patterns(6)
    tall = np.concatenate([x, x[:, :2]], axis=1)  # (6, 10, 8)
    for i, c in enumerate(labels):
        (tmp_path / "p" / NAMES[c]).mkdir(parents=True, exist_ok=True)
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
        Image.fromarray(tall[i]).save(tmp_path / "p" / NAMES[c] / f"{i}.png", exif=exif)
    ds = load_image_data(tmp_path / "p")
    order = np.lexsort((np.arange(len(labels)), labels))
    upright = np.rot90(tall[order], k=-1, axes=(1, 2))  # clockwise: (6, 8, 10)
    assert ds.images.shape == (6, 1, 8, 10)
    torch.testing.assert_close(ds.images[:, 0], torch.from_numpy(upright.copy()).float() / 127.5 - 1)


def test_npz_names_as_bytes_and_an_upper_case_suffix(tmp_path):
    x, labels = patterns(6)
    np.savez(tmp_path / "b.npz", images=x, labels=labels, class_names=np.array([b"bars", b"lines", b"square"]))
    (tmp_path / "b.npz").rename(tmp_path / "B.NPZ")
    assert load_image_data(tmp_path / "B.NPZ").class_names == NAMES


def test_data_kind_mismatch_reads_well(tmp_path):
    from dit_lib.image_files import load_training_set as load_files  # the trainer's load_training_set calls it

    root = write_folder(tmp_path / "p", *patterns(6))
    with pytest.raises(ValueError, match=rf"data '{root}' is a folder but dataset='npz'; pass dataset='folder'"):
        load_files("npz", root)


# ------------------------------------------------------------------------- the sample command


def test_shipped_checkpoints_know_their_class_names(tmp_path):
    from dit_lib.data import shapes_class_names
    from dit_lib.pretrained import checkpoint_path

    assert sample_cli.class_names_of(load_checkpoint(checkpoint_path("digits"))) == [str(d) for d in range(10)]
    shapes = list(shapes_class_names())
    assert sample_cli.class_names_of(load_checkpoint(checkpoint_path("shapes"))) == shapes and "red circle" in shapes
    out = sample_cli.main(
        [
            "--checkpoint",
            "shapes",
            "--labels",
            "red circle",
            "red circle",
            "--steps",
            "2",
            "--out",
            str(tmp_path / "s.png"),
            "--npz",
            str(tmp_path / "s.npz"),
            "--no-progress",
        ]
    )
    assert out["labels"] == [shapes.index("red circle")] * 2
    assert np.load(tmp_path / "s.npz")["class_names"].tolist() == ["red circle"]


def test_labels_names_win_over_indices():
    assert sample_cli.parse_labels(["1", "0", "b"], ["1", "0", "b"]) == [0, 1, 2]  # "1" is the class named "1"
    assert sample_cli.parse_labels(["2"], ["a", "b", "c"]) == [2]


def test_npz_of_a_label_subset_reads_back_as_training_data(npz_run):
    d, _, _ = npz_run
    out = sample_cli.main(
        [
            "--checkpoint",
            str(d / "toy.pt"),
            "--labels",
            "square",
            "bars",
            "square",
            "bars",
            "--steps",
            "2",
            "--out",
            str(d / "sub.png"),
            "--npz",
            str(d / "sub.npz"),
            "--no-progress",
        ]
    )
    back = load_image_data(d / "sub.npz")  # what --data reads
    assert back.class_names == ("bars", "square") and back.labels.tolist() == [1, 0, 1, 0]
    assert out["labels"] == [2, 0, 2, 0]
    torch.testing.assert_close(back.images, ((out["images"].clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1)


def test_sample_errors_name_the_flag(npz_run, tmp_path, capsys):
    d, _, _ = npz_run
    with pytest.raises(SystemExit, match=r"--steps must be <= the checkpoint's diffusion steps \(1000\), got 2000"):
        sample_cli.main(["--checkpoint", str(d / "toy.pt"), "--steps", "2000", "--out", str(tmp_path / "x.png")])
    x, labels = patterns(6)
    np.savez(tmp_path / "t.npz", images=x, labels=labels)
    train_cli.main(
        [
            "--data",
            str(tmp_path / "t.npz"),
            "--out",
            str(tmp_path / "nonull.pt"),
            *TRAIN[:2],
            "--steps",
            "1",
            "--batch-size",
            "4",
            "--class-dropout-prob",
            "0",
            "--no-progress",
        ]
    )
    with pytest.raises(SystemExit, match=r"--cfg-scale 4 needs a null class, .*\(--class-dropout-prob 0\): use --cfg-scale 1"):
        sample_cli.main(
            [
                "--checkpoint",
                str(tmp_path / "nonull.pt"),
                "--cfg-scale",
                "4",
                "--steps",
                "2",
                "--out",
                str(tmp_path / "x.png"),
                "--no-progress",
            ]
        )
    out = sample_cli.main(
        [
            "--checkpoint",
            str(tmp_path / "nonull.pt"),
            "--per-class",
            "1",
            "--steps",
            "2",
            "--out",
            str(tmp_path / "x.png"),
            "--no-progress",
        ]
    )
    assert out["cfg_scale"] == 1 and "cfg 1," in capsys.readouterr().out  # no null class: no guidance
    assert (
        sample_cli.main(
            [
                "--checkpoint",
                str(d / "toy.pt"),
                "--per-class",
                "1",
                "--steps",
                "2",
                "--out",
                str(tmp_path / "y.png"),
                "--no-progress",
            ]
        )["cfg_scale"]
        == 4
    )


def test_train_names_the_model_when_its_patches_do_not_tile(tmp_path):
    x, labels = patterns(6)
    np.savez(tmp_path / "odd.npz", images=np.concatenate([x, x[:, :2]], axis=1), labels=labels)  # 10 x 8
    with pytest.raises(
        ValueError,
        match=r"--model DiT-Micro/4 cuts 4x4 patches, which do not tile the 10x8 images; "
        r"pass a --model whose patch divides both, e.g\. --model DiT-Micro/2",
    ):
        train_cli.main(
            [
                "--data",
                str(tmp_path / "odd.npz"),
                "--out",
                str(tmp_path / "x.pt"),
                "--model",
                "DiT-Micro/4",
                "--steps",
                "1",
                "--no-progress",
            ]
        )
