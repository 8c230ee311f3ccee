"""Live widget for chapter 5: pick a model size, patch size, input size and batch; see the shape of
every stage, the parameters, the GMACs, the tokens and the memory, recomputed on the meta device
(shapes only: even DiT-XL/2 costs no memory and a fraction of a second). Needs a kernel
(Colab / Jupyter); its static twins on the site are `dit_book.viz.model.shape_table_figure` and
`dit_book.viz.model.macs_breakdown_figure`.
"""
from __future__ import annotations

import html

from torch import nn

from dit_lib.anatomy import BYTES_FP32, activation_bytes, collapse_blocks, shape_trace
from dit_lib.flops import build_on_meta, count_macs, count_params

from ..viz.model import shape_table_html

SIZES = ("S", "B", "L", "XL", "Tiny", "Micro")   # the paper's four, then the book's CPU presets


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def model_summary_html(model: nn.Module, batch_size: int) -> str:
    """The widget's read-out for one model (built on meta or not): tokens, parameters, GMACs, memory."""
    cfg = model.config
    gh, gw = model.x_embedder.grid_size
    n_all, n_train = count_params(model), count_params(model, trainable_only=True)
    macs = count_macs(model)
    act = activation_bytes(model, batch_size)
    H, W = model.x_embedder.img_size
    lines = [
        f"<b>DiT with N = {cfg.depth}, D = {cfg.hidden_size}, h = {cfg.num_heads}, p = {cfg.patch_size}</b> "
        f"on {cfg.in_channels} x {H} x {W} inputs",
        f"tokens L = ({H}/{cfg.patch_size}) · ({W}/{cfg.patch_size}) = {gh} · {gw} = <b>{gh * gw:,}</b>",
        f"parameters: <b>{n_all:,}</b> ({n_train:,} trainable + {n_all - n_train:,} in the frozen pos_embed)",
        f"compute per image: <b>{macs.gmacs:,.3f} GMACs</b> (the paper's \"Gflops\") = {2 * macs.gmacs:,.3f} GFLOPs; "
        f"attention products {macs.attention_matmul / macs.total:.1%} of it",
        f"weights in float32: {_fmt_bytes(n_all * BYTES_FP32)}; with AdamW's gradients and two moments "
        f"(16 bytes a parameter): {_fmt_bytes(16 * n_all)}",
        f"activations for a batch of {batch_size} (float32, every layer's output + attention maps): "
        f"<b>{_fmt_bytes(act['total'])}</b>, of which attention maps {_fmt_bytes(act['attention_maps'])}; "
        f"largest single tensor: {html.escape(act['largest'][0])} {act['largest'][1]}",
    ]
    return "<br>".join(lines)


def model_explorer(*, size: str = "XL", patch_size: int = 2, input_size: int = 32, in_channels: int = 4,
                   batch_size: int = 8, learn_sigma: bool = True, num_classes: int = 1000):
    """A VBox: model size, patch size, input side, channels, batch size and learn_sigma -> a read-out of
    tokens, parameters, GMACs and memory, and the shape table of one forward pass (all on meta)."""
    import ipywidgets as widgets

    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}.")
    style = {"description_width": "initial"}
    pick = widgets.Dropdown(options=[(f"DiT-{s}" + (" (book, CPU)" if s in ("Tiny", "Micro") else ""), s)
                                     for s in SIZES], value=size, description="model size", style=style)
    patch = widgets.Dropdown(options=[1, 2, 4, 8], value=patch_size, description="patch size p", style=style)
    side = widgets.Dropdown(options=[8, 16, 28, 32, 64, 128], value=input_size, description="input side H = W",
                            style=style)
    chans = widgets.Dropdown(options=[1, 3, 4], value=in_channels, description="channels C", style=style)
    batch = widgets.Dropdown(options=[1, 8, 32, 128, 256], value=batch_size, description="batch B", style=style)
    sigma = widgets.Checkbox(value=learn_sigma, description="learn_sigma (2C outputs)", indent=False)
    readout = widgets.HTML()
    table = widgets.HTML()

    def draw(change=None) -> None:
        name = f"DiT-{pick.value}/{patch.value}"
        try:
            if patch.value in (2, 4, 8):
                model = build_on_meta(name, input_size=side.value, in_channels=chans.value,
                                      learn_sigma=sigma.value, num_classes=num_classes)
            else:                        # p = 1 has no preset: the same depth and width, built directly
                ref = build_on_meta(f"DiT-{pick.value}/2", input_size=side.value).config
                model = build_on_meta(dict(ref.to_dict(), input_size=side.value, patch_size=patch.value,
                                           in_channels=chans.value, learn_sigma=sigma.value,
                                           num_classes=num_classes))
        except ValueError as err:       # e.g. a patch size that does not divide the input
            readout.value = f'<span style="color:#dc2626">ValueError: {html.escape(str(err))}</span>'
            table.value = ""
            return
        readout.value = model_summary_html(model, batch.value)
        table.value = shape_table_html(collapse_blocks(shape_trace(model, batch.value)))

    for w in (pick, patch, side, chans, batch, sigma):
        w.observe(draw, names="value")
    draw()
    box = widgets.Layout(flex_flow="row wrap")
    return widgets.VBox([widgets.HBox([pick, patch, side], layout=box),
                         widgets.HBox([chans, batch, sigma], layout=box), readout, table])


__all__ = ["model_explorer", "model_summary_html", "SIZES"]
