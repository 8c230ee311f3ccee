"""Gaussian diffusion: the forward process, its posterior, the model's reverse step and the losses.

Numerically the official `diffusion/gaussian_diffusion.py` (itself from OpenAI's ADM / IDDPM),
with the same method and table names, in a third of the lines. Equation numbers:
"DDPM" is Ho et al. (2020), "IDDPM" is Nichol & Dhariwal (2021), "DDIM" is Song et al. (2021).

The diffusion knows nothing about the network: a "model" is any callable
`model(x, t, **model_kwargs) -> (B, C or 2C, H, W)`. It is always called with the
original timestep `timestep_map[t]`, so a respaced diffusion (fewer steps) drives a
model trained on all 1000 steps. The step and loop samplers live beside this file, in
`samplers.py`; the `p_sample*` and `ddim_*` methods here only forward to them (an import
downwards), so the official call style works. Guidance is one layer up, in `dit_lib.sampling`.

Where ours differs from the official code (on purpose):
* `clip_denoised` defaults to False (DiT works on latents that are not in [-1, 1]; the
  official default is True, but DiT's own `sample.py` always passes False).
* Bad timesteps, shapes or channel counts raise a `ValueError`/`TypeError` that says how to fix them.
* `denoised_fn`, `cond_fn` (classifier guidance), the "previous x" mean type and the raw
  "learned" (unbounded log-variance) type are left out: DiT uses none of them.
"""
from __future__ import annotations

import enum
import math

import torch

from . import samplers
from .losses import discretized_gaussian_log_likelihood, mean_flat, normal_kl
from .schedules import check_timesteps, diffusion_tables, extract


class ModelMeanType(enum.Enum):
    """What the network's first C output channels predict."""
    EPSILON = "epsilon"   # the noise eps (DiT)
    START_X = "start_x"   # x_0 itself


class ModelVarType(enum.Enum):
    """Where the reverse-step variance Sigma_t comes from."""
    FIXED_SMALL = "fixed_small"       # beta-tilde_t, the posterior variance (DDPM sigma^2 = beta-tilde)
    FIXED_LARGE = "fixed_large"       # beta_t (DDPM sigma^2 = beta)
    LEARNED_RANGE = "learned_range"   # IDDPM eq. 15: interpolate the two in log space (DiT)


class LossType(enum.Enum):
    MSE = "mse"                      # ||eps - eps_theta||^2, plus the VB term when the variance is learned (DiT)
    RESCALED_MSE = "rescaled_mse"    # the same with the VB term scaled by T / 1000
    KL = "kl"                        # the variational bound alone
    RESCALED_KL = "rescaled_kl"      # the variational bound times T (an estimate of the full bound)


