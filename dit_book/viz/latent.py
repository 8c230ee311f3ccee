"""Figures for chapter 11, latent space: what the autoencoder keeps, the latents' statistics before
and after scaling, and the pixel-space DiT beside the latent one.

Pure functions: tensors and measured numbers in, figures out (nothing here encodes, trains or
samples). Plotly figures are for the site (sliders over precomputed pictures, no kernel needed);
`autoencoder_mpl` draws the picture of the live widget.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..plotting import COLORWAY, figure, png_data_uri, rounded, sample_grid, slider, step, subplots, subtitle

ROWS = ("original", "reconstruction", "error × {amp:g}<br>(grey = 0)", "latent<br>channel")


def latent_as_image(z: torch.Tensor, size: int, limit: float) -> torch.Tensor:
    """One latent channel (N, h, w) -> grey images (N, 3, size, size) in [-1, 1]: value / limit, enlarged."""
    grey = (z / limit).clamp(-1, 1)[:, None]                                            # (N, 1, h, w)
    grey = grey.repeat_interleave(size // z.shape[-2], -2).repeat_interleave(size // z.shape[-1], -1)
    return grey.expand(-1, 3, -1, -1)


def autoencoder_rows(x: torch.Tensor, recon: torch.Tensor, z: torch.Tensor, channel: int, *, amplify: float = 4.0,
                     limit: float = 3.0) -> torch.Tensor:
    """(4, N, 3, H, W): originals, reconstructions, their signed error x amplify, latent channel `channel`."""
    if x.shape != recon.shape or x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"x and recon must be RGB batches (N, 3, H, W) of one shape, got {tuple(x.shape)} and "
                         f"{tuple(recon.shape)}.")
    if z.ndim != 4 or len(z) != len(x) or not 0 <= channel < z.shape[1]:
        raise ValueError(f"z must be (N, C_lat, h, w) for the same N and channel in 0..{z.shape[1] - 1}.")
    err = (amplify * (recon - x)).clamp(-1, 1)
    return torch.stack([x, recon.clamp(-1, 1), err, latent_as_image(z[:, channel], x.shape[-1], limit)])


def autoencoder_figure(x: torch.Tensor, recon: torch.Tensor, z: torch.Tensor, *, notes: Sequence[str] | None = None,
                       amplify: float = 4.0, limit: float = 3.0, title: str | None = None):
    """N images through the autoencoder, with a slider over the latent channels (the bottom row).

    x, recon: (N, 3, H, W) in [-1, 1]; z: the scaled latents (N, C_lat, h, w), drawn in grey with
    -limit as black and +limit as white. `notes[k]`: a line under the title for channel k.
    """
    import plotly.graph_objects as go

    C = z.shape[1]
    pics = [png_data_uri(sample_grid(list(autoencoder_rows(x, recon, z, k, amplify=amplify, limit=limit)), scale=4,
                                     gap=4)) for k in range(C)]
    N, H = len(x), x.shape[-1]
    cell = H * 4 + 4                                                    # one image and one gap, in picture pixels

    def heading(k):
        return subtitle(title or "What the autoencoder keeps", f"bottom row: latent channel {k} "
                        f"({z.shape[-2]}x{z.shape[-1]}, black = -{limit:g}, white = +{limit:g})",
                        notes[k] if notes else "")

    fig = figure(go.Image(source=pics[0], hoverinfo="skip"))
    fig.update_layout(title=heading(0), sliders=[slider([step(str(k), {"source": [pics[k]]}, {"title.text": heading(k)},
                                                              [0]) for k in range(C)], prefix="latent channel ", pad=30,
                                                        names=True)])
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, range=[0, N * cell + 4])
    fig.update_yaxes(tickvals=[r * cell + cell / 2 + 2 for r in range(4)],
                     ticktext=[r.format(amp=amplify) for r in ROWS], showgrid=False, zeroline=False,
                     range=[4 * cell + 4, 0], scaleanchor="x", constrain="domain")
    # the picture is as wide as the text column (about 600 px of plot for N columns): its height follows
    return fig.update_layout(height=int(280 + 4 * 600 / N), margin=dict(t=130, l=110, b=40))


def histogram(values: torch.Tensor, edges: np.ndarray) -> np.ndarray:
    """Density of `values` on the bins `edges` (area 1)."""
    counts, _ = np.histogram(values.detach().double().flatten().numpy(), bins=edges)
    return counts / counts.sum() / np.diff(edges)


def scaling_figure(z: torch.Tensor, scale_factor: float, *, bins: int = 80, title: str | None = None):
    """The latents' values per channel, unscaled (a) and multiplied by `scale_factor` (b), beside N(0, 1).

    The x axis spans the central 99.9% of the values (a heavy tail would squash the rest)."""
    fig = subplots(rows=1, cols=2, horizontal_spacing=0.1,
                   subplot_titles=["(a) unscaled latents z", f"(b) scaled: z × {scale_factor:.4f}"])
    for col, values in ((1, z), (2, z * scale_factor)):
        lim = float(values.abs().flatten().quantile(0.999))           # the last 0.1% would squash the rest
        edges = np.linspace(-lim, lim, bins + 1)
        mids = (edges[1:] + edges[:-1]) / 2
        for k in range(z.shape[1]):
            fig.add_scatter(x=rounded(mids, 4), y=rounded(histogram(values[:, k], edges), 4), mode="lines",
                            name=f"channel {k}", legendgroup=f"c{k}", showlegend=col == 1,
                            line=dict(color=COLORWAY[k % len(COLORWAY)], width=2), row=1, col=col,
                            hovertemplate=f"channel {k}: %{{y:.3f}} at %{{x:.2f}}<extra></extra>")
        fig.add_scatter(x=rounded(mids, 4), y=rounded(np.exp(-mids**2 / 2) / np.sqrt(2 * np.pi), 4), mode="lines",
                        name="N(0, 1)", legendgroup="n", showlegend=col == 1, row=1, col=col,
                        line=dict(color="#6b7280", dash="dash", width=2))
        fig.update_xaxes(title_text="value", row=1, col=col)
    fig.update_yaxes(title_text="density", row=1, col=1)
    return fig.update_layout(title=title or "The latents' values, before and after scaling", height=420,
                             legend=dict(orientation="h", y=-0.25))


def cost_quality_figure(models: Mapping[str, Mapping], rows: Sequence[Mapping], *, extra: Sequence[str] = (),
                        title: str | None = None):
    """Pixel against latent DiT in four panels: GMACs per sample, training images/s, judge accuracy, FD.

    `models`: name -> its costs (the bars); `rows`: the quality rows of those models and of `extra`
    (models measured for quality only, e.g. a variant with the same architecture)."""
    names = list(models)
    fig = subplots(rows=1, cols=4, horizontal_spacing=0.09,
                   subplot_titles=["GMACs / sample ↓", "train images / s ↑", "judge accuracy ↑", "FD ↓"])
    colours = {n: COLORWAY[i] for i, n in enumerate([*names, *extra])}
    for col, key in ((1, "gmacs_per_sample_ddim50"), (2, "train_images_per_s")):
        fig.add_bar(x=names, y=[models[n][key] for n in names], marker_color=[colours[n] for n in names],
                    showlegend=False, row=1, col=col, hovertemplate="%{x}: %{y:.3g}<extra></extra>")
    for col, key in ((3, "accuracy"), (4, "fd")):
        for n in [*names, *extra]:
            pts = [r for r in rows if r["model"] == n]
            fig.add_scatter(x=[f"s = {r['guidance']:g}" for r in pts], y=[r[key] for r in pts], mode="markers+lines",
                            name=n, legendgroup=n, showlegend=col == 3, marker=dict(size=10, color=colours[n]),
                            line=dict(color=colours[n]), row=1, col=col,
                            hovertemplate=f"{n}, %{{x}}: %{{y:.3f}}<extra></extra>")
    fig.update_yaxes(tickformat=".0%", row=1, col=3)
    return fig.update_layout(title=title or "What latent space buys (same training time)", height=400,
                             legend=dict(orientation="h", y=-0.2))


def autoencoder_mpl(x: torch.Tensor, recon: torch.Tensor, z: torch.Tensor, channel: int | None = None, *,
                    amplify: float = 4.0,
                    limit: float = 3.0, title: str = ""):
    """The widget's picture: one image, its reconstruction, the error and every latent channel
    (`channel`, if given, is marked)."""
    import matplotlib.pyplot as plt

    C = z.shape[0]
    fig, axes = plt.subplots(1, 3 + C, figsize=(2.0 * (3 + C), 2.4))
    pics = [x, recon.clamp(-1, 1), (amplify * (recon - x)).clamp(-1, 1)]
    names = ["original", "reconstruction", f"error × {amplify:g}"]
    for ax, p, n in zip(axes, pics, names):
        ax.imshow(((p.permute(1, 2, 0) + 1) / 2).clamp(0, 1).numpy(), interpolation="nearest")
        ax.set_title(n, fontsize=9)
    for k in range(C):
        ax = axes[3 + k]
        ax.imshow(z[k].numpy(), cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(f"latent {k}" + (" ◀" if k == channel else ""), fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
