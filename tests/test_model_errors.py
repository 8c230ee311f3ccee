"""Bad input gets a clear error that names the argument, the value and the fix (one test per case)."""

import pytest
import torch

from dit_lib.models import DiT


@pytest.fixture
def model():
    torch.manual_seed(0)
    return DiT(
        input_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=1, num_heads=4, num_classes=10, class_dropout_prob=0.1
    ).eval()


def inputs(B=2, C=4, H=8, W=8):
    return torch.randn(B, C, H, W), torch.randint(0, 1000, (B,)), torch.randint(0, 10, (B,))


def test_image_size_not_divisible_by_patch_size():
    with pytest.raises(ValueError, match=r"image height 30 is not divisible by patch_size 4; pad or resize to 32"):
        DiT(input_size=30, patch_size=4, hidden_size=32, depth=1, num_heads=4)


def test_input_of_other_size_than_built_for(model):
    x, t, y = inputs(H=12, W=12)
    with pytest.raises(ValueError, match=r"spatial size \(12, 12\) but the model was built for input_size \(8, 8\)"):
        model(x, t, y)
    x, t, y = inputs(H=9, W=8)
    with pytest.raises(ValueError, match="height 9 is not divisible by patch_size 2"):
        model(x, t, y)


def test_wrong_channel_count(model):
    x, t, y = inputs(C=3)
    with pytest.raises(ValueError, match=r"x has 3 channels but the model was built with in_channels=4"):
        model(x, t, y)


@pytest.mark.parametrize("bad", [-1, 11])
def test_labels_out_of_range(model, bad):
    x, t, y = inputs()
    y[0] = bad
    with pytest.raises(ValueError, match=rf"label {bad} in y is out of range: valid labels are 0..9 plus the null class 10"):
        model(x, t, y)


def test_null_class_allowed_only_with_label_dropout(model):
    x, t, _ = inputs()
    model(x, t, torch.tensor([10, 3]))  # null class is fine with dropout on
    torch.manual_seed(0)
    no_null = DiT(input_size=8, patch_size=2, hidden_size=32, depth=1, num_heads=4, num_classes=10, class_dropout_prob=0.0)
    with pytest.raises(ValueError, match=r"label 10 in y is out of range: valid labels are 0..9 \(no null class"):
        no_null(x, t, torch.tensor([10, 3]))


def test_labels_must_be_integers(model):
    x, t, _ = inputs()
    with pytest.raises(TypeError, match=r"y must be an integer tensor, got dtype torch.float32; convert it with y.long\(\)"):
        model(x, t, torch.tensor([1.0, 2.0]))


def test_timesteps_of_wrong_shape(model):
    x, _, y = inputs()
    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(2,\).*got shape \(2, 1\); .*torch.full"):
        model(x, torch.zeros(2, 1), y)
    with pytest.raises(ValueError, match=r"t must have shape \(B,\) = \(2,\).*got shape \(\)"):
        model(x, torch.tensor(5), y)


def test_batch_sizes_disagree(model):
    x, t, y = inputs(B=3)
    with pytest.raises(ValueError, match=r"batch sizes disagree: x has 3 images, t has 2 timesteps and y has 3 labels"):
        model(x, t[:2], y)


def test_hidden_size_not_divisible_by_num_heads():
    with pytest.raises(ValueError, match=r"hidden_size 100 is not divisible by num_heads 3"):
        DiT(input_size=8, patch_size=2, hidden_size=100, depth=1, num_heads=3)


def test_odd_batch_for_forward_with_cfg(model):
    x, t, y = inputs(B=3)
    with pytest.raises(ValueError, match=r"forward_with_cfg needs an even batch \[x; x\].*got batch size 3"):
        model.forward_with_cfg(x, t, y, 4.0)


def test_unknown_cfg_channel_mode(model):
    x, t, y = inputs()
    with pytest.raises(ValueError, match=r"channels must be one of \('official', 'all'\), got 'rgb'"):
        model.forward_with_cfg(x, t, y, 4.0, channels="rgb")


def test_x_must_be_a_float_tensor(model):
    _, t, y = inputs()
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor, got list"):
        model([[0.0]], t, y)
    with pytest.raises(ValueError, match=r"x must have 4 dimensions, got shape \(4, 8, 8\)"):
        model(torch.zeros(4, 8, 8), t, y)


def test_unknown_attention_impl(model):
    with pytest.raises(ValueError, match=r"attention impl must be one of \('fast', 'explicit'\), got 'flash'"):
        model.set_attention_impl("flash")


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(class_dropout_prob=1.0), r"class_dropout_prob must be in \[0, 1\), got 1.0"),
        (dict(depth=0), r"depth must be a positive integer, got 0"),
        (dict(hidden_size=18, num_heads=2), r"hidden_size must be divisible by 4"),
    ],
)
def test_bad_config_values(kw, msg):
    base = dict(input_size=8, patch_size=2, hidden_size=32, depth=1, num_heads=4)
    with pytest.raises(ValueError, match=msg):
        DiT(**{**base, **kw})