class GaussianDiffusion:
    """A discrete Gaussian diffusion with T steps, built from its betas (float64, shape (T,)).

    Every table of `schedules.diffusion_tables` is an attribute (`betas`, `alphas_cumprod`,
    `posterior_variance`, ...), a float64 tensor of shape (T,). `timestep_map[t]` is the
    original timestep that index t stands for (the identity unless respaced).
    """

    def __init__(self, *, betas, model_mean_type: ModelMeanType, model_var_type: ModelVarType,
                 loss_type: LossType, timestep_map=None):
        self.model_mean_type = ModelMeanType(model_mean_type)
        self.model_var_type = ModelVarType(model_var_type)
        self.loss_type = LossType(loss_type)
        for name, table in diffusion_tables(betas).items():   # betas, alphas_cumprod, ... (see schedules.py)
            setattr(self, name, table)
        self.num_timesteps = len(self.betas)
        T = self.num_timesteps
        self.timestep_map = torch.arange(T) if timestep_map is None else torch.as_tensor(timestep_map).long()
        assert self.timestep_map.shape == (T,), "timestep_map needs one original timestep per kept step"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_timesteps={self.num_timesteps}, mean={self.model_mean_type.name}, "
                f"var={self.model_var_type.name}, loss={self.loss_type.name})")

    # ------------------------------------------------------------------ helpers

    def _check(self, x: torch.Tensor, t: torch.Tensor, **same_shape: torch.Tensor) -> None:
        """Check t against x's batch and the number of steps, and that the named tensors have x's shape."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}.")
        check_timesteps(t, self.num_timesteps, batch_size=len(x))
        for name, other in same_shape.items():
            if other.shape != x.shape:
                hint = " (draw it with torch.randn_like(x))" if name == "noise" else ""
                raise ValueError(f"{name} has shape {tuple(other.shape)} but x has shape {tuple(x.shape)}; "
                                 f"they must match{hint}.")

    def call_model(self, model, x: torch.Tensor, t: torch.Tensor, model_kwargs: dict | None = None):
        """Run the network at the *original* timestep of index t (the official `_WrappedModel`)."""
        return model(x, self.timestep_map.to(t.device)[t], **(model_kwargs or {}))

    # ------------------------------------------------------------------ forward process q

    def q_mean_variance(self, x_start: torch.Tensor, t: torch.Tensor):
        """Mean, variance and log-variance of q(x_t | x_0) (DDPM eq. 4), each of x_start's shape."""
        self._check(x_start, t)
        mean = extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start        # sqrt(abar_t) x_0
        variance = extract(1.0 - self.alphas_cumprod, t, x_start.shape).expand_as(x_start)  # 1 - abar_t
        log_variance = extract(self.log_one_minus_alphas_cumprod, t, x_start.shape).expand_as(x_start)
        return mean, variance, log_variance

    def q_sample(self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Jump straight to x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (DDPM eq. 4); t = 0 is one step."""
        if noise is None:
            noise = torch.randn_like(x_start)
        self._check(x_start, t, noise=noise)
        return (extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)  # (B, C, H, W)

    def q_posterior_mean_variance(self, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor):
        """Mean, variance and clipped log-variance of q(x_{t-1} | x_t, x_0) (DDPM eqs. 6-7)."""
        self._check(x_t, t, x_start=x_start)
        mean = (extract(self.posterior_mean_coef1, t, x_t.shape) * x_start
                + extract(self.posterior_mean_coef2, t, x_t.shape) * x_t)          # DDPM eq. 7: mu-tilde_t
        variance = extract(self.posterior_variance, t, x_t.shape).expand_as(x_t)   # DDPM eq. 7: beta-tilde_t
        log_variance = extract(self.posterior_log_variance_clipped, t, x_t.shape).expand_as(x_t)
        return mean, variance, log_variance

    def predict_xstart_from_eps(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t): DDPM eq. 4 solved for x_0."""
        self._check(x_t, t, eps=eps)
        return (extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t
                - extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * eps)

    def predict_eps_from_xstart(self, x_t: torch.Tensor, t: torch.Tensor, pred_xstart: torch.Tensor) -> torch.Tensor:
        """eps = (x_t / sqrt(abar_t) - x_0) / sqrt(1 / abar_t - 1): the same equation solved for eps."""
        self._check(x_t, t, pred_xstart=pred_xstart)
        return ((extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t - pred_xstart)
                / extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape))

    _predict_xstart_from_eps = predict_xstart_from_eps   # the official (private) names
    _predict_eps_from_xstart = predict_eps_from_xstart

    # ------------------------------------------------------------------ reverse process p

    def split_model_output(self, model_output: torch.Tensor, x: torch.Tensor):
        """(B, 2C, H, W) -> mean part (B, C, H, W) and variance part (or None), with a clear channel check."""
        C = x.shape[1]
        learned = self.model_var_type == ModelVarType.LEARNED_RANGE
        want = 2 * C if learned else C
        if model_output.shape != (x.shape[0], want, *x.shape[2:]):
            fix = ("build the model with learn_sigma=True (its last C channels set the variance)" if learned else
                   "build the diffusion with learn_sigma=True, or the model with learn_sigma=False")
            raise ValueError(f"the model returned shape {tuple(model_output.shape)} for x of shape "
                             f"{tuple(x.shape)}, but this {self.model_var_type.name} diffusion expects "
                             f"{want} channels; {fix}.")
        return torch.split(model_output, C, dim=1) if learned else (model_output, None)

    def model_variance(self, model_var_values: torch.Tensor | None, x: torch.Tensor, t: torch.Tensor):
        """Variance and log-variance of p(x_{t-1} | x_t), each of x's shape."""
        if self.model_var_type == ModelVarType.LEARNED_RANGE:
            # IDDPM eq. 15: log Sigma = v log beta_t + (1 - v) log beta-tilde_t, with v = (output + 1) / 2
            min_log = extract(self.posterior_log_variance_clipped, t, x.shape)   # log beta-tilde_t
            max_log = extract(torch.log(self.betas), t, x.shape)                 # log beta_t
            frac = (model_var_values + 1) / 2                                    # v, (B, C, H, W)
            log_variance = frac * max_log + (1 - frac) * min_log
            return torch.exp(log_variance), log_variance
        if self.model_var_type == ModelVarType.FIXED_SMALL:
            variance, log_variance = self.posterior_variance, self.posterior_log_variance_clipped
        else:  # FIXED_LARGE: beta_t, with beta-tilde_1 at t = 0 for a better decoder likelihood (official)
            variance = torch.cat([self.posterior_variance[1:2], self.betas[1:]])
            log_variance = torch.log(variance)
        return (extract(variance, t, x.shape).expand_as(x), extract(log_variance, t, x.shape).expand_as(x))

    def p_mean_variance_from_output(self, model_output: torch.Tensor, x: torch.Tensor, t: torch.Tensor,
                                    clip_denoised: bool = False) -> dict:
        """Turn a network output at (x_t, t) into p(x_{t-1} | x_t) and the predicted x_0."""
        self._check(x, t)
        model_output, model_var_values = self.split_model_output(model_output, x)  # (B, C, H, W) each
        variance, log_variance = self.model_variance(model_var_values, x, t)
        if self.model_mean_type == ModelMeanType.EPSILON:
            pred_xstart = self.predict_xstart_from_eps(x, t, model_output)
        else:
            pred_xstart = model_output
        if clip_denoised:
            pred_xstart = pred_xstart.clamp(-1, 1)
        # DDPM eq. 7 with x_0 replaced by its prediction: the model mean mu_theta(x_t, t)
        mean, _, _ = self.q_posterior_mean_variance(pred_xstart, x, t)
        return {"mean": mean, "variance": variance, "log_variance": log_variance, "pred_xstart": pred_xstart}

    def p_mean_variance(self, model, x: torch.Tensor, t: torch.Tensor, clip_denoised: bool = False,
                        model_kwargs: dict | None = None) -> dict:
        """Call the model at (x_t, t) and return p(x_{t-1} | x_t): `mean`, `variance`, `log_variance`,
        `pred_xstart`, each of x's shape. `clip_denoised` clamps the predicted x_0 to [-1, 1]."""
        self._check(x, t)
        model_output = self.call_model(model, x, t, model_kwargs)                  # (B, 2C, H, W)
        return self.p_mean_variance_from_output(model_output, x, t, clip_denoised)

    # ------------------------------------------------------------------ losses

    def vb_terms_bpd(self, p_out: dict, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """One term of the variational bound per sample, in bits per dimension, shape (B,).

        L_t = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) for t > 0 (DDPM eq. 5) and
        L_0 = -log p(x_0 | x_1), the discretized decoder, at t = 0. `p_out` is a p_mean_variance dict.
        """
        true_mean, _, true_log_variance = self.q_posterior_mean_variance(x_start, x_t, t)
        kl = normal_kl(true_mean, true_log_variance, p_out["mean"], p_out["log_variance"])
        kl = mean_flat(kl) / math.log(2.0)                                          # nats -> bits, (B,)
        decoder_nll = -discretized_gaussian_log_likelihood(
            x_start, means=p_out["mean"], log_scales=0.5 * p_out["log_variance"])
        decoder_nll = mean_flat(decoder_nll) / math.log(2.0)                        # (B,)
        return torch.where(t == 0, decoder_nll, kl)

    def training_losses(self, model, x_start: torch.Tensor, t: torch.Tensor, model_kwargs: dict | None = None,
                        noise: torch.Tensor | None = None) -> dict:
        """Per-sample losses at the given timesteps, each of shape (B,).

        DiT (MSE with a learned variance): `mse` = ||eps - eps_theta(x_t, t)||^2 averaged over
        C, H, W (DDPM eq. 14), `vb` = the bound term L_t in bits with the predicted mean
        frozen (IDDPM section 3.1: the VB term trains only the variance) and `loss` = mse + vb.
        """
        if noise is None:
            noise = torch.randn_like(x_start)
        x_t = self.q_sample(x_start, t, noise=noise)                                # (B, C, H, W)
        terms = {}
        if self.loss_type in (LossType.KL, LossType.RESCALED_KL):
            p_out = self.p_mean_variance(model, x_t, t, model_kwargs=model_kwargs)
            terms["loss"] = self.vb_terms_bpd(p_out, x_start, x_t, t)
            if self.loss_type == LossType.RESCALED_KL:
                terms["loss"] = terms["loss"] * self.num_timesteps
            return terms

        model_output = self.call_model(model, x_t, t, model_kwargs)                # (B, 2C, H, W)
        mean_output, model_var_values = self.split_model_output(model_output, x_t)  # (B, C, H, W) each
        if model_var_values is not None:
            # stop-gradient on the mean: the VB term may only move the variance channels
            frozen_out = torch.cat([mean_output.detach(), model_var_values], dim=1)
            p_out = self.p_mean_variance_from_output(frozen_out, x_t, t)
            terms["vb"] = self.vb_terms_bpd(p_out, x_start, x_t, t)
            if self.loss_type == LossType.RESCALED_MSE:
                terms["vb"] = terms["vb"] * (self.num_timesteps / 1000.0)
        target = noise if self.model_mean_type == ModelMeanType.EPSILON else x_start
        terms["mse"] = mean_flat((target - mean_output) ** 2)                       # DDPM eq. 14, (B,)
        terms["loss"] = terms["mse"] + terms["vb"] if "vb" in terms else terms["mse"]
        return terms

    # ------------------------------------------------------------------ samplers (in samplers.py)

    def p_sample(self, model, x, t, *args, **kwargs):
        """One ancestral step x_t -> x_{t-1}; see `samplers.p_sample`."""
        return samplers.p_sample(self, model, x, t, *args, **kwargs)

    def p_sample_loop(self, model, shape, *args, **kwargs):
        """Ancestral sampling from x_T to x_0; see `samplers.p_sample_loop`."""
        return samplers.p_sample_loop(self, model, shape, *args, **kwargs)

    def ddim_sample(self, model, x, t, *args, **kwargs):
        """One DDIM step x_t -> x_{t-1}; see `samplers.ddim_sample`."""
        return samplers.ddim_sample(self, model, x, t, *args, **kwargs)

    def ddim_reverse_sample(self, model, x, t, *args, **kwargs):
        """One deterministic DDIM step x_t -> x_{t+1}; see `samplers.ddim_reverse_sample`."""
        return samplers.ddim_reverse_sample(self, model, x, t, *args, **kwargs)

    def ddim_sample_loop(self, model, shape, *args, **kwargs):
        """DDIM sampling from x_T to x_0; see `samplers.ddim_sample_loop`."""
        return samplers.ddim_sample_loop(self, model, shape, *args, **kwargs)
