"""Live widget for chapter 2: a timestep slider and a class dropdown show the conditioning
vector c = t_emb(t) + y_emb(y) that every DiT block receives. Needs a kernel (Colab / Jupyter);
its static twin on the site is `dit_book.viz.embeddings.conditioning_figure`.
"""
from __future__ import annotations

from typing import Sequence

import torch

from dit_lib.embeddings import LabelEmbedder, TimestepEmbedder

from ..plotting import figure_png
from ..viz.embeddings import conditioning_mpl
from . import assemble


def conditioning_explorer(t_embedder: TimestepEmbedder, y_embedder: LabelEmbedder, class_names: Sequence[str], *,
                          num_timesteps: int = 1000, t: int = 500, label: int = 0):
    """A VBox: timestep slider (0..num_timesteps-1, with a play button) and a label dropdown (the
    classes and, if the table has one, the null label) -> bars of t_emb, y_emb and c, and their norms."""
    import ipywidgets as widgets

    if len(class_names) != y_embedder.num_classes:
        raise ValueError(f"class_names has {len(class_names)} names but the label embedder has "
                         f"{y_embedder.num_classes} classes; pass one name per class.")
    options = [(name if name == str(i) else f"{i}: {name}", i) for i, name in enumerate(class_names)]
    if y_embedder.null_class is not None:
        options.append((f"{y_embedder.null_class}: ∅ null (no class)", y_embedder.null_class))
    t_slider = widgets.IntSlider(value=t, min=0, max=num_timesteps - 1, step=1, description="timestep t",
                                 continuous_update=False)
    play = widgets.Play(value=t, min=0, max=num_timesteps - 1, step=25, interval=400)
    widgets.jslink((play, "value"), (t_slider, "value"))
    y_pick = widgets.Dropdown(options=options, value=label, description="label y")
    picture = widgets.Image(format="png", layout=widgets.Layout(width="100%", max_width="900px"))
    readout = widgets.HTML()

    def draw(change=None) -> None:
        with torch.no_grad():
            te = t_embedder(torch.tensor([float(t_slider.value)]))[0]                    # (D,)
            ye = y_embedder(torch.tensor([y_pick.value]), train=False)[0]                # (D,)
        name = dict((v, k) for k, v in options)[y_pick.value]
        picture.value = figure_png(conditioning_mpl(te, ye, t_label=str(t_slider.value), y_label=name))
        cos = torch.nn.functional.cosine_similarity(te + ye, te, dim=0).item()
        readout.value = (f"‖t_emb‖ = {te.norm():.3f}, ‖y_emb‖ = {ye.norm():.3f}, ‖c‖ = {(te + ye).norm():.3f}"
                         f"<br>cos(c, t_emb) = {cos:.3f}: how much of c points the timestep's way")

    return assemble([play, t_slider, y_pick], picture, readout, draw, observe=[t_slider, y_pick])


__all__ = ["conditioning_explorer"]
