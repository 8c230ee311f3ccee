"""Samplers and classifier-free guidance: from noise x_T to a sample x_0, step by step.

    p_sample / p_sample_loop        ancestral sampling (DDPM Algorithm 2)
    ddim_sample / ddim_sample_loop  DDIM (eta = 0: deterministic; eta = 1: like DDPM)
    ddim_reverse_sample(_loop)      the deterministic DDIM ODE run forwards: x_0 -> x_T
    guided_model                    classifier-free guidance around any class-conditional model
    sample                          one call for the notebooks: model + labels -> samples

Every function takes the diffusion as its first argument; `GaussianDiffusion.p_sample`
and friends forward here, so the official `diffusion.p_sample_loop(model, shape, ...)`
also works. A "model" is any callable `model(x, t, **model_kwargs)`; guidance is one such
callable built around the network, so the diffusion never knows about it.

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

from .diffusion import GaussianDiffusion, create_diffusion, extract

GUIDANCE_CHANNELS = ("all", "official")
METHODS = ("ddpm", "ddim")


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


def p_sample(diffusion: GaussianDiffusion, model, x: torch.Tensor, t: torch.Tensor, clip_denoised: bool = False,
             model_kwargs: dict | None = None, generator: torch.Generator | None = None) -> dict:
    """One ancestral step: x_{t-1} = mu_theta(x_t, t) + sigma_t z (DDPM Algorithm 2, line 4).

    Returns `sample` (x_{t-1}) and `pred_xstart` (the model's x_0), both of x's shape.
    """
    out = diffusion.p_mean_variance(model, x, t, clip_denoised=clip_denoised, model_kwargs=model_kwargs)
    noise = _randn_like(x, generator)                                # z ~ N(0, I), drawn after the model call
    sample = out["mean"] + _nonzero_mask(t, x) * torch.exp(0.5 * out["log_variance"]) * noise
    return {"sample": sample, "pred_xstart": out["pred_xstart"]}


def ddim_sample(diffusion: GaussianDiffusion, model, x: torch.Tensor, t: torch.Tensor, clip_denoised: bool = False,
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


def ddim_reverse_sample(diffusion: GaussianDiffusion, model, x: torch.Tensor, t: torch.Tensor,
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


def _sample_loop(step, diffusion: GaussianDiffusion, model, shape, noise=None, clip_denoised: bool = False,
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


def p_sample_loop(diffusion: GaussianDiffusion, model, shape, noise=None, clip_denoised: bool = False,
                  model_kwargs: dict | None = None, device=None, progress: bool = True,
                  generator: torch.Generator | None = None, return_trajectory: bool = False):
    """Ancestral sampling of a batch of `shape` (B, C, H, W); returns x_0, or (x_0, Trajectory)."""
    return _sample_loop(p_sample, diffusion, model, shape, noise, clip_denoised, model_kwargs, device,
                        progress, generator, return_trajectory)


def ddim_sample_loop(diffusion: GaussianDiffusion, model, shape, noise=None, clip_denoised: bool = False,
                     model_kwargs: dict | None = None, device=None, progress: bool = True,
                     generator: torch.Generator | None = None, return_trajectory: bool = False, eta: float = 0.0):
    """DDIM sampling of a batch of `shape` (B, C, H, W); returns x_0, or (x_0, Trajectory)."""
    return _sample_loop(ddim_sample, diffusion, model, shape, noise, clip_denoised, model_kwargs, device,
                        progress, generator, return_trajectory, eta=eta)


def ddim_reverse_sample_loop(diffusion: GaussianDiffusion, model, x_start: torch.Tensor,
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


# ----------------------------------------------------------------------------- guidance


def null_class_of(model) -> int:
    """The label index that means "no class" (DiT: num_classes, the extra row of the label table)."""
    num_classes = getattr(model, "num_classes", None)
    table = getattr(getattr(model, "y_embedder", None), "embedding_table", None)
    if num_classes is None or table is None:
        raise TypeError(f"cannot find the null class of a {type(model).__name__} (it needs `num_classes` and "
                        f"`y_embedder.embedding_table`); pass null_class=... explicitly.")
    if table.num_embeddings <= num_classes:
        raise ValueError(f"classifier-free guidance needs a null class, but this model's label table has "
                         f"{table.num_embeddings} rows for num_classes={num_classes}, so no null row (it was "
                         f"built with class_dropout_prob=0); train with class_dropout_prob > 0, "
                         f"or sample with cfg_scale=1 (no guidance).")
    return num_classes


def guided_model(model, cfg_scale: float, null_class: int | None = None, channels: str = "all"):
    """Wrap a class-conditional model into classifier-free guidance (Ho & Salimans 2022, eq. 6).

    The returned function `guided(x, t, y)` takes the plain batch (B, C, H, W) with labels y (B,),
    runs the model once on the doubled batch [x; x] with labels [y; null], and returns
        eps = eps(x, null) + cfg_scale * (eps(x, y) - eps(x, null))
    on the eps channels; the learned-variance channels come from the conditional half.
    `cfg_scale` 1 gives the conditional model, 0 the unconditional one.
    `channels="all"` guides all C eps channels; `"official"` guides only the first 3, as
    the official `forward_with_cfg` does (a leftover from RGB code; the 4th latent channel stays
    conditional). Unlike `forward_with_cfg`, x and y are not doubled by the caller.
    """
    if channels not in GUIDANCE_CHANNELS:
        raise ValueError(f"channels must be one of {GUIDANCE_CHANNELS}, got {channels!r}.")
    if isinstance(cfg_scale, bool) or not isinstance(cfg_scale, (int, float)):
        raise TypeError(f"cfg_scale must be a number (1: no guidance; DiT reports FID at 1.5 and draws its pictures at 4), got {cfg_scale!r}.")
    null = null_class_of(model) if null_class is None else null_class

    def guided(x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        C = x.shape[1]
        n = C if channels == "all" else 3
        if n > C:
            raise ValueError(f"channels='official' guides 3 channels but x has only {C}; use channels='all'.")
        y_null = torch.full_like(y, null)                                               # (B,)
        out = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, y_null]))       # (2B, C_out, H, W)
        cond, uncond = out.chunk(2)                                                     # (B, C_out, H, W) each
        eps = uncond[:, :n] + cfg_scale * (cond[:, :n] - uncond[:, :n])                 # CFG eq. 6
        return torch.cat([eps, cond[:, n:]], dim=1)                                     # (B, C_out, H, W)

    guided.model = model                  # lets the samplers find the device
    return guided


# ----------------------------------------------------------------------------- one call


def sample(model, class_labels, cfg_scale: float = 4.0, method: str = "ddpm", num_steps: int = 250,
           seed: int = 0, *, eta: float = 0.0, channels: str = "all", timestep_respacing: str | None = None,
           noise_schedule: str = "linear", diffusion_steps: int = 1000, clip_denoised: bool = False,
           progress: bool = True, return_trajectory: bool = False):
    """Sample one image (or latent) per class label; the same numbers for the same seed, every call.

    model: a DiT (anything with `in_channels`, `x_embedder.img_size`, `learn_sigma`, `num_classes`).
    method: "ddpm" (ancestral, DiT's default) or "ddim" (with `eta`).
    num_steps: the respacing is `str(num_steps)` (evenly spaced, as DiT's `sample.py`) unless
        `timestep_respacing` is given, e.g. "ddim50" for DDIM's integer striding.
    cfg_scale: 1 samples the conditional model alone (no doubled batch); otherwise see `guided_model`.
    noise_schedule, diffusion_steps: those the model was trained with (see `create_diffusion`).
    Returns (B, C, H, W) in the model's space (latents for a latent DiT: decode them with the VAE),
    or (samples, Trajectory). The model is put in eval mode while sampling, then restored.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer such as 250, got {num_steps!r}.")
    device = next(model.parameters()).device
    y = torch.as_tensor(class_labels, dtype=torch.long, device=device).reshape(-1)     # (B,)
    diffusion = create_diffusion(timestep_respacing or str(num_steps), noise_schedule=noise_schedule,
                                 learn_sigma=getattr(model, "learn_sigma", True), diffusion_steps=diffusion_steps)
    shape = (len(y), model.in_channels, *model.x_embedder.img_size)                      # (B, C, H, W)
    fn = model if cfg_scale == 1 else guided_model(model, cfg_scale, channels=channels)
    generator = torch.Generator("cpu").manual_seed(seed)     # CPU: the same noise on any device
    loop, extra = (p_sample_loop, {}) if method == "ddpm" else (ddim_sample_loop, {"eta": eta})
    was_training = model.training
    model.eval()                                             # no label dropout while sampling
    try:
        return loop(diffusion, fn, shape, clip_denoised=clip_denoised, model_kwargs={"y": y}, device=device,
                    progress=progress, generator=generator, return_trajectory=return_trajectory, **extra)
    finally:
        model.train(was_training)
