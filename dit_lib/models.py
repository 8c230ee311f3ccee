"""The Diffusion Transformer (Peebles & Xie, 2023), numerically the official `models.py`.

    x (B, C, H, W) --x_embedder--> (B, L, D) + pos_embed
    c = t_embedder(t) + y_embedder(y)                              (B, D)
    N x DiTBlock(x, c)                                             (B, L, D)
    final_layer(x, c) --unpatchify--> (B, C_out, H, W)             C_out = 2C if learn_sigma

Same constructor keywords and defaults, same state-dict keys and the same numbers as the
official code (tests check it against a fixture of the official implementation).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import torch
from torch import nn

from ._checks import as_hw, check_positive_int, check_tensor
from .blocks import DiTBlock, FinalLayer
from .embeddings import LabelEmbedder, TimestepEmbedder, get_2d_sincos_pos_embed
from .patchify import PatchEmbed, grid_size, unpatchify

CFG_CHANNELS = ("official", "all")


@dataclass(frozen=True)
class DiTConfig:
    """Everything needed to rebuild a DiT; saved as `asdict(config)` with every checkpoint."""

    input_size: int | tuple[int, int] = 32
    patch_size: int = 2
    in_channels: int = 4
    hidden_size: int = 1152
    depth: int = 28
    num_heads: int = 16
    mlp_ratio: float = 4.0
    class_dropout_prob: float = 0.1
    num_classes: int = 1000
    learn_sigma: bool = True

    def __post_init__(self):
        if isinstance(self.input_size, list):   # e.g. after a JSON round trip
            object.__setattr__(self, "input_size", tuple(self.input_size))
        as_hw("input_size", self.input_size)
        for name in ("patch_size", "in_channels", "hidden_size", "depth", "num_heads", "num_classes"):
            check_positive_int(name, getattr(self, name))
        grid_size(self.input_size, self.patch_size)             # raises if patches do not tile
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not divisible by num_heads {self.num_heads}; "
                             f"pick num_heads that divides it, or a hidden_size that is a multiple of it.")
        if self.hidden_size % 4:
            raise ValueError(f"hidden_size must be divisible by 4 for the 2D sin-cos position table, "
                             f"got {self.hidden_size}.")
        if not 0.0 <= self.class_dropout_prob < 1.0:
            raise ValueError(f"class_dropout_prob must be in [0, 1), got {self.class_dropout_prob}.")
        if self.mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be positive, got {self.mlp_ratio}.")

    def to_dict(self) -> dict:
        return asdict(self)


class DiT(nn.Module):
    """Diffusion model with a Transformer backbone. Keywords and defaults are the official ones (DiT-XL/2)."""

    def __init__(self, input_size=32, patch_size=2, in_channels=4, hidden_size=1152, depth=28, num_heads=16,
                 mlp_ratio=4.0, class_dropout_prob=0.1, num_classes=1000, learn_sigma=True):
        super().__init__()
        self.config = DiTConfig(input_size, patch_size, in_channels, hidden_size, depth, num_heads,
                                mlp_ratio, class_dropout_prob, num_classes, learn_sigma)
        self.learn_sigma = learn_sigma
        self.in_channels = in_channels
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.patch_size = patch_size
        self.num_heads = num_heads
        self.num_classes = num_classes

        # Module creation order matters: it fixes which random numbers each default init draws,
        # and so lets `torch.manual_seed(s); DiT(...)` reproduce the official weights.
        self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size, bias=True)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        num_patches = self.x_embedder.num_patches
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, hidden_size), requires_grad=False)  # fixed sin-cos
        self.blocks = nn.ModuleList([self.make_block(hidden_size, num_heads, mlp_ratio) for _ in range(depth)])
        self.final_layer = self.make_final_layer(hidden_size, patch_size, self.out_channels)
        self.initialize_weights()

    # The two pieces a variant of DiT may swap (dit_lib.conditioning does), and its zero-init.
    def make_block(self, hidden_size: int, num_heads: int, mlp_ratio: float) -> nn.Module:
        return DiTBlock(hidden_size, num_heads, mlp_ratio=mlp_ratio)

    def make_final_layer(self, hidden_size: int, patch_size: int, out_channels: int) -> nn.Module:
        return FinalLayer(hidden_size, patch_size, out_channels)

    @classmethod
    def from_config(cls, config: DiTConfig | dict) -> "DiT":
        config = DiTConfig(**config) if isinstance(config, dict) else config
        return cls(**asdict(config))

    @property
    def null_class(self) -> int | None:
        """Index of the null ("no class") label used by classifier-free guidance, or None."""
        return self.y_embedder.null_class

    def initialize_weights(self) -> None:
        def _basic_init(module):
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)
        self.apply(_basic_init)

        pos = get_2d_sincos_pos_embed(self.pos_embed.shape[-1], self.x_embedder.grid_size)  # (L, D)
        self.pos_embed.data.copy_(pos.unsqueeze(0))

        w = self.x_embedder.proj.weight.data           # initialise the patch conv like a Linear
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.constant_(self.x_embedder.proj.bias, 0)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)

        self.zero_initialize()

    def zero_initialize(self) -> None:
        """The "Zero" in adaLN-Zero: every gate and the output start at exactly 0."""
        for block in self.blocks:
            nn.init.constant_(block.adaLN_modulation[-1].weight, 0)   # gates = 0: block is the identity
            nn.init.constant_(block.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].weight, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.linear.weight, 0)           # output = 0
        nn.init.constant_(self.final_layer.linear.bias, 0)

    def set_attention_impl(self, impl: str) -> "DiT":
        """Switch every block between the "fast" (SDPA) and the "explicit" attention path."""
        for block in self.blocks:
            block.attn.impl = impl
        return self

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, p*p*C_out) -> (B, C_out, H, W); the grid comes from the config, so H != W works."""
        return unpatchify(x, self.patch_size, self.x_embedder.grid_size, self.out_channels)

    # ------------------------------------------------------------------ forward

    def check_inputs(self, x, t, y) -> None:
        """Raise a clear error for inputs the model cannot take (called by `forward`)."""
        check_tensor("x", x, ndim=4, floating=True)
        check_tensor("t", t)
        check_tensor("y", y, floating=False)
        B, C, H, W = x.shape
        if C != self.in_channels:
            raise ValueError(f"x has {C} channels but the model was built with in_channels={self.in_channels}; "
                             f"pass (B, {self.in_channels}, H, W) or build the model with in_channels={C}.")
        if (H, W) != self.x_embedder.img_size:
            grid_size((H, W), self.patch_size)  # a clearer message first if the patches do not tile
            raise ValueError(f"x has spatial size {(H, W)} but the model was built for input_size "
                             f"{self.x_embedder.img_size} (its position table has {self.x_embedder.num_patches} "
                             f"tokens); resize x or build the model with input_size={(H, W)}.")
        if t.ndim != 1:
            raise ValueError(f"t must have shape (B,) = ({B},), one timestep per image, got shape {tuple(t.shape)}; "
                             f"for one shared timestep use torch.full(({B},), t).")
        if y.ndim != 1:
            raise ValueError(f"y must have shape (B,) = ({B},), one class label per image, got shape {tuple(y.shape)}.")
        if t.shape[0] != B or y.shape[0] != B:
            raise ValueError(f"batch sizes disagree: x has {B} images, t has {t.shape[0]} timesteps and y has "
                             f"{y.shape[0]} labels; give one timestep and one label per image.")
        top = self.num_classes if self.null_class is not None else self.num_classes - 1
        # the label range needs the values (a sync on a GPU); torch.compile traces shapes only, so skip it there
        if B and not y.is_meta and not torch.compiler.is_compiling() and (int(y.min()) < 0 or int(y.max()) > top):
            bad = int(y.min()) if int(y.min()) < 0 else int(y.max())
            extra = (f" plus the null class {self.num_classes}" if self.null_class is not None
                     else " (no null class: the model was built with class_dropout_prob=0)")
            raise ValueError(f"label {bad} in y is out of range: valid labels are 0..{self.num_classes - 1}{extra}.")

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x: (B, C, H, W) noisy input, t: (B,) timesteps, y: (B,) labels -> (B, C_out, H, W)."""
        return self._forward(x, t, y, return_attn=False)

    def forward_with_attention(self, x, t, y):
        """Like `forward`, also returning every block's attention weights: a list of (B, h, L, L)."""
        return self._forward(x, t, y, return_attn=True)

    def _forward(self, x, t, y, return_attn: bool):
        self.check_inputs(x, t, y)
        x = self.x_embedder(x) + self.pos_embed                  # (B, L, D)
        c = self.t_embedder(t) + self.y_embedder(y, self.training)  # (B, D)
        maps = []
        for block in self.blocks:
            if return_attn:
                x, attn = block(x, c, return_attn=True)          # (B, L, D), (B, h, L, L)
                maps.append(attn)
            else:
                x = block(x, c)                                  # (B, L, D)
        x = self.final_layer(x, c)                               # (B, L, p*p*C_out)
        x = self.unpatchify(x)                                   # (B, C_out, H, W)
        return (x, maps) if return_attn else x

    def forward_with_cfg(self, x, t, y, cfg_scale: float, channels: str = "official") -> torch.Tensor:
        """Classifier-free guidance in one doubled batch, as in the official `sample.py`.

        The batch is [x; x] with labels [y; null]: only the first half of `x` is read, and the
        guided prediction eps_u + s (eps_c - eps_u) is returned for both halves.
        `channels="official"` reproduces the official code exactly: it guides only the first
        3 channels (unintended and kept for reproducibility, most likely carried over from GLIDE's
        RGB code; for 4-channel latents the 4th eps channel stays unguided). `channels="all"`
        guides every eps channel, never the learned-variance
        channels. Beware: the official rule slices channels [:3] of the whole output, so on a
        model with fewer than 3 image channels (our 1-channel digits) it also guides the
        variance output o (DDIM never reads o; DDPM does). New code should prefer
        `dit_lib.sampling`'s guided model, which refuses "official" when C < 3.
        """
        if channels not in CFG_CHANNELS:
            raise ValueError(f"channels must be one of {CFG_CHANNELS}, got {channels!r}.")
        check_tensor("x", x, ndim=4, floating=True)
        if len(x) % 2:
            raise ValueError(f"forward_with_cfg needs an even batch [x; x] with labels [y; null], got batch size "
                             f"{len(x)}; concatenate the conditional and unconditional halves.")
        half = x[: len(x) // 2]
        model_out = self.forward(torch.cat([half, half], dim=0), t, y)   # (B, C_out, H, W)
        n = 3 if channels == "official" else self.in_channels
        eps, rest = model_out[:, :n], model_out[:, n:]
        cond_eps, uncond_eps = torch.split(eps, len(eps) // 2, dim=0)
        half_eps = uncond_eps + cfg_scale * (cond_eps - uncond_eps)
        return torch.cat([torch.cat([half_eps, half_eps], dim=0), rest], dim=1)


# ----------------------------------------------------------------------------- presets

_SIZES = {  # name: (depth, hidden_size, num_heads), DiT paper Table 1
    "XL": (28, 1152, 16), "L": (24, 1024, 16), "B": (12, 768, 12), "S": (12, 384, 6),
    # our CPU presets for the book (not in the paper)
    "Tiny": (4, 128, 4), "Micro": (2, 64, 4),
}


def _preset(depth: int, hidden_size: int, num_heads: int, patch_size: int) -> Callable[..., DiT]:
    def make(**kwargs) -> DiT:
        return DiT(depth=depth, hidden_size=hidden_size, patch_size=patch_size, num_heads=num_heads, **kwargs)
    return make


DiT_models: dict[str, Callable[..., DiT]] = {
    f"DiT-{size}/{p}": _preset(*_SIZES[size], patch_size=p)
    for size in ("XL", "L", "B", "S", "Tiny", "Micro") for p in (2, 4, 8)
}
OFFICIAL_MODELS = tuple(f"DiT-{s}/{p}" for s in ("XL", "L", "B", "S") for p in (2, 4, 8))
