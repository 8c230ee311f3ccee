"""The learned-range variance of a trained DiT, measured on real images (chapter 7).

A DiT with `learn_sigma=True` outputs, per pixel, a value o next to its noise prediction (the second
C channels, meant to lie in [-1, 1]), and the diffusion turns it into the reverse-step variance by
interpolating in log space (IDDPM eq. 15):

    v = (o + 1) / 2,    log Sigma_theta = v * log beta_t + (1 - v) * log beta-tilde_t

(`GaussianDiffusion.model_variance`, which calls v `frac`). v is the paper's interpolation weight, the
position in the band: 0 is beta-tilde_t, 1 is beta_t. Nothing clamps o, so v may leave [0, 1]. This
module measures where a trained model puts v, and what the variance does to the bound term L_t:

* `band_position(o)`: v from the network's raw output o; `raw_output(v)` the other way.
* `vb_terms_for_values(diffusion, eps, v, x_start, x_t, t)`: the bound term L_t in bits per
  dimension, (B,), for given weights v (a tensor like eps, or one float for every pixel).
* `best_constant_variance(...)`: the one variance per timestep that minimises the mean KL term,
  Sigma* = beta-tilde_t + E[(mu-tilde - mu_theta)^2] (set the derivative of the KL in Sigma to 0).
* `variance_sweep(model, images, labels, timesteps)`: all of the above at many timesteps, on the
  same noised images (noise seeded per timestep, so any timestep gives the same x_t in every call).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_images_labels, check_tensor
from .diffusion import create_diffusion
from .diffusion.schedules import extract


def band_position(o: torch.Tensor) -> torch.Tensor:
    """v = (o + 1) / 2 from the network's raw output o: 0 is beta-tilde_t (the bottom of the band),
    1 is beta_t (the top). Not clamped."""
    return (o + 1) / 2


def raw_output(v):
    """The network output o = 2 v - 1 that gives the weight v (the inverse of `band_position`)."""
    return 2 * v - 1


def band_bounds(diffusion, t: torch.Tensor, shape) -> tuple[torch.Tensor, torch.Tensor]:
    """log beta-tilde_t (clipped at t = 0, as the diffusion uses it) and log beta_t, broadcast to shape."""
    low = extract(diffusion.posterior_log_variance_clipped, t, shape)     # (B, 1, 1, 1)
    high = extract(torch.log(diffusion.betas), t, shape)                  # (B, 1, 1, 1)
    return low, high


def vb_terms_for_values(diffusion, eps: torch.Tensor, v, x_start: torch.Tensor, x_t: torch.Tensor,
                        t: torch.Tensor) -> torch.Tensor:
    """L_t in bits per dimension, (B,), with the noise prediction `eps` and the interpolation weights
    `v` (one per pixel, like eps; or one float for all: 0 is beta-tilde_t, 1 is beta_t)."""
    check_tensor("eps", eps, ndim=x_t.ndim, floating=True)
    if not isinstance(v, torch.Tensor):
        v = torch.full_like(eps, float(v))
    p_out = diffusion.p_mean_variance_from_output(torch.cat([eps, raw_output(v)], dim=1), x_t, t)
    return diffusion.vb_terms_bpd(p_out, x_start, x_t, t)


def best_constant_variance(diffusion, eps: torch.Tensor, x_start: torch.Tensor, x_t: torch.Tensor,
                           t: int) -> float:
    """Sigma* = beta-tilde_t + mean (mu-tilde - mu_theta)^2 over every pixel of the batch: the single
    variance that minimises the batch's mean KL(q(x_{t-1} | x_t, x_0) || N(mu_theta, Sigma))."""
    tt = torch.full((len(x_t),), int(t), dtype=torch.long)
    true_mean, _, _ = diffusion.q_posterior_mean_variance(x_start, x_t, tt)
    p_out = diffusion.p_mean_variance_from_output(torch.cat([eps, torch.zeros_like(eps)], dim=1), x_t, tt)
    gap = (true_mean - p_out["mean"]).double().pow(2).mean().item()
    return diffusion.posterior_variance[int(t)].item() + gap


