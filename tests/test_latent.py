"""Chapter 11's library: the scenes, the tiny AutoencoderKL (train, save, load), latents as data, the pipeline."""

import json

import numpy as np
import pytest
import torch

from dit_lib.autoencoder import check_images_for, downsampling, load_vae, make_vae, save_vae, train_vae, vae_loss
from dit_lib.data import load_dataset, make_scenes
from dit_lib.latent_pipeline import generate
from dit_lib.latents import decode, encode, load_latents, save_latents, scale_factor_of, write_latents
from dit_lib.models import DiT
from dit_lib.sampling import sample

# A VAE small enough for tests: 2 resolutions (2x per side), 8 channels, 4 latent channels.
SMALL = dict(
    block_out_channels=(8, 8),
    down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2,
    norm_num_groups=4,
    sample_size=16,
)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing here may reach the network


def small_vae(seed=0):
    return make_vae(seed, **SMALL).eval()


# ---------------------------------------------------------------- scenes


def test_scenes_are_deterministic_balanced_in_range_and_split():
    a, b = make_scenes(90, seed=3), make_scenes(90, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.images.shape == (90, 3, 32, 32) and a.images.min() >= -1 and a.images.max() <= 1
    assert np.bincount(a.labels.numpy()).tolist() == [10] * 9
    test = make_scenes(90, seed=3, split="test")
    assert not torch.equal(a.images, test.images)
    assert load_dataset("scenes", n=9, image_size=16).images.shape == (9, 3, 16, 16)


def test_scenes_draw_the_labelled_colour_as_the_brightest_channel_of_the_object():
    ds = make_scenes(300, seed=0)
    x = (ds.images + 1) / 2  # (N, 3, H, W) in [0, 1]
    # the object is the only thing brighter than 0.7 in a channel (backgrounds <= 0.35, pebbles <= 0.65)
    bright = (x > 0.7).flatten(2).sum(-1)  # (N, 3) bright pixels per channel
    assert torch.equal(bright.argmax(1), ds.labels % 3)  # red, green, blue = colour index 0, 1, 2


def test_scenes_refuse_small_images():
    with pytest.raises(ValueError, match="image_size >= 16"):
        make_scenes(9, image_size=8)


# ---------------------------------------------------------------- the autoencoder


def test_tiny_autoencoderkl_round_trips_through_save_and_load(tmp_path):
    vae = small_vae()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        before = vae.decode(vae.encode(x).latent_dist.mode()).sample
    save_vae(vae, tmp_path / "vae", {"note": "test"})
    assert (tmp_path / "vae" / "diffusion_pytorch_model.safetensors").is_file()
    again = load_vae(tmp_path / "vae")
    with torch.no_grad():
        after = again.decode(again.encode(x).latent_dist.mode()).sample
    assert torch.equal(before, after) and not again.training
    assert json.loads((tmp_path / "vae" / "record.json").read_text()) == {"note": "test"}
    assert downsampling(again) == 2


def test_vae_loss_is_squared_error_plus_weighted_kl_per_number():
    vae = small_vae()
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    loss, mse, kl = vae_loss(vae, x, torch.Generator().manual_seed(0), kl_weight=0.5)
    q = vae.encode(x).latent_dist
    z = q.mean + q.std * torch.randn(q.mean.shape, generator=torch.Generator().manual_seed(0))  # the same draw
    sse = (vae.decode(z).sample - x).pow(2).sum((1, 2, 3))
    kl_hand = 0.5 * (q.mean.pow(2) + q.var - 1 - q.logvar).sum((1, 2, 3))  # KL(N(m, v) || N(0, 1))
    torch.testing.assert_close(kl, kl_hand.mean())
    torch.testing.assert_close(loss, ((sse + 0.5 * kl_hand) / 768).mean())
    torch.testing.assert_close(mse, (sse / 768).mean())


def test_train_vae_is_seeded_and_lowers_the_loss(monkeypatch):
    import dit_lib.autoencoder as ae

    monkeypatch.setattr(ae, "TINY_VAE", {**ae.TINY_VAE, **SMALL})
    images = make_scenes(64, image_size=16).images
    a, rec = train_vae(images, steps=30, batch_size=16, log_every=10)
    b, _ = train_vae(images, steps=30, batch_size=16, log_every=10)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert rec["mse"][-1] < rec["mse"][0] and rec["step"] == [10, 20, 30]


def test_bad_images_and_latents_are_refused_with_the_fix():
    vae = small_vae()
    with pytest.raises(ValueError, match="1 channels but the VAE encodes 3.*expand"):
        check_images_for(vae, torch.zeros(1, 1, 16, 16))
    with pytest.raises(ValueError, match="downsamples by 2.*16x16"):
        encode(vae, torch.zeros(1, 3, 15, 16))
    with pytest.raises(ValueError, match="2 channels but the VAE's latents have 4"):
        decode(vae, torch.zeros(1, 2, 8, 8), 1.0)
    with pytest.raises(ValueError, match="scale_factor must be a positive number"):
        decode(vae, torch.zeros(1, 4, 8, 8), None)
    with pytest.raises(ValueError, match="not a VAE folder"):
        load_vae("stabilityai/sd-vae-ft-ema")


# ---------------------------------------------------------------- latents as data


def test_scale_factor_is_the_inverse_std_and_unscaled_latents_are_refused(tmp_path):
    z = torch.randn(10, 4, 4, 4, generator=torch.Generator().manual_seed(0)) * 1.84  # the book's VAE: std 1.84
    s = scale_factor_of(z)
    assert s == pytest.approx(1 / float(z.std())) and float((z * s).std()) == pytest.approx(1)
    with pytest.raises(ValueError, match="look unscaled.*scale_factor"):
        save_latents(tmp_path / "z.pt", z, torch.zeros(10, dtype=torch.long), scale_factor=s, class_names=["a"])
    with pytest.raises(ValueError, match="latents has 10 items but labels has 9"):
        save_latents(tmp_path / "z.pt", z * s, torch.zeros(9, dtype=torch.long), scale_factor=s, class_names=["a"])
    with pytest.raises(ValueError, match="no spread"):
        scale_factor_of(torch.ones(2, 4, 4, 4))
    torch.save({"latents": z, "labels": torch.zeros(10, dtype=torch.long)}, tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="scale_factor"):
        load_latents(tmp_path / "bare.pt")


def test_write_latents_encodes_once_scales_and_keeps_the_factor(tmp_path):
    vae, ds = small_vae(), make_scenes(18, image_size=16)
    path, s, z = write_latents(tmp_path / "z.pt", vae, ds, {"kind": "builtin"}, seed=1)
    loaded, meta = load_latents(path)
    assert loaded.images.shape == (18, 4, 8, 8) and torch.equal(loaded.images, z * s)
    assert meta["scale_factor"] == s and meta["source"]["seed"] == 1 and len(meta["source"]["vae_sha256"]) == 64
    again = encode(vae, ds.images, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, z)  # one seeded draw of q(z|x)
    assert torch.equal(encode(vae, ds.images, sample=False), vae.encode(ds.images).latent_dist.mean)


def test_train_command_takes_latents_and_its_checkpoint_keeps_the_scale_factor(tmp_path):
    from dit_lib.checkpoint import load_checkpoint
    from dit_lib.train import main

    vae, ds = small_vae(), make_scenes(36, image_size=16)
    path, s, _ = write_latents(tmp_path / "z.pt", vae, ds, {"kind": "builtin"})
    main(
        [
            "--latents",
            str(path),
            "--model",
            "DiT-Micro/2",
            "--steps",
            "2",
            "--batch-size",
            "4",
            "--no-progress",
            "--out",
            str(tmp_path / "m.pt"),
        ]
    )
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["record"]["dataset"]["kind"] == "latents" and ckpt["record"]["dataset"]["scale_factor"] == s
    assert ckpt["model_config"]["in_channels"] == 4


# ---------------------------------------------------------------- one pipeline call


def latent_dit():
    torch.manual_seed(0)
    model = DiT(input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_classes=9)
    for p in model.parameters():  # a model whose gates are open, so that guidance changes something
        p.data.normal_(0, 0.05)
    return model.eval()


@pytest.mark.parametrize("method", ["ddim", "ddpm"])
def test_generate_is_the_step_by_step_route_of_the_official_sample_py(method):
    from dit_lib.diffusion import create_diffusion
    from dit_lib.diffusion.samplers import ddim_sample_loop, p_sample_loop

    model, vae, labels, s = latent_dit(), make_vae(0, **{**SMALL, "sample_size": 16}).eval(), [3, 0, 7], 0.7
    images, latents = generate(
        model, vae, labels, scale_factor=s, cfg_scale=3.0, method=method, num_steps=5, seed=4, return_latents=True
    )
    g = torch.Generator().manual_seed(4)
    z = torch.randn(3, 4, 8, 8, generator=g)  # noise latents
    z, y = torch.cat([z, z]), torch.tensor([3, 0, 7, 9, 9, 9])  # doubled batch, null class 9
    loop = ddim_sample_loop if method == "ddim" else p_sample_loop
    out = loop(
        create_diffusion("5"),
        lambda x, t, y: model.forward_with_cfg(x, t, y, 3.0, channels="all"),
        z.shape,
        noise=z,
        model_kwargs={"y": y},
        progress=False,
        generator=g,
    )
    first = out.chunk(2)[0]  # the first half
    with torch.no_grad():
        by_hand = vae.decode(first / s).sample
    assert torch.equal(latents, first) and torch.equal(images, by_hand)
    assert images.shape == (3, 3, 16, 16)


def test_generate_with_ddim_equals_decoding_the_library_sampler():
    model, vae = latent_dit(), make_vae(0, **{**SMALL, "sample_size": 16}).eval()
    images = generate(model, vae, [1, 2], scale_factor=0.5, cfg_scale=2.0, num_steps=4, seed=2)
    z = sample(model, [1, 2], cfg_scale=2.0, method="ddim", num_steps=4, seed=2, progress=False)
    with torch.no_grad():
        torch.testing.assert_close(images, vae.decode(z / 0.5).sample, rtol=0, atol=1e-5)


def test_generate_checks_its_arguments_before_sampling():
    model, vae = latent_dit(), small_vae()
    with pytest.raises(ValueError, match="scale_factor must be a positive number"):
        generate(model, vae, [0], scale_factor=None)
    with pytest.raises(ValueError, match=r"labels in 0..8, got \[9\]"):
        generate(model, vae, [9], scale_factor=1.0)
    with pytest.raises(ValueError, match="num_steps"):
        generate(model, vae, [0], scale_factor=1.0, num_steps=0)
    with pytest.raises(TypeError, match="cfg_scale must be a number"):
        generate(model, vae, [0], scale_factor=1.0, cfg_scale="4")


def test_save_vae_writes_the_scaling_factor_diffusers_reads(tmp_path):
    save_vae(small_vae(), tmp_path / "vae", scaling_factor=0.5)
    assert load_vae(tmp_path / "vae").config.scaling_factor == 0.5
    with pytest.raises(ValueError, match="scaling_factor must be a positive number"):
        save_vae(small_vae(), tmp_path / "other", scaling_factor=0)


def test_generate_refuses_a_pixel_model():
    pixel = DiT(input_size=16, patch_size=2, in_channels=3, hidden_size=32, depth=1, num_heads=2, num_classes=9)
    with pytest.raises(ValueError, match="3-channel inputs but the VAE's latents have 4"):
        generate(pixel, small_vae(), [0], scale_factor=1.0)
