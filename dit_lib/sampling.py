"""Classifier-free guidance and the one-call sampler: from a model and class labels to samples.

    guided_model                    classifier-free guidance around any class-conditional model
    null_class_of                   the label index that means "no class"
    sample                          one call for the notebooks: model + labels -> samples

The step and loop samplers (`p_sample`, `p_sample_loop`, `ddim_sample`, `ddim_sample_loop`,
`ddim_reverse_sample`, `ddim_reverse_sample_loop`, `Trajectory`) live one layer down, beside
`GaussianDiffusion`, in `dit_lib.diffusion.samplers`; they are imported here too, so
`from dit_lib.sampling import p_sample_loop` works. A guided model is one more callable
`model(x, t, **model_kwargs)`, so the diffusion and the samplers never know about guidance.
Layers (see `dit_lib/__init__.py`): this module imports the diffusion, never the other way.
"""
from __future__ import annotations

import torch

from ._checks import check_positive_int
from .diffusion import create_diffusion
from .diffusion.samplers import (Trajectory, ddim_reverse_sample, ddim_reverse_sample_loop, ddim_sample,
                                 ddim_sample_loop, p_sample, p_sample_loop)

GUIDANCE_CHANNELS = ("all", "official")
METHODS = ("ddpm", "ddim")

__all__ = ["guided_model", "null_class_of", "sample", "check_interval", "GUIDANCE_CHANNELS", "METHODS",
           # re-exported from dit_lib.diffusion.samplers
           "p_sample", "ddim_sample", "ddim_reverse_sample", "p_sample_loop", "ddim_sample_loop",
           "ddim_reverse_sample_loop", "Trajectory"]


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


def check_interval(interval) -> tuple[float, float]:
    """(lo, hi) of a guidance interval in timesteps; None means every timestep."""
    if interval is None:
        return -float("inf"), float("inf")
    if (not isinstance(interval, (tuple, list)) or len(interval) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in interval)
            or interval[0] > interval[1] or interval[0] < 0):
        raise ValueError(f"interval must be a pair (lo, hi) of timesteps with 0 <= lo <= hi, e.g. (0, 500) to "
                         f"guide only the low-noise half of T = 1000 steps; got {interval!r}.")
    return float(interval[0]), float(interval[1])


def guided_model(model, cfg_scale: float, null_class: int | None = None, channels: str = "all",
                 interval: tuple[int, int] | None = None):
    """Wrap a class-conditional model into classifier-free guidance (Ho & Salimans 2022, eq. 6).

    The returned function `guided(x, t, y)` takes the plain batch (B, C, H, W) with labels y (B,),
    runs the model once on the doubled batch [x; x] with labels [y; null], and returns
        eps = eps(x, null) + cfg_scale * (eps(x, y) - eps(x, null))
    on the eps channels; the learned-variance channels come from the conditional half.
    `cfg_scale` 1 gives the conditional model, 0 the unconditional one.
    `channels="all"` guides all C eps channels; `"official"` guides only the first 3, as
    the official `forward_with_cfg` does (unintended and kept for reproducibility, most likely
    carried over from GLIDE's RGB code; the 4th latent channel stays conditional). Unlike
    `forward_with_cfg`, x and y are not doubled by the caller.
    `interval=(lo, hi)` guides only where the timestep t (the original one, 0..T-1, as the samplers
    pass it) has lo <= t <= hi, and returns the conditional model's output elsewhere (one plain
    batch, half the work): guidance in a limited interval (Kynkaanniemi et al. 2024).
    """
    if channels not in GUIDANCE_CHANNELS:
        raise ValueError(f"channels must be one of {GUIDANCE_CHANNELS}, got {channels!r}.")
    if isinstance(cfg_scale, bool) or not isinstance(cfg_scale, (int, float)):
        raise TypeError(f"cfg_scale must be a number (1: no guidance; DiT reports FID at 1.5 and draws its pictures "
                        f"at 4), got {cfg_scale!r}.")
    null = null_class_of(model) if null_class is None else null_class
    lo, hi = check_interval(interval)

    def guided(x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        inside = (t >= lo) & (t <= hi)                                                  # (B,) guide here
        if not bool(inside.any()):
            return model(x, t, y)                                                       # conditional only
        C = x.shape[1]
        n = C if channels == "all" else 3
        if n > C:
            raise ValueError(f"channels='official' guides 3 channels but x has only {C}; use channels='all'.")
        y_null = torch.full_like(y, null)                                               # (B,)
        out = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, y_null]))       # (2B, C_out, H, W)
        cond, uncond = out.chunk(2)                                                     # (B, C_out, H, W) each
        eps = uncond[:, :n] + cfg_scale * (cond[:, :n] - uncond[:, :n])                 # CFG eq. 6
        out = torch.cat([eps, cond[:, n:]], dim=1)                                      # (B, C_out, H, W)
        return out if bool(inside.all()) else torch.where(inside.view(-1, 1, 1, 1), out, cond)

    guided.model = model                  # lets the samplers find the device
    return guided


