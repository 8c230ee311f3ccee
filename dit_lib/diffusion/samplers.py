"""The step and loop samplers: from noise x_T to a sample x_0, step by step.

    p_sample / p_sample_loop        ancestral sampling (DDPM Algorithm 2)
    ddim_sample / ddim_sample_loop  DDIM (eta = 0: deterministic; eta = 1: like DDPM)
    ddim_reverse_sample(_loop)      the deterministic DDIM ODE run forwards: x_0 -> x_T

Every function takes the diffusion as its first argument and uses only what the diffusion
computes (`p_mean_variance`, `predict_eps_from_xstart`, the `alphas_cumprod*` tables,
`num_timesteps`, `timestep_map`), so `diffusion` is any `GaussianDiffusion` (or `SpacedDiffusion`).
`GaussianDiffusion.p_sample` and friends call these, so the official
`diffusion.p_sample_loop(model, shape, ...)` also works; this module never imports
`gaussian_diffusion`, not even for annotations, so the dependency runs one way:
`gaussian_diffusion -> samplers -> schedules`. A "model" is any callable
`model(x, t, **model_kwargs)`; classifier-free guidance (`dit_lib.sampling.guided_model`) is one
such callable built around the network, so neither the diffusion nor the samplers know about it.

Randomness: with `generator=None` noise comes from the global RNG (`torch.randn_like`),
in the same order as the official code, so `torch.manual_seed` reproduces its numbers.
With a `torch.Generator` the noise is drawn on the generator's device and then moved,
so a CPU generator gives the same noise whatever device the model runs on.
Differences from the official samplers: `clip_denoised` defaults to False and
`progress` to True; DDIM with eta = 0 draws no noise at all.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .schedules import extract


def _randn_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    if generator is None:
        return torch.randn_like(x)                                   # global RNG, as the official code
    return torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype).to(x.device)


def _device_of(model) -> torch.device:
    """The device of a module, of the module behind a bound method (forward_with_cfg) or a guided model."""
    owner = getattr(model, "__self__", None) or getattr(model, "model", None) or model
    params = owner.parameters() if isinstance(owner, torch.nn.Module) else iter(())
    return next(params, torch.empty(0)).device                       # CPU for a plain function


def _nonzero_mask(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (t != 0).float().view(-1, *([1] * (x.ndim - 1)))          # (B, 1, 1, 1): no noise on the last step


# ----------------------------------------------------------------------------- one step


def p_sample(diffusion, model, x: torch.Tensor, t: torch.Tensor, clip_denoised: bool = False,
             model_kwargs: dict | None = None, generator: torch.Generator | None = None) -> dict:
    """One ancestral step: x_{t-1} = mu_theta(x_t, t) + sigma_t z (DDPM Algorithm 2, line 4).

    Returns `sample` (x_{t-1}) and `pred_xstart` (the model's x_0), both of x's shape.
    """
    out = diffusion.p_mean_variance(model, x, t, clip_denoised=clip_denoised, model_kwargs=model_kwargs)
    noise = _randn_like(x, generator)                                # z ~ N(0, I), drawn after the model call
    sample = out["mean"] + _nonzero_mask(t, x) * torch.exp(0.5 * out["log_variance"]) * noise
    return {"sample": sample, "pred_xstart": out["pred_xstart"]}


def ddim_sample(diffusion, model, x: torch.Tensor, t: torch.Tensor, clip_denoised: bool = False,
                model_kwargs: dict | None = None, eta: float = 0.0,
                generator: torch.Generator | None = None) -> dict:
    """One DDIM step x_t -> x_{t-1} (DDIM eq. 12), with noise sigma_t = eta * (DDPM's sigma_t) (eq. 16)."""
    if eta < 0:
        raise ValueError(f"eta must be >= 0 (0: deterministic DDIM, 1: DDPM-like), got {eta}.")
    out = diffusion.p_mean_variance(model, x, t, clip_denoised=clip_denoised, model_kwargs=model_kwargs)
    # re-derive eps from x_0 so that clipping (or an x_0-predicting model) is respected
    eps = diffusion.predict_eps_from_xstart(x, t, out["pred_xstart"])          # (B, C, H, W)
    alpha_bar = extract(diffusion.alphas_cumprod, t, x.shape)                   # abar_t
    alpha_bar_prev = extract(diffusion.alphas_cumprod_prev, t, x.shape)         # abar_{t-1}
    sigma = (eta * torch.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar))
             * torch.sqrt(1 - alpha_bar / alpha_bar_prev))                      # DDIM eq. 16
    # DDIM eq. 12: sqrt(abar_{t-1}) x_0 + sqrt(1 - abar_{t-1} - sigma^2) eps  (+ sigma z)
    sample = out["pred_xstart"] * torch.sqrt(alpha_bar_prev) + torch.sqrt(1 - alpha_bar_prev - sigma ** 2) * eps
    if eta > 0:
        sample = sample + _nonzero_mask(t, x) * sigma * _randn_like(x, generator)
    return {"sample": sample, "pred_xstart": out["pred_xstart"]}


