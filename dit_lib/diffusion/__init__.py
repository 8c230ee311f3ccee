"""Gaussian diffusion for DiT: schedules, forward process, posterior, losses, respacing and samplers.

    from dit_lib.diffusion import create_diffusion
    diffusion = create_diffusion(timestep_respacing="")      # training: all 1000 steps
    diffusion = create_diffusion("250")                      # sampling: 250 evenly spaced steps

The same entry point, keywords and method names as the official `diffusion/__init__.py`
(and SiT / fast-DiT), so code written for those runs unchanged. The step and loop samplers are
in `samplers.py` (`GaussianDiffusion.p_sample_loop` and friends call them); classifier-free
guidance and the one-call `sample()` are one layer up, in `dit_lib.sampling`, which imports this
package and never the reverse. Inside: respace > gaussian_diffusion > samplers | losses > schedules.
"""
from __future__ import annotations

from .gaussian_diffusion import GaussianDiffusion, LossType, ModelMeanType, ModelVarType
from .losses import discretized_gaussian_log_likelihood, mean_flat, normal_kl
from .respace import SpacedDiffusion, respace_betas, space_timesteps
from .schedules import (NOISE_SCHEDULES, cosine_beta_schedule, diffusion_tables, extract,
                        get_named_beta_schedule, linear_beta_schedule)

__all__ = [
    "create_diffusion", "GaussianDiffusion", "SpacedDiffusion", "ModelMeanType", "ModelVarType", "LossType",
    "space_timesteps", "respace_betas", "get_named_beta_schedule", "linear_beta_schedule",
    "cosine_beta_schedule", "diffusion_tables", "extract", "normal_kl", "discretized_gaussian_log_likelihood",
    "mean_flat", "NOISE_SCHEDULES",
]


def create_diffusion(timestep_respacing=None, noise_schedule: str = "linear", use_kl: bool = False,
                     sigma_small: bool = False, predict_xstart: bool = False, learn_sigma: bool = True,
                     rescale_learned_sigmas: bool = False, diffusion_steps: int = 1000) -> SpacedDiffusion:
    """The diffusion DiT trains and samples with (defaults: linear schedule, eps prediction,
    learned-range variance, loss = MSE + VB).

    timestep_respacing: None or "" for all `diffusion_steps`; "250" for 250 evenly spaced steps;
        "ddim50" for DDIM's integer striding; "10,20,30" for per-section counts (see `space_timesteps`).
    noise_schedule: "linear" or "cosine" (the official name "squaredcos_cap_v2" also works).
    use_kl: train on the (rescaled) variational bound alone instead of MSE.
    sigma_small / learn_sigma: the reverse variance is learned (DiT), else beta-tilde_t (small) or beta_t.
    predict_xstart: the model predicts x_0 instead of eps.
    rescale_learned_sigmas: scale the VB term by T / 1000 (RESCALED_MSE).
    """
    betas = get_named_beta_schedule(noise_schedule, diffusion_steps)
    if use_kl:
        loss_type = LossType.RESCALED_KL
    elif rescale_learned_sigmas:
        loss_type = LossType.RESCALED_MSE
    else:
        loss_type = LossType.MSE
    if learn_sigma:
        model_var_type = ModelVarType.LEARNED_RANGE
    else:
        model_var_type = ModelVarType.FIXED_SMALL if sigma_small else ModelVarType.FIXED_LARGE
    if timestep_respacing is None or timestep_respacing == "":
        timestep_respacing = [diffusion_steps]
    return SpacedDiffusion(
        use_timesteps=space_timesteps(diffusion_steps, timestep_respacing),
        betas=betas,
        model_mean_type=ModelMeanType.START_X if predict_xstart else ModelMeanType.EPSILON,
        model_var_type=model_var_type,
        loss_type=loss_type,
    )
