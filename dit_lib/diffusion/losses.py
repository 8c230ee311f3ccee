"""The two likelihood terms of the variational bound, as standalone functions.

* `normal_kl`: KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) elementwise, in nats.
* `discretized_gaussian_log_likelihood`: log p(x_0 | x_1) of a Gaussian decoder
  integrated over the 8-bit bin of width 2/255 around x (DDPM section 3.3).

Both follow the official `diffusion_utils.py` operation by operation, so they give the
same float32 numbers. The decoder term assumes data in [-1, 1] with 256 levels; for
DiT's latents it is a convention kept from ADM, not a true likelihood.
"""
from __future__ import annotations

import math

import torch


def mean_flat(x: torch.Tensor) -> torch.Tensor:
    """Mean over every dimension but the batch: (B, ...) -> (B,)."""
    return x.mean(dim=list(range(1, x.ndim)))


def normal_kl(mean1, logvar1, mean2, logvar2) -> torch.Tensor:
    """KL divergence between two diagonal Gaussians, elementwise, in nats (arguments broadcast).

    KL = 1/2 [ -1 + logvar2 - logvar1 + e^(logvar1 - logvar2) + (mean1 - mean2)^2 e^(-logvar2) ]
    Plain floats are accepted for any argument but one, which must be a tensor.
    """
    ref = next((a for a in (mean1, logvar1, mean2, logvar2) if isinstance(a, torch.Tensor)), None)
    if ref is None:
        raise TypeError("normal_kl needs at least one tensor argument; wrap one with torch.as_tensor.")
    logvar1, logvar2 = (torch.as_tensor(v).to(ref) if not isinstance(v, torch.Tensor) else v
                        for v in (logvar1, logvar2))
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2)
                  + ((mean1 - mean2) ** 2) * torch.exp(-logvar2))


def approx_standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    """Phi(x) ~ 1/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation used by ADM."""
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))


def discretized_gaussian_log_likelihood(x: torch.Tensor, *, means: torch.Tensor,
                                        log_scales: torch.Tensor) -> torch.Tensor:
    """log P(bin of x) under N(means, e^(2 log_scales)), elementwise, in nats; x in [-1, 1].

    The bin is [x - 1/255, x + 1/255]; the two edge bins extend to -inf and +inf.
    """
    if not (x.shape == means.shape == log_scales.shape):
        raise ValueError(f"x, means and log_scales must have one shape, got {tuple(x.shape)}, "
                         f"{tuple(means.shape)} and {tuple(log_scales.shape)}.")
    centered_x = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = approx_standard_normal_cdf(inv_stdv * (centered_x + 1.0 / 255.0))   # Phi at the bin's top
    cdf_min = approx_standard_normal_cdf(inv_stdv * (centered_x - 1.0 / 255.0))    # Phi at the bin's bottom
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))                    # lowest bin: (-inf, top]
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))    # highest bin: [bottom, inf)
    log_cdf_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))       # any other bin
    return torch.where(x < -0.999, log_cdf_plus,
                       torch.where(x > 0.999, log_one_minus_cdf_min, log_cdf_delta))
