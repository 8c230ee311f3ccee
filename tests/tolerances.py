"""How close our numbers must be to numbers another processor computed (the official fixtures).

The fixtures in tests/fixtures were made by the official code on one machine; the tests run on
whatever machine CI gets. Correct float kernels differ between processors in their last bits:
a matrix product is summed in blocks whose size depends on the vector width (AVX2 vs AVX-512),
and exp, log, sin and cos are vectorised polynomials that may round the other way. So a
comparison with a fixture allows a few *spacings* of the numbers compared, and nothing more:

* the spacing of floats near x is ulp(x) = 2**floor(log2|x|) * eps (eps = 2**-23 in float32,
  2**-52 in float64): what one rounding can change;
* array comparisons allow `ULPS` spacings of the largest value compared (`spacing_of_max`). The
  largest cross-processor difference measured so far is 5.6 spacings (`forward_with_cfg`, an AMD
  EPYC with AVX2 against the fixture's machine; tests/fixtures/README.md); 32 leaves a margin of
  about 5 and stays three orders of magnitude under the smallest real slip we plant on purpose
  (a missing `1 +`, shift and scale swapped, sin before cos: tests/test_model_official.py);
* float64 tables (the diffusion's betas, alpha-bars, posterior coefficients) are compared at the
  scale of the numbers they are made from (alpha near 1): the official linspace and ours round
  the betas differently by one spacing at 1 (64 spacings of beta_T = 0.02), and logs carry that
  into the log-variance table (14 spacings at 9.8 measured). `TABLE_ULPS` = 256 spacings at
  max(1, max|table|) is 5.7e-14 at 1 and 7.3e-12 at the largest table value (157); an
  off-by-one timestep changes the tables by 1e-4 relative or more;
* the sinusoidal timestep features get a bound of their own (`timestep_embedding_tolerance`):
  their arguments t * f reach 999, where one float32 spacing is 6.1e-5, so an error of one
  spacing in the argument is far larger than any spacing of the output (at most 1).

Comparisons whose two sides are computed on the same machine in the same run (hand-built vs
library, explicit vs reference order) stay bit-exact and do not use this module.
"""

from __future__ import annotations

import math

import torch

ULPS = 32
TABLE_ULPS = 256


def ulp(x: torch.Tensor) -> torch.Tensor:
    """Elementwise spacing of floats of x's dtype near |x| (the smallest normal number at 0)."""
    info = torch.finfo(x.dtype)
    mag = x.abs().clamp_min(info.tiny)
    return torch.exp2(torch.floor(torch.log2(mag))) * info.eps


def spacing_of_max(x: torch.Tensor) -> float:
    """The spacing of floats (of x's dtype) at x's largest absolute value."""
    return ulp(x.abs().max().reshape(1)).item()


def assert_within_spacings(
    got: torch.Tensor, want: torch.Tensor, what: str, ulps: int = ULPS, scale: float | None = None
) -> float:
    """|got - want| <= ulps spacings of max|want| (or of `scale`, when the values' natural scale is
    larger than their maximum, e.g. tables derived from numbers near 1). Returns the error in spacings."""
    assert got.shape == want.shape, f"{what}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    unit = spacing_of_max(want)
    if scale is not None:
        unit = max(unit, ulp(torch.tensor([scale], dtype=want.dtype)).item())
    err = (got.double() - want.double()).abs().max().item()
    assert err <= ulps * unit, (
        f"{what}: max abs error {err:.3g} is {err / unit:.1f} float spacings ({unit:.3g} each), more than the {ulps} allowed"
    )
    return err / unit


def timestep_embedding_tolerance(t: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """Elementwise bound on |ours - theirs| for the [cos(t f_i), sin(t f_i)] features, (B, dim).

    Two correct float32 routes can differ in f_i = exp(-log(max_period) i / half) by one spacing
    (a vectorised exp), hence in the argument by t * ulp(f_i); the product t * f_i rounds to the
    nearest float, one more spacing ulp(t f_i); cos and sin change by at most the argument's change
    (their slope is at most 1) plus about one spacing of their own output (at most eps). A factor 2
    on all of it. At t = 999 and f near 1 that is about 3.6e-4; any real slip (sin first, another
    frequency base or denominator) moves some feature by 0.1 or more.
    """
    half = dim // 2
    eps = torch.finfo(torch.float32).eps
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)  # (half,)
    args = t[:, None].float() * freqs[None]  # (B, half)
    tol = 2 * (t[:, None].float().abs() * ulp(freqs)[None] + ulp(args) + eps)  # (B, half)
    return torch.cat([tol, tol], dim=-1)  # (B, dim)
