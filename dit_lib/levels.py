"""Data on a few grey levels, and the denoiser that rounds to them (chapters 6 and 7).

The scikit-learn digits take 17 evenly spaced grey levels. While the noise in x_t is well below
half a level, x_0 is read back exactly by rounding x_t / sqrt(abar_t) to the nearest level, and
with it the noise: at small t a noise-prediction error of about 0 is possible, so a large error
there belongs to the model, not to the task. (For 8-bit images a level, 2/255, is narrower than
the noise already at the first step, and rounding no longer works.)

* `grey_levels(images)`: the levels and their spacing; raises if they are not evenly spaced.
* `last_index_below_half_level(diffusion, spacing)`: the last array index t (paper step t + 1)
  up to which the noise's standard deviation sqrt(1 - abar_t) stays below half a level.
* `denoise_by_rounding(diffusion, x_t, t, levels)`: x_0 and eps read from x_t by rounding (float64).
"""
from __future__ import annotations

import torch

from ._checks import check_tensor


def grey_levels(images: torch.Tensor, tol: float = 1e-6) -> tuple[torch.Tensor, float]:
    """The distinct pixel values of `images` (sorted, (n_levels,)) and their common spacing."""
    check_tensor("images", images, floating=True)
    levels = images.unique()                                           # sorted
    if len(levels) < 2:
        raise ValueError(f"images take {len(levels)} distinct value(s); grey levels need at least 2.")
    gaps = levels.diff()
    spacing = gaps.min().item()
    if (gaps - spacing).abs().max() > tol:
        raise ValueError(f"the {len(levels)} grey levels are not evenly spaced (gaps {gaps.min():.4g} to "
                         f"{gaps.max():.4g}); rounding to a grid needs evenly spaced levels.")
    return levels, spacing


def last_index_below_half_level(diffusion, spacing: float) -> int:
    """Largest array index t with sqrt(1 - abar_s) < spacing / 2 for every s <= t (-1 if none)."""
    sd = (1 - diffusion.alphas_cumprod).sqrt()                          # (T,) rises with t
    above = torch.nonzero(sd >= spacing / 2)
    return (len(sd) if len(above) == 0 else int(above[0])) - 1


def denoise_by_rounding(diffusion, x_t: torch.Tensor, t: int, levels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, eps) from x_t at array index t: x_t / sqrt(abar_t) rounded to the nearest level, then
    eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t). Both float64, shaped like x_t."""
    check_tensor("x_t", x_t, floating=True)
    abar = diffusion.alphas_cumprod[t].double()
    lo, hi = levels[0].double(), levels[-1].double()
    spacing = levels.diff().min().double()
    x = x_t.double()
    x0 = (lo + torch.round((x / abar.sqrt() - lo) / spacing) * spacing).clamp(lo, hi)   # (B, C, H, W)
    eps = (x - abar.sqrt() * x0) / (1 - abar).sqrt()                                     # (B, C, H, W)
    return x0, eps
