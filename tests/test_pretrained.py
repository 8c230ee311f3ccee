"""The shipped checkpoints: present, loadable, documented, and still drawing what they were trained on."""

import pytest
import torch

from dit_lib.checkpoint import load_checkpoint
from dit_lib.data import load_dataset
from dit_lib.evaluation import get_judge
from dit_lib.pretrained import (
    RECIPES,
    THREADS,
    VAE_RECIPES,
    checkpoint_path,
    list_pretrained,
    load_pretrained,
    load_pretrained_vae,
    load_record,
    model_card,
    vae_path,
)
from dit_lib.pretrained.build import vae_digest, weights_digest
from dit_lib.sampling import sample

LATENT_FLOOR = 0.6  # measured 86.7% on these 90 samples (guidance 2, DDIM-25); 1/9 is chance


def test_every_recipe_is_shipped_with_a_card():
    assert set(list_pretrained()) == set(RECIPES)
    assert set(THREADS) == set(RECIPES) | {f"vae_{n}" for n in VAE_RECIPES}  # the thread count is part of the recipe
    for name in RECIPES:
        card = model_card(name)
        assert card.startswith(f"# Model card: `{name}`") and weights_digest(checkpoint_path(name))[:16] in card
        assert "\nProcessor: " in card  # bit-for-bit only on the same family
        assert checkpoint_path(name).stat().st_size < 8 * 2**20  # "under a few MB"


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_shipped_checkpoint_loads_and_records_training(name):
    model = load_pretrained(name)
    assert not model.training
    info = load_record(name)
    rec = info["record"]
    assert len(rec["loss"]) == len(rec["loss_steps"]) > 10 and rec["loss"][-1] < rec["loss"][0]
    gates = torch.tensor(rec["gates"])  # (probes, n_t, depth, 2)
    assert gates.shape[1:] == (5, model.config.depth, 2)
    assert torch.count_nonzero(gates[0]) == 0 and (gates[-1] > 0).all()  # adaLN-Zero: the gates open
    if info["train_config"]["dataset"] != "latents":  # a latent model's grids would be latents
        assert rec["samples"], "a few sample grids recorded during training"
    assert load_checkpoint(checkpoint_path(name))["ema"] is None  # shipped: EMA weights only


def test_digits_model_still_draws_digits():
    """A floor well below the measured quality, high enough to catch a broken sampler or model."""
    model = load_pretrained("digits")
    y = torch.arange(100) % 10
    x = sample(model, y, cfg_scale=2.0, method="ddim", num_steps=25, seed=0, progress=False)
    assert get_judge("digits").accuracy(x.clamp(-1, 1), y) >= 0.9


def test_shapes_model_still_draws_coloured_shapes():
    """Floor below the measured quality (see shapes.md), far above chance (1/9)."""
    model = load_pretrained("shapes")
    size = load_record("shapes")["train_config"]["data_kwargs"]["image_size"]
    y = torch.arange(90) % 9
    x = sample(model, y, cfg_scale=2.0, method="ddim", num_steps=25, seed=0, progress=False)
    assert x.shape == (90, 3, size, size)
    assert get_judge("shapes", image_size=size).accuracy(x.clamp(-1, 1), y) >= 0.6


def test_unknown_name_is_explained():
    with pytest.raises(ValueError, match=r"unknown pretrained checkpoint 'cats'; shipped ones: \["):
        load_pretrained("cats")


@pytest.mark.parametrize("name", sorted(VAE_RECIPES))
def test_shipped_vae_loads_has_its_card_and_recipe_and_reconstructs(name):
    import json

    folder = vae_path(name)
    card = (folder / "README.md").read_text()
    assert card.startswith(f"# Model card: `vae_{name}`") and vae_digest(folder)[:16] in card
    assert (folder / "diffusion_pytorch_model.safetensors").stat().st_size < 2 * 2**20  # "a few MB at most"
    recipe = {k: v for k, v in VAE_RECIPES[name].items() if k not in ("dataset", "log_every")}
    config = json.loads((folder / "record.json").read_text())["config"]
    assert {k: config[k] for k in recipe} == recipe  # the file is what the recipe trains
    vae = load_pretrained_vae(name)
    if name == "scenes":  # diffusers reads the factor from the config: it is the latent DiT's, not SD's 0.18215
        assert vae.config.scaling_factor == load_record("scenes_latent")["record"]["dataset"]["scale_factor"]
    x = load_dataset(VAE_RECIPES[name]["dataset"], split="test", n=90).images
    with torch.no_grad():
        recon = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
    assert float((recon - x).pow(2).mean()) < 0.01  # measured 0.0025 on the 2,000 test images (the card)


def test_latent_model_still_draws_scenes():
    """Floor below the measured quality (latent_vs_pixel.json), far above chance (1/9)."""
    from dit_lib.latent_pipeline import generate

    model, vae = load_pretrained("scenes_latent"), load_pretrained_vae("scenes")
    s = load_record("scenes_latent")["record"]["dataset"]["scale_factor"]
    y = torch.arange(90) % 9
    x = generate(model, vae, y, scale_factor=s, cfg_scale=2.0, num_steps=25)
    assert x.shape == (90, 3, 32, 32)
    assert get_judge("scenes").accuracy(x.clamp(-1, 1), y) >= LATENT_FLOOR