# ----------------------------------------------------------------------------- one call


def sample(model, class_labels, cfg_scale: float = 4.0, method: str = "ddpm", num_steps: int = 250,
           seed: int = 0, *, eta: float = 0.0, channels: str = "all", timestep_respacing: str | None = None,
           noise_schedule: str = "linear", diffusion_steps: int = 1000, clip_denoised: bool = False,
           guidance_interval: tuple[int, int] | None = None, progress: bool = True,
           return_trajectory: bool = False):
    """Sample one image (or latent) per class label; the same numbers for the same seed, every call.

    model: a DiT (anything with `in_channels`, `x_embedder.img_size`, `learn_sigma`, `num_classes`).
    method: "ddpm" (ancestral, DiT's default) or "ddim" (with `eta`).
    num_steps: the respacing is `str(num_steps)` (evenly spaced, as DiT's `sample.py`) unless
        `timestep_respacing` is given, e.g. "ddim50" for DDIM's integer striding.
    cfg_scale: 1 samples the conditional model alone (no doubled batch); otherwise see `guided_model`.
    guidance_interval: (lo, hi), guide only at original timesteps lo <= t <= hi (see `guided_model`).
    clip_denoised: clamp the predicted x_0 to [-1, 1] at every step (pixel models only: latents are
        not in [-1, 1]; the official sample.py passes False).
    noise_schedule, diffusion_steps: those the model was trained with (see `create_diffusion`).
    Returns (B, C, H, W) in the model's space (latents for a latent DiT: decode them with the VAE),
    or (samples, Trajectory). The model is put in eval mode while sampling, then restored.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    check_positive_int("num_steps", num_steps, example="250")
    device = next(model.parameters()).device
    y = torch.as_tensor(class_labels, dtype=torch.long, device=device).reshape(-1)     # (B,)
    diffusion = create_diffusion(timestep_respacing or str(num_steps), noise_schedule=noise_schedule,
                                 learn_sigma=getattr(model, "learn_sigma", True), diffusion_steps=diffusion_steps)
    shape = (len(y), model.in_channels, *model.x_embedder.img_size)                      # (B, C, H, W)
    check_interval(guidance_interval)
    fn = model if cfg_scale == 1 else guided_model(model, cfg_scale, channels=channels, interval=guidance_interval)
    generator = torch.Generator("cpu").manual_seed(seed)     # CPU: the same noise on any device
    loop, extra = (p_sample_loop, {}) if method == "ddpm" else (ddim_sample_loop, {"eta": eta})
    was_training = model.training
    model.eval()                                             # no label dropout while sampling
    try:
        return loop(diffusion, fn, shape, clip_denoised=clip_denoised, model_kwargs={"y": y}, device=device,
                    progress=progress, generator=generator, return_trajectory=return_trajectory, **extra)
    finally:
        model.train(was_training)
