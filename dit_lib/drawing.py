"""Drawing the generated datasets: signed distances of the shapes, and scenes worth compressing.

`dit_lib.data` turns these arrays into `ImageDataset`s ("shapes" and "scenes"). Everything is
numpy, seeded by the caller's generator, and anti-aliased the same way: a pixel's coverage of a
shape is clip(0.5 - signed distance, 0, 1), the signed distance in pixels from the pixel centre.
"""
from __future__ import annotations

import math

import numpy as np

SHAPES = ("square", "circle", "triangle", "cross")
PALETTE = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1), "yellow": (1, 1, 0),
           "cyan": (0, 1, 1), "magenta": (1, 0, 1), "white": (1, 1, 1)}   # RGB in [0, 1]


def shape_sdf(shape: str, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (negative inside) from offsets (dx, dy) to a shape of half-extent r.

    The image y axis points down. Every shape fits in the box |dx|, |dy| <= r.
    """
    if shape == "circle":
        return np.hypot(dx, dy) - r
    if shape == "square":                                  # half side 0.8 r, so areas stay comparable
        return np.maximum(np.abs(dx), np.abs(dy)) - 0.8 * r
    if shape == "triangle":                                # equilateral, apex up, circumradius r
        s = math.sqrt(3) / 2                               # outward edge normals: (0, 1), (+-s, -1/2)
        return np.maximum(np.maximum(dy, s * dx - dy / 2), -s * dx - dy / 2) - r / 2
    if shape == "cross":                                   # plus sign: arms of half length r, half width r/3
        ax, ay, w = np.abs(dx), np.abs(dy), r / 3
        return np.minimum(np.maximum(ax - r, ay - w), np.maximum(ax - w, ay - r))
    raise ValueError(f"unknown shape {shape!r}; known shapes are {', '.join(SHAPES)}.")


def place(rng: np.random.Generator, n: int, S: int, lo: float, hi: float):
    """Half-extents r ~ U(lo, hi) * S and centres that keep the box |dx|, |dy| <= r inside the frame."""
    r = rng.uniform(lo, hi, n) * S                                     # (N,)
    cx, cy = r + rng.uniform(0, 1, (2, n)) * (S - 2 * r)              # (N,) each
    return r, cx, cy


def coverage_of(shape: str, r, cx, cy, S: int) -> np.ndarray:
    """Anti-aliased coverage (N, S, S) in [0, 1] of one shape kind at N places."""
    grid = np.arange(S) + 0.5                                          # pixel centres
    dx = grid[None, None, :] - cx[:, None, None]                       # (N, 1, W)
    dy = grid[None, :, None] - cy[:, None, None]                       # (N, H, 1)
    return np.clip(0.5 - shape_sdf(shape, dx, dy, r[:, None, None]), 0, 1)


def draw_scenes(labels: np.ndarray, rng: np.random.Generator, S: int, shapes, colors) -> np.ndarray:
    """RGB scenes (N, 3, S, S) in [0, 1]: the labelled shape over pebbles over a gradient.

    - background: a linear blend between two dark colours (each channel U(0, 0.35)) along a
      random direction, so no two backgrounds are alike but all are smooth;
    - 0, 1 or 2 grey pebbles (circles, half-extent 0.06-0.1 S, grey level U(0.35, 0.65)),
      which carry no label: the model must draw them, the judge must ignore them;
    - the labelled shape on top (half-extent 0.2-0.35 S), its palette colour times a
      brightness U(0.75, 1).
    Class = shape_index * len(colors) + colour_index, as for "shapes".
    """
    n = len(labels)
    grid = (np.arange(S) + 0.5) / S - 0.5                              # (S,) in (-0.5, 0.5)
    angle = rng.uniform(0, 2 * math.pi, n)
    ramp = (np.cos(angle)[:, None, None] * grid[None, None, :]
            + np.sin(angle)[:, None, None] * grid[None, :, None]) / math.sqrt(2) + 0.5    # (N, S, S) in [0, 1]
    c0, c1 = rng.uniform(0, 0.35, (2, n, 3))                           # (N, 3) each
    img = c0[:, :, None, None] + (c1 - c0)[:, :, None, None] * ramp[:, None]              # (N, 3, S, S)
    n_pebbles = rng.integers(0, 3, n)                                  # (N,) 0, 1 or 2
    for k in range(2):
        r, cx, cy = place(rng, n, S, 0.06, 0.1)
        grey = rng.uniform(0.35, 0.65, n)
        cov = coverage_of("circle", r, cx, cy, S) * (n_pebbles > k)[:, None, None]         # (N, S, S)
        img = img * (1 - cov[:, None]) + grey[:, None, None, None] * cov[:, None]
    r, cx, cy = place(rng, n, S, 0.2, 0.35)
    brightness = rng.uniform(0.75, 1.0, n)
    cov = np.zeros((n, S, S))
    for i, shape in enumerate(shapes):
        m = labels // len(colors) == i
        cov[m] = coverage_of(shape, r[m], cx[m], cy[m], S)
    rgb = np.array([PALETTE[c] for c in colors], dtype=np.float64)[labels % len(colors)] * brightness[:, None]
    return img * (1 - cov[:, None]) + rgb[:, :, None, None] * cov[:, None]                # (N, 3, S, S)