@dataclass
class VarianceSweep:
    """What `variance_sweep` measured; n_t timesteps, B images, n_v values of a constant weight v."""

    timesteps: np.ndarray        # (n_t,) int, 0-based table indices
    log_beta: np.ndarray         # (n_t,) top of the band
    log_beta_tilde: np.ndarray   # (n_t,) bottom of the band (clipped at t = 0)
    x_t: torch.Tensor            # (n_t, B, C, H, W) the noised images
    v: torch.Tensor              # (n_t, B, C, H, W) the model's weight v: its position in the band
    mse: np.ndarray              # (n_t, B) ||eps - eps_theta||^2, mean over C, H, W
    vb_learned: np.ndarray       # (n_t, B) L_t in bits/dim with the model's own variance
    vb_small: np.ndarray         # (n_t, B) ... with beta-tilde_t (v = 0)
    vb_large: np.ndarray         # (n_t, B) ... with beta_t (v = 1)
    best_variance: np.ndarray    # (n_t,) Sigma* of `best_constant_variance`
    v_grid: np.ndarray           # (n_v,) constant values of the weight v
    vb_curve: np.ndarray         # (n_t, n_v) mean L_t over the images for each constant v

    @property
    def best_v(self) -> np.ndarray:
        """Where Sigma* sits in the band: the weight v that gives it, (n_t,); outside [0, 1] when it
        leaves the band."""
        return (np.log(self.best_variance) - self.log_beta_tilde) / (self.log_beta - self.log_beta_tilde)

    @property
    def log_variance(self) -> torch.Tensor:
        """The model's log Sigma_theta, (n_t, B, C, H, W)."""
        low = torch.as_tensor(self.log_beta_tilde, dtype=torch.float32).view(-1, *[1] * (self.v.ndim - 1))
        high = torch.as_tensor(self.log_beta, dtype=torch.float32).view(-1, *[1] * (self.v.ndim - 1))
        return self.v * high + (1 - self.v) * low


@torch.no_grad()
def variance_sweep(model, images: torch.Tensor, labels: torch.Tensor, timesteps, *, seed: int = 0,
                   diffusion=None, v_grid=None) -> VarianceSweep:
    """Noise `images` to every timestep of `timesteps` (noise seeded by seed * T + t), run the model
    once per timestep and measure its learned variance and the bound terms (see `VarianceSweep`).
    `v_grid`: the constant weights v of the curve (default -0.25 to 1.25 in steps of 0.025)."""
    check_images_labels(images, labels)
    diffusion = diffusion or create_diffusion(timestep_respacing="")
    T = diffusion.num_timesteps
    timesteps = np.asarray([int(t) for t in timesteps])
    if len(timesteps) == 0 or timesteps.min() < 0 or timesteps.max() >= T:
        raise ValueError(f"timesteps must be a non-empty list of integers in 0..{T - 1}, got {timesteps.tolist()}.")
    v_grid = np.linspace(-0.25, 1.25, 61) if v_grid is None else np.asarray(v_grid, dtype=np.float64)
    was_training = model.training
    model.eval()
    C = images.shape[1]
    rows = {k: [] for k in ("x_t", "v", "mse", "vb_learned", "vb_small", "vb_large", "best", "curve")}
    try:
        for ti in timesteps.tolist():
            t = torch.full((len(images),), ti, dtype=torch.long)                     # (B,)
            noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed * T + ti))
            x_t = diffusion.q_sample(images, t, noise=noise)                          # (B, C, H, W)
            out = diffusion.call_model(model, x_t, t, {"y": labels})                  # (B, 2C, H, W)
            if out.shape[1] != 2 * C:
                raise ValueError(f"the model returned {out.shape[1]} channels for {C}-channel images; "
                                 f"a learned variance needs a model built with learn_sigma=True.")
            eps, v = out[:, :C], band_position(out[:, C:])                           # v from the raw output o
            rows["x_t"].append(x_t)
            rows["v"].append(v)
            rows["mse"].append(((eps - noise) ** 2).mean(dim=(1, 2, 3)))
            for key, values in (("vb_learned", v), ("vb_small", 0.0), ("vb_large", 1.0)):
                rows[key].append(vb_terms_for_values(diffusion, eps, values, images, x_t, t))
            rows["best"].append(best_constant_variance(diffusion, eps, images, x_t, ti))
            rows["curve"].append([vb_terms_for_values(diffusion, eps, float(val), images, x_t, t).mean().item()
                                  for val in v_grid])
    finally:
        model.train(was_training)
    log_beta = torch.log(diffusion.betas)[timesteps].numpy()
    log_beta_tilde = diffusion.posterior_log_variance_clipped[timesteps].numpy()
    as_np = lambda key: torch.stack(rows[key]).double().numpy()                     # noqa: E731
    return VarianceSweep(timesteps=timesteps, log_beta=log_beta, log_beta_tilde=log_beta_tilde,
                         x_t=torch.stack(rows["x_t"]), v=torch.stack(rows["v"]), mse=as_np("mse"),
                         vb_learned=as_np("vb_learned"), vb_small=as_np("vb_small"), vb_large=as_np("vb_large"),
                         best_variance=np.asarray(rows["best"]), v_grid=v_grid,
                         vb_curve=np.asarray(rows["curve"]))


__all__ = ["band_position", "raw_output", "band_bounds", "vb_terms_for_values", "best_constant_variance", "variance_sweep",
           "VarianceSweep"]
