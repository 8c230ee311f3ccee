"""Timestep respacing: sample with S < T steps from a model trained on T steps.

Keep a subset of the original timesteps, tau_0 < tau_1 < ... < tau_{S-1}, and define a new
chain whose cumulative products are the original ones at the kept steps (DDIM section 4.2):

    abar'_i = abar_{tau_i}   so   beta'_i = 1 - abar_{tau_i} / abar_{tau_{i-1}}.

The new diffusion counts its own steps i = 0..S-1; the network is called with tau_i
(`timestep_map[i]`), the timestep it was trained on. As in DiT (unlike IDDPM's
`rescale_timesteps`), that timestep is passed as is, never rescaled to 0..1000.
"""
from __future__ import annotations

import torch

from .gaussian_diffusion import GaussianDiffusion


def _parse_section_counts(section_counts) -> list[int]:
    """'10,20,30' -> [10, 20, 30]; a list or tuple of ints is passed through."""
    if isinstance(section_counts, int) and not isinstance(section_counts, bool):
        return [section_counts]
    if isinstance(section_counts, str):
        try:
            return [int(part) for part in section_counts.split(",")]
        except ValueError:
            raise ValueError(f"timestep_respacing {section_counts!r} is not understood; use a number of steps "
                             f"such as '250', 'ddimN' such as 'ddim50', or per-section counts such as "
                             f"'10,20,30'.") from None
    if isinstance(section_counts, (list, tuple)) and all(isinstance(c, int) for c in section_counts):
        return list(section_counts)
    raise TypeError(f"timestep_respacing must be a string such as '250' or 'ddim50', or a list of ints, "
                    f"got {section_counts!r}.")


def space_timesteps(num_timesteps: int, section_counts) -> list[int]:
    """The original timesteps to keep, sorted (the official function returns the same steps as a set).

    `section_counts` is either
    * "ddimN": the DDIM paper's striding, range(0, T, k) for the integer k that gives exactly N steps;
    * a list of counts, or a comma string "10,20,30": cut 0..T-1 into that many equal sections and
      take that many evenly spaced steps from each, both ends included ("250" is one section).
    """
    if isinstance(section_counts, str) and section_counts.startswith("ddim"):
        try:
            desired_count = int(section_counts[len("ddim"):])
        except ValueError:
            raise ValueError(f"timestep_respacing {section_counts!r} is not understood; "
                             f"write 'ddim' followed by a number of steps, e.g. 'ddim50'.") from None
        for stride in range(1, num_timesteps):
            if len(range(0, num_timesteps, stride)) == desired_count:
                return list(range(0, num_timesteps, stride))
        raise ValueError(f"cannot make exactly {desired_count} steps out of {num_timesteps} with an integer "
                         f"stride ({section_counts!r}); pick another count or use '{desired_count}' "
                         f"for evenly rounded spacing.")
    counts = _parse_section_counts(section_counts)
    size_per, extra = divmod(num_timesteps, len(counts))   # the first `extra` sections get one more step
    start_idx, all_steps = 0, []
    for i, section_count in enumerate(counts):
        size = size_per + (1 if i < extra else 0)
        if not 1 <= section_count <= size:
            raise ValueError(f"timestep_respacing {section_counts!r}: section {i} has {size} steps and "
                             f"cannot keep {section_count}; each count must be between 1 and {size}.")
        # evenly spaced in [0, size - 1], rounded to the nearest step (Python's round: halves to even)
        frac_stride = 1 if section_count <= 1 else (size - 1) / (section_count - 1)
        cur_idx = 0.0
        for _ in range(section_count):
            all_steps.append(start_idx + round(cur_idx))
            cur_idx += frac_stride
        start_idx += size
    return sorted(set(all_steps))


def respace_betas(betas: torch.Tensor, use_timesteps) -> tuple[torch.Tensor, torch.Tensor]:
    """Betas of the chain that keeps only `use_timesteps`, and the map to the original steps."""
    alphas_cumprod = torch.cumprod(1.0 - torch.as_tensor(betas, dtype=torch.float64), dim=0)   # (T,)
    keep = sorted(set(int(s) for s in use_timesteps))
    if not keep or keep[0] < 0 or keep[-1] >= len(alphas_cumprod):
        raise ValueError(f"use_timesteps must be a non-empty set of steps in 0..{len(alphas_cumprod) - 1}, "
                         f"got {keep[:3]}...{keep[-3:]}.")
    new_betas, last_alpha_cumprod = [], 1.0
    for i in keep:
        new_betas.append(1 - alphas_cumprod[i] / last_alpha_cumprod)   # beta'_i = 1 - abar_tau_i / abar_tau_{i-1}
        last_alpha_cumprod = alphas_cumprod[i]
    return torch.stack(new_betas), torch.tensor(keep, dtype=torch.long)   # (S,), (S,)


class SpacedDiffusion(GaussianDiffusion):
    """A GaussianDiffusion that keeps only `use_timesteps` of the base diffusion defined by `betas`.

    Same keywords as the official class. Indices t count the kept steps (0..S-1); the model is
    called with `timestep_map[t]`. (Officially a wrapper object around the model does that;
    here every GaussianDiffusion carries a `timestep_map`, the identity when not respaced.)
    """

    def __init__(self, use_timesteps, *, betas, **kwargs):
        new_betas, timestep_map = respace_betas(betas, use_timesteps)
        self.use_timesteps = set(timestep_map.tolist())
        self.original_num_steps = len(betas)
        super().__init__(betas=new_betas, timestep_map=timestep_map, **kwargs)
