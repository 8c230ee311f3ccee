"""The anatomy of a DiT, read off the model: the shape after every stage of one forward pass
(`shape_trace`), where the parameters live (`param_breakdown`) and how much memory the
activations take (`activation_bytes`).

These run the model (with forward hooks) or walk its parameters; on a model built on the meta
device (`dit_lib.flops.build_on_meta`) a forward pass costs no memory and no time. The book's
figures and tables of these numbers live in `dit_book.viz.model`.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from ._checks import check_positive_int

BYTES_FP32 = 4

# The roles a DiT's parameters play, in the order the book draws them.
PARAM_ROLES = (
    "attention projections qkv, out",
    "MLP fc1, fc2",
    "adaLN-Zero regressions",
    "patch embedding",
    "final linear",
    "timestep MLP",
    "label table (with the null row)",
    "pos_embed (fixed, frozen)",
)


def zero_inputs(model, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Zeros x (B, C, H, W), t (B,) and y (B,) on the model's own device (meta works), to run it once."""
    check_positive_int("batch_size", batch_size)
    device = model.pos_embed.device
    H, W = model.x_embedder.img_size
    x = torch.zeros(batch_size, model.config.in_channels, H, W, device=device)   # (B, C, H, W)
    t = torch.zeros(batch_size, dtype=torch.long, device=device)                  # (B,)
    y = torch.zeros(batch_size, dtype=torch.long, device=device)                  # (B,)
    return x, t, y


# ----------------------------------------------------------------------------- shapes


def shape_trace(model, batch_size: int = 2) -> list[dict]:
    """The shape after every stage of one forward pass, read with forward hooks.

    Runs `model` once on zeros of shape (B, C, H, W) on the model's own device (meta works: no
    memory, no time). Returns one dict per stage, in order, with keys `step` (what happens),
    `module` (the state-dict prefix of the weights involved), `symbols` (the shape in the book's
    letters), `shape` (a tuple of ints) and `key`, a short name for the stage ("x", "x_embedder",
    "pos_embed", "t", "t_embedder", "y", "y_embedder", "c", "blocks.0" ..., "final_layer",
    "unpatchify", and with learn_sigma "eps" and "v"; the "v" row is the variance output o, whose weight
    is (o + 1) / 2). The two sums (`+ pos_embed`, `c = t_emb + y_emb`) have no module of their own; their
    shapes are the broadcast of the captured operands.
    """
    cfg = model.config
    x, t, y = zero_inputs(model, batch_size)   # (B, C, H, W), (B,), (B,)
    B, C, H, W = x.shape

    seen: dict[str, tuple] = {}

    def keep(name):
        def hook(module, args, out):
            seen[name] = tuple(out.shape)
        return hook

    watched = {"x_embedder": model.x_embedder, "t_embedder": model.t_embedder, "y_embedder": model.y_embedder,
               "final_layer": model.final_layer}
    watched.update({f"blocks.{i}": b for i, b in enumerate(model.blocks)})
    handles = [m.register_forward_hook(keep(name)) for name, m in watched.items()]
    try:
        with torch.no_grad():
            out = model(x, t, y)
    finally:
        for h in handles:
            h.remove()

    N, C_out = len(model.blocks), model.out_channels
    c_out = "2C" if cfg.learn_sigma else "C"
    rows = [
        dict(key="x", step="noisy input x_t", module="(input)", symbols="(B, C, H, W)", shape=tuple(x.shape)),
        dict(key="x_embedder", step="patch embedding", module="x_embedder.proj",
             symbols="(B, L, D)", shape=seen["x_embedder"]),
        dict(key="pos_embed", step="+ position table", module="pos_embed",
             symbols="(B, L, D)", shape=tuple(torch.broadcast_shapes(seen["x_embedder"], model.pos_embed.shape))),
        dict(key="t", step="timestep t", module="(input)", symbols="(B,)", shape=tuple(t.shape)),
        dict(key="t_embedder", step="timestep embedding", module="t_embedder.mlp", symbols="(B, D)",
             shape=seen["t_embedder"]),
        dict(key="y", step="class label y", module="(input)", symbols="(B,)", shape=tuple(y.shape)),
        dict(key="y_embedder", step="label embedding", module="y_embedder.embedding_table", symbols="(B, D)",
             shape=seen["y_embedder"]),
        dict(key="c", step="c = t_emb + y_emb", module="(a sum)", symbols="(B, D)",
             shape=tuple(torch.broadcast_shapes(seen["t_embedder"], seen["y_embedder"]))),
    ]
    for i in range(N):
        rows.append(dict(key=f"blocks.{i}", step=f"DiT block {i + 1} of {N}", module=f"blocks.{i}",
                         symbols="(B, L, D)", shape=seen[f"blocks.{i}"]))
    rows += [
        dict(key="final_layer", step="final layer", module="final_layer",
             symbols=f"(B, L, p·p·{c_out})", shape=seen["final_layer"]),
        dict(key="unpatchify", step="unpatchify", module="(no weights)", symbols=f"(B, {c_out}, H, W)",
             shape=tuple(out.shape)),
    ]
    assert rows[-1]["shape"][1] == C_out
    if cfg.learn_sigma:
        rows += [
            dict(key="eps", step="ε: channels 0 .. C-1", module="out[:, :C]",
                 symbols="(B, C, H, W)", shape=(B, C, H, W)),
            dict(key="v", step="o: channels C .. 2C-1", module="out[:, C:]",
                 symbols="(B, C, H, W)", shape=(B, C, H, W)),
        ]
    return rows