def ddim_reverse_sample(diffusion, model, x: torch.Tensor, t: torch.Tensor,
                        clip_denoised: bool = False, model_kwargs: dict | None = None, eta: float = 0.0) -> dict:
    """One deterministic DDIM step *up* the chain, x_t -> x_{t+1} (eq. 12 with t-1 replaced by t+1)."""
    if eta != 0.0:
        raise ValueError(f"ddim_reverse_sample runs the deterministic DDIM ODE and needs eta=0, got eta={eta}.")
    out = diffusion.p_mean_variance(model, x, t, clip_denoised=clip_denoised, model_kwargs=model_kwargs)
    eps = diffusion.predict_eps_from_xstart(x, t, out["pred_xstart"])          # (B, C, H, W)
    alpha_bar_next = extract(diffusion.alphas_cumprod_next, t, x.shape)         # abar_{t+1}
    sample = out["pred_xstart"] * torch.sqrt(alpha_bar_next) + torch.sqrt(1 - alpha_bar_next) * eps
    return {"sample": sample, "pred_xstart": out["pred_xstart"]}


# ----------------------------------------------------------------------------- loops


@dataclass
class Trajectory:
    """What a sampling loop saw, on the CPU, for plots (S = number of steps taken)."""
    x_t: torch.Tensor           # (S + 1, B, C, H, W): x_T first, the final sample last
    pred_xstart: torch.Tensor   # (S, B, C, H, W): the model's x_0 at each step
    timesteps: torch.Tensor     # (S,): the original timestep of each step, e.g. 999, 995, ..., 0


def _sample_loop(step, diffusion, model, shape, noise=None, clip_denoised: bool = False,
                 model_kwargs: dict | None = None, device=None, progress: bool = True,
                 generator: torch.Generator | None = None, return_trajectory: bool = False, **step_kwargs):
    """Run `step` from t = S-1 down to 0, starting at `noise` (or fresh N(0, I) noise of `shape`)."""
    if not isinstance(shape, (tuple, list, torch.Size)):
        raise TypeError(f"shape must be a tuple such as (B, C, H, W), got {shape!r}.")
    if noise is not None and tuple(noise.shape) != tuple(shape):
        raise ValueError(f"noise has shape {tuple(noise.shape)} but shape is {tuple(shape)}; they must match.")
    if device is None:
        device = noise.device if noise is not None else _device_of(model)
    x = noise if noise is not None else _randn_like(torch.empty(shape, device=device), generator)  # x_T
    xs, x0s = ([x.cpu()] if return_trajectory else []), []
    for i in tqdm(range(diffusion.num_timesteps - 1, -1, -1), disable=not progress, desc=step.__name__):
        t = torch.full((shape[0],), i, device=device, dtype=torch.long)         # (B,)
        with torch.no_grad():
            out = step(diffusion, model, x, t, clip_denoised=clip_denoised, model_kwargs=model_kwargs,
                       generator=generator, **step_kwargs)
        x = out["sample"]                                                       # x_{t-1}
        if return_trajectory:
            xs.append(x.cpu())
            x0s.append(out["pred_xstart"].cpu())
    if not return_trajectory:
        return x
    return x, Trajectory(torch.stack(xs), torch.stack(x0s), diffusion.timestep_map.flip(0))


def p_sample_loop(diffusion, model, shape, noise=None, clip_denoised: bool = False,
                  model_kwargs: dict | None = None, device=None, progress: bool = True,
                  generator: torch.Generator | None = None, return_trajectory: bool = False):
    """Ancestral sampling of a batch of `shape` (B, C, H, W); returns x_0, or (x_0, Trajectory)."""
    return _sample_loop(p_sample, diffusion, model, shape, noise, clip_denoised, model_kwargs, device,
                        progress, generator, return_trajectory)


def ddim_sample_loop(diffusion, model, shape, noise=None, clip_denoised: bool = False,
                     model_kwargs: dict | None = None, device=None, progress: bool = True,
                     generator: torch.Generator | None = None, return_trajectory: bool = False, eta: float = 0.0):
    """DDIM sampling of a batch of `shape` (B, C, H, W); returns x_0, or (x_0, Trajectory)."""
    return _sample_loop(ddim_sample, diffusion, model, shape, noise, clip_denoised, model_kwargs, device,
                        progress, generator, return_trajectory, eta=eta)


def ddim_reverse_sample_loop(diffusion, model, x_start: torch.Tensor,
                             model_kwargs: dict | None = None, progress: bool = True) -> torch.Tensor:
    """DDIM inversion: run the deterministic ODE up the chain, from x_0 to the x_T where the samplers start.

    x_0 stands in for the state at the first kept step (abar_0 ~ 1), and S - 1 reverse steps
    t = 0, ..., S-2 bring it to the last kept step S-1, so that `ddim_sample_loop` started from
    the result comes back to x_0 up to the discretisation error. (A loop over all S steps, as one
    might write with the official `ddim_reverse_sample`, would go one step past, to abar = 0.)
    """
    x = x_start
    for i in tqdm(range(diffusion.num_timesteps - 1), disable=not progress, desc="ddim_reverse_sample"):
        t = torch.full((len(x),), i, device=x.device, dtype=torch.long)         # (B,)
        with torch.no_grad():
            x = ddim_reverse_sample(diffusion, model, x, t, model_kwargs=model_kwargs)["sample"]  # x_{t+1}
    return x


__all__ = ["p_sample", "ddim_sample", "ddim_reverse_sample", "p_sample_loop", "ddim_sample_loop",
           "ddim_reverse_sample_loop", "Trajectory"]
