"""dit_lib.levels: grey levels and the denoiser that rounds to them, against q_sample."""

import pytest
import torch

from dit_lib.data import load_dataset
from dit_lib.diffusion import create_diffusion
from dit_lib.levels import denoise_by_rounding, grey_levels, last_index_below_half_level


def test_the_digits_have_17_evenly_spaced_levels():
    levels, spacing = grey_levels(load_dataset("digits").images)
    assert len(levels) == 17 and levels[0] == -1 and levels[-1] == 1 and spacing == pytest.approx(0.125)


def test_rounding_recovers_x0_and_eps_while_the_noise_is_below_half_a_level():
    d = create_diffusion("")
    x0 = load_dataset("digits", split="test").images[:64]
    levels, spacing = grey_levels(x0)
    last = last_index_below_half_level(d, spacing)
    sd = (1 - d.alphas_cumprod).sqrt()
    assert (sd[: last + 1] < spacing / 2).all() and sd[last + 1] >= spacing / 2  # the definition
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    x_t = d.q_sample(x0, torch.zeros(len(x0), dtype=torch.long), noise=eps)  # index 0: far below
    x0_hat, eps_hat = denoise_by_rounding(d, x_t, 0, levels)
    assert torch.equal(x0_hat.float(), x0)
    torch.testing.assert_close(eps_hat, eps.double(), rtol=0, atol=1e-4)  # float32 x_t round-off only
    x_late = d.q_sample(x0, torch.full((len(x0),), 500), noise=eps)  # far above: rounding fails
    assert not torch.equal(denoise_by_rounding(d, x_late, 500, levels)[0].float(), x0)


def test_bad_levels_are_explained():
    with pytest.raises(ValueError, match="not evenly spaced"):
        grey_levels(torch.tensor([0.0, 0.1, 0.5]))
    with pytest.raises(ValueError, match="at least 2"):
        grey_levels(torch.zeros(3))
    with pytest.raises(TypeError, match="images"):
        grey_levels([0.0, 1.0])
