"""Noise schedules and the float64 tables every diffusion formula reads from.

A schedule is a vector of betas (beta_t, t = 0..T-1): step t adds noise of variance beta_t.
Everything else (alpha-bar, posterior coefficients, ...) is derived once, in float64, by
`diffusion_tables`, under the official attribute names. At use time a table is indexed
by a batch of timesteps and cast to float32 by `extract`, exactly as the official
`_extract_into_tensor` does.

Time is 0-based as in the official code: table index t is the paper's step t + 1.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .._checks import check_positive_int

NOISE_SCHEDULES = ("linear", "cosine", "squaredcos_cap_v2")


def linear_beta_schedule(num_timesteps: int) -> torch.Tensor:
    """DDPM's betas, linear from 1e-4 to 0.02 at T = 1000, scaled by 1000 / T for other T."""
    scale = 1000 / num_timesteps          # keeps alpha-bar_T ~ the same for any T (official)
    if scale * 0.02 > 1:
        raise ValueError(f"the linear schedule needs diffusion_steps >= 20 (its last beta is 20 / T), got "
                         f"{num_timesteps}; use more steps, or respace: create_diffusion('{num_timesteps}').")
    return torch.linspace(scale * 0.0001, scale * 0.02, num_timesteps, dtype=torch.float64)  # (T,)


def betas_for_alpha_bar(num_timesteps: int, alpha_bar: Callable[[float], float],
                        max_beta: float = 0.999) -> torch.Tensor:
    """Betas that make the cumulative product of (1 - beta) follow alpha_bar(s), s in [0, 1]."""
    betas = []
    for i in range(num_timesteps):
        s1, s2 = i / num_timesteps, (i + 1) / num_timesteps
        betas.append(min(1 - alpha_bar(s2) / alpha_bar(s1), max_beta))  # beta_t = 1 - abar_t / abar_{t-1}
    return torch.tensor(betas, dtype=torch.float64)  # (T,)


def cosine_beta_schedule(num_timesteps: int) -> torch.Tensor:
    """Nichol & Dhariwal (2021) eq. 17: alpha_bar(s) = cos^2(((s + 0.008) / 1.008) * pi / 2)."""
    return betas_for_alpha_bar(num_timesteps, lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2)


def get_named_beta_schedule(schedule_name: str, num_timesteps: int) -> torch.Tensor:
    """Betas for a schedule name; "cosine" and the official name "squaredcos_cap_v2" are the same."""
    check_positive_int("diffusion_steps", num_timesteps)
    if schedule_name == "linear":
        return linear_beta_schedule(num_timesteps)
    if schedule_name in ("cosine", "squaredcos_cap_v2"):
        return cosine_beta_schedule(num_timesteps)
    raise ValueError(f"unknown noise_schedule {schedule_name!r}; choose one of {NOISE_SCHEDULES}.")


def diffusion_tables(betas: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every table the formulas need, in float64, each of shape (T,), under the official names.

    Equation numbers are those of Ho et al. (2020), "DDPM".
    """
    betas = torch.as_tensor(betas, dtype=torch.float64)
    if betas.ndim != 1 or len(betas) == 0:
        raise ValueError(f"betas must be a non-empty 1-D tensor, got shape {tuple(betas.shape)}.")
    if not ((betas > 0) & (betas <= 1)).all():
        raise ValueError(f"betas must lie in (0, 1], got min {betas.min().item()} and max {betas.max().item()}.")
    one = betas.new_ones(1)
    alphas = 1.0 - betas                                                    # alpha_t = 1 - beta_t
    alphas_cumprod = torch.cumprod(alphas, dim=0)                           # abar_t = prod_{s<=t} alpha_s
    alphas_cumprod_prev = torch.cat([one, alphas_cumprod[:-1]])             # abar_{t-1}, with abar_{-1} = 1
    alphas_cumprod_next = torch.cat([alphas_cumprod[1:], 0 * one])          # abar_{t+1}, with abar_T = 0
    # DDPM eq. 7: q(x_{t-1} | x_t, x_0) = N(coef1 x_0 + coef2 x_t, beta-tilde_t)
    posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)  # beta-tilde_t
    # beta-tilde_0 = 0, so its log is -inf: the official code reuses beta-tilde_1 at t = 0.
    clipped = torch.cat([posterior_variance[1:2], posterior_variance[1:]]) if len(betas) > 1 else posterior_variance
    return {
        "betas": betas,
        "alphas": alphas,
        "alphas_cumprod": alphas_cumprod,
        "alphas_cumprod_prev": alphas_cumprod_prev,
        "alphas_cumprod_next": alphas_cumprod_next,
        # DDPM eq. 4: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)
        "sqrt_alphas_cumprod": torch.sqrt(alphas_cumprod),
        "sqrt_one_minus_alphas_cumprod": torch.sqrt(1.0 - alphas_cumprod),
        "log_one_minus_alphas_cumprod": torch.log(1.0 - alphas_cumprod),
        # x_0 = sqrt(1 / abar_t) x_t - sqrt(1 / abar_t - 1) eps   (eq. 4 solved for x_0)
        "sqrt_recip_alphas_cumprod": torch.sqrt(1.0 / alphas_cumprod),
        "sqrt_recipm1_alphas_cumprod": torch.sqrt(1.0 / alphas_cumprod - 1),
        "posterior_variance": posterior_variance,
        "posterior_log_variance_clipped": torch.log(clipped),
        "posterior_mean_coef1": betas * torch.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod),
        "posterior_mean_coef2": (1.0 - alphas_cumprod_prev) * torch.sqrt(alphas) / (1.0 - alphas_cumprod),
    }


def check_timesteps(t, num_timesteps: int, batch_size: int | None = None) -> None:
    """Raise a clear error unless `t` is a (B,) integer tensor with 0 <= t < num_timesteps."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be a torch.Tensor of timestep indices, got {type(t).__name__}; "
                        f"use torch.full((B,), t, dtype=torch.long).")
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"t must be an integer tensor of timestep indices, got dtype {t.dtype}; use t.long().")
    if t.ndim != 1 or (batch_size is not None and len(t) != batch_size):
        want = f"({batch_size},)" if batch_size is not None else "(B,)"
        raise ValueError(f"t must have shape {want}, one timestep per sample, got shape {tuple(t.shape)}.")
    lo, hi = torch.stack(torch.aminmax(t)).tolist() if len(t) else (0, 0)   # one device sync
    if lo < 0 or hi >= num_timesteps:
        bad = lo if lo < 0 else hi
        raise ValueError(f"timestep {bad} in t is out of range for a diffusion with {num_timesteps} steps; "
                         f"t must lie in 0..{num_timesteps - 1} (on a respaced diffusion t counts kept steps).")


def extract(table: torch.Tensor, t: torch.Tensor, x_shape) -> torch.Tensor:
    """table[t] as float32, shaped (B, 1, 1, ...) to broadcast against a tensor of shape x_shape.

    Same numbers as the official `_extract_into_tensor` (float64 index, then `.float()`).
    """
    out = table.to(t.device)[t].float()                        # (B,)
    return out.view(len(t), *([1] * (len(x_shape) - 1)))       # (B, 1, 1, 1)