def collapse_blocks(rows: Sequence[dict]) -> list[dict]:
    """The same trace with the N block rows merged into one row 'N DiT blocks' (they all keep (B, L, D))."""
    blocks = [r for r in rows if r["module"].startswith("blocks.")]
    if not blocks:
        return list(rows)
    shapes = {r["shape"] for r in blocks}
    assert len(shapes) == 1, shapes
    out, done = [], False
    for r in rows:
        if r["module"].startswith("blocks."):
            if not done:
                n = len(blocks)
                out.append(dict(key="blocks", step=f"{n} DiT blocks",
                                symbols=r["symbols"], module=f"blocks.0 … blocks.{n - 1}", shape=r["shape"]))
                done = True
            continue
        out.append(r)
    return out


def numbers_per_image(shape: tuple) -> int:
    """How many numbers one image carries at a stage: the product of the shape without the batch axis."""
    return math.prod(shape[1:]) if len(shape) > 1 else 1


# ----------------------------------------------------------------------------- parameters


def param_breakdown(model) -> dict[str, int]:
    """Parameters of a DiT grouped by role (the labels of `PARAM_ROLES`); they sum to `count_params(model)`."""
    parts = dict.fromkeys(PARAM_ROLES, 0)
    for name, p in model.named_parameters():
        if name == "pos_embed":
            key = "pos_embed (fixed, frozen)"
        elif name.startswith("x_embedder."):
            key = "patch embedding"
        elif name.startswith("t_embedder."):
            key = "timestep MLP"
        elif name.startswith("y_embedder."):
            key = "label table (with the null row)"
        elif ".adaLN_modulation." in name or name.startswith("final_layer.adaLN_modulation."):
            key = "adaLN-Zero regressions"
        elif name.startswith("final_layer.linear."):
            key = "final linear"
        elif ".attn." in name:
            key = "attention projections qkv, out"
        elif ".mlp." in name:
            key = "MLP fc1, fc2"
        else:
            raise ValueError(f"parameter {name!r} belongs to no part of a DiT; is this a DiT?")
        parts[key] += p.numel()
    return parts


# ----------------------------------------------------------------------------- memory


def activation_bytes(model, batch_size: int = 1) -> dict:
    """Float32 bytes of the activations of one forward pass of `batch_size` inputs (meta works).

    Counts the output of every layer without sub-layers (convolution, linear, layer norm,
    activation, embedding) plus every block's attention map (B, h, L, L): roughly what training
    keeps for the backward pass, without attention kernels that avoid storing the maps.
    Returns `total`, `attention_maps` and `largest` (the name and shape of the largest output).
    """
    x, t, y = zero_inputs(model, batch_size)
    sizes: dict[str, tuple[int, tuple]] = {}

    def keep(name):
        def hook(module, args, out):
            sizes[name] = (out.numel() * BYTES_FP32, tuple(out.shape))
        return hook

    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    handles = [m.register_forward_hook(keep(n)) for n, m in leaves]
    try:
        with torch.no_grad():
            _, maps = model.forward_with_attention(x, t, y)
    finally:
        for h in handles:
            h.remove()
    attn = sum(a.numel() for a in maps) * BYTES_FP32
    name, (nbytes, shape) = max(sizes.items(), key=lambda kv: kv[1][0])
    if maps and maps[0].numel() * BYTES_FP32 > nbytes:
        name, shape = "blocks.0.attn (attention map)", tuple(maps[0].shape)
    return {"total": sum(b for b, _ in sizes.values()) + attn, "attention_maps": attn, "largest": (name, shape)}


__all__ = ["zero_inputs", "shape_trace", "collapse_blocks", "numbers_per_image", "PARAM_ROLES", "param_breakdown",
           "activation_bytes", "BYTES_FP32"]
