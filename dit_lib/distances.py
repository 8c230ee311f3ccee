"""Distances between sets of samples: the Fréchet distance between Gaussians fitted to two feature
sets (the formula of FID), and how much the items of one class differ from each other.

Plain numbers on arrays: `dit_lib.evaluation` applies them to the judge's features.
"""
from __future__ import annotations

import numpy as np
import torch

from ._checks import check_tensor


# ---------------------------------------------------------------- Fréchet distance

def gaussian_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of features (N, F), in float64; needs N > F samples."""
    feats = np.asarray(feats.detach().cpu() if isinstance(feats, torch.Tensor) else feats, dtype=np.float64)
    if feats.ndim != 2:
        raise ValueError(f"features must be a 2-D array (N, F), got shape {feats.shape}.")
    N, Fdim = feats.shape
    if N < 2 or N <= Fdim:
        raise ValueError(f"got {N} samples of {Fdim} features, too few for a full-rank covariance; "
                         f"use at least {max(Fdim + 1, 2)} samples (or fewer features).")
    return feats.mean(0), np.cov(feats, rowvar=False)


def frechet_distance_gaussians(mu_a, cov_a, mu_b, cov_b) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the FD of two Gaussians.

    Tr (S_a S_b)^(1/2) is the sum of square roots of the eigenvalues of S_a S_b, which equal
    those of the symmetric PSD matrix S_a^(1/2) S_b S_a^(1/2). Using `eigh` on that matrix keeps
    everything real: no complex parts from `scipy.linalg.sqrtm` to discard, and no scipy needed.
    """
    mu_a, mu_b, cov_a, cov_b = (np.asarray(a, dtype=np.float64) for a in (mu_a, mu_b, cov_a, cov_b))
    if mu_a.shape != mu_b.shape or cov_a.shape != cov_b.shape or cov_a.shape != mu_a.shape * 2:
        raise ValueError(f"feature dimensions do not match: mu {mu_a.shape} vs {mu_b.shape}, "
                         f"cov {cov_a.shape} vs {cov_b.shape}; compare features from the same judge.")
    w, V = np.linalg.eigh(cov_a)
    sqrt_a = (V * np.sqrt(np.clip(w, 0, None))) @ V.T                          # S_a^(1/2)
    middle = sqrt_a @ cov_b @ sqrt_a                                            # S_a^(1/2) S_b S_a^(1/2)
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    fd = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_sqrt
    return float(max(fd, 0.0))                                                  # rounding can give -1e-13


def frechet_distance(feats_a, feats_b) -> float:
    """FD between the Gaussians fitted to two feature sets (N_a, F) and (N_b, F)."""
    fa, fb = np.shape(feats_a), np.shape(feats_b)
    if len(fa) == 2 and len(fb) == 2 and fa[1] != fb[1]:
        raise ValueError(f"feature dimensions do not match: {fa} vs {fb}; compare features from the same judge.")
    return frechet_distance_gaussians(*gaussian_stats(feats_a), *gaussian_stats(feats_b))


# ---------------------------------------------------------------- diversity within a class

def _per_class(x, labels):
    """Flatten x (N, ...) to (N, F) float64 and yield the rows of each class (at least 2 per class)."""
    check_tensor("labels", labels, ndim=1, floating=False)
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or len(x) != len(labels):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor (N, ...) with one row per label ({len(labels)}), got {shape}.")
    flat = x.detach().cpu().double().flatten(1)                                  # (N, F)
    for c in labels.unique().tolist():
        rows = flat[labels.cpu() == c]
        if len(rows) < 2:
            raise ValueError(f"class {c} has {len(rows)} item; within-class measures need at least 2 per class.")
        yield rows


def within_class_distance(x: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean Euclidean distance between two different items (images or feature vectors) of the same
    class, averaged over the classes: how much the samples of a class differ from each other.

    It averages over all pairs, so its expected value does not depend on how many items a class
    has: 10 samples per class and every real image of the class can be compared directly.
    """
    means = []
    for rows in _per_class(x, labels):
        n = len(rows)
        means.append(torch.cdist(rows, rows).sum().item() / (n * (n - 1)))      # the diagonal is 0
    return float(np.mean(means))


def within_class_variance(x: torch.Tensor, labels: torch.Tensor) -> float:
    """Total variance (trace of the unbiased covariance) of the items of each class, averaged over
    the classes; for judge features, the spread that the Fréchet distance sees inside each class."""
    return float(np.mean([rows.var(0, correction=1).sum().item() for rows in _per_class(x, labels)]))


# ---------------------------------------------------------------- how large the drawn shapes are

def lit_pixels(x: torch.Tensor) -> torch.Tensor:
    """(B,) pixels per image (B, C, H, W) in [-1, 1] whose brightest channel is above 0: the area of
    a shape drawn on a black (-1) background. Chapter 10 uses it to show guidance growing the shapes."""
    check_tensor("x", x, ndim=4, floating=True)
    return (x.max(dim=1).values > 0).float().sum(dim=(1, 2))
