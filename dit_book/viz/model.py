"""Figures for chapter 5, the assembled DiT: the shape of every stage of the forward pass,
where the compute and the parameters go, and the paper's FID against Gflops.

Pure functions: counts and numbers in, figures (or HTML tables) out; nothing here runs, trains
or samples a model. The numbers come from the library: `dit_lib.anatomy.shape_trace` (the shapes,
read off one forward pass), `dit_lib.anatomy.param_breakdown` and `dit_lib.flops.count_macs`.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from dit_lib.anatomy import PARAM_ROLES, numbers_per_image

from ..plotting import COLORWAY, MAC_PARTS, figure, html_table, menu, slider, step, subtitle


# ----------------------------------------------------------------------------- shapes


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def shape_table_html(rows: Sequence[dict], *, caption: str | None = None) -> str:
    """The shape trace as an HTML table: step, weights, shape in symbols, shape, numbers per image."""
    return html_table(["step", "weights (state-dict name)", "shape", "here", "numbers per image"],
                      [(r["step"], r["module"], r["symbols"], _shape_text(r["shape"]),
                        f"{numbers_per_image(r['shape']):,}") for r in rows],
                      align=["left", "left", "left", "left", "right"], nowrap=(2, 3, 4), caption=caption)


def shape_table_figure(traces: Mapping[str, Sequence[dict]], *, active: str | None = None, title: str | None = None):
    """A table of the forward pass, stage by stage, with a dropdown over models.

    `traces`: model label -> rows of `shape_trace` (or `collapse_blocks` of them).
    """
    import plotly.graph_objects as go

    names = list(traces)
    if not names:
        raise ValueError("traces is empty; pass {model label: shape_trace(model)}.")
    active = names[0] if active is None else active
    if active not in traces:
        raise ValueError(f"active {active!r} is not one of {names}.")
    fig = figure()
    for name in names:
        rows = traces[name]
        cols = [[r["step"] for r in rows], [r["module"] for r in rows], [r["symbols"] for r in rows],
                [_shape_text(r["shape"]) for r in rows], [f"{numbers_per_image(r['shape']):,}" for r in rows]]
        fig.add_trace(go.Table(
            columnwidth=[1.9, 2.5, 1.5, 1.6, 1.2],
            header=dict(values=["<b>step</b>", "<b>weights</b>", "<b>shape</b>", "<b>here</b>",
                                "<b>numbers per image</b>"],
                        fill_color="#eef2f7", align=["left", "left", "left", "left", "right"],
                        font=dict(size=13), height=30),
            cells=dict(values=cols, align=["left", "left", "left", "left", "right"], height=27,
                       fill_color=[["#ffffff" if i % 2 == 0 else "#f7f9fb" for i in range(len(rows))]],
                       font=dict(size=12.5, family="Inter, Helvetica, Arial, sans-serif")),
            visible=name == active, name=name))

    def heading(name):
        rows = traces[name]
        by_key = {r.get("key"): r["shape"] for r in rows}
        first, inside, last = rows[0]["shape"], by_key["x_embedder"], by_key["unpatchify"]
        return (subtitle(title or "One forward pass, stage by stage",
                         f"{name}: {_shape_text(first)} → {_shape_text(inside)} inside → {_shape_text(last)}"))

    buttons = [step(n, {"visible": [m == n for m in names]}, {"title.text": heading(n)})
               for n in names]
    n_rows = max(len(v) for v in traces.values())
    height = 175 + 28 * n_rows
    fig.update_layout(title=dict(text=heading(active), y=1 - 30 / height, yanchor="top"),
                      updatemenus=[menu(buttons, active=names.index(active), x=0.0, xanchor="left", y=1.0,
                                        yanchor="bottom", pad=dict(b=6))])
    return fig.update_layout(height=height, margin=dict(t=120, b=10, l=10, r=10))


# ----------------------------------------------------------------------------- parameters


PARAM_PARTS = dict(zip(PARAM_ROLES, COLORWAY[1:8] + ["#9aa5b1"]))   # role (dit_lib.anatomy) -> colour


def _stacked_bars(fig, names, parts, colours, value_of, hover_unit):
    import plotly.graph_objects as go

    for label in parts:
        vals = [value_of(n, label) for n in names]
        tot = [sum(value_of(n, lb) for lb in parts) for n in names]
        fig.add_trace(go.Bar(
            y=names, x=vals, orientation="h", name=label, marker_color=colours[label],
            customdata=[[v, 100 * v / t if t else 0] for v, t in zip(vals, tot)],
            hovertemplate=f"%{{y}}<br>{label}<br>%{{customdata[0]:.3f}} {hover_unit} "
                          f"(%{{customdata[1]:.1f}} %)<extra></extra>"))


def _view_menu(x_titles: Mapping[str, str], active: int = 0) -> dict:
    """Dropdown between absolute bars and bars normalised to 100 %."""
    buttons = []
    for label, xt in x_titles.items():
        norm = "percent" if "%" in label else ""
        buttons.append(step(label, {"barnorm": norm, "xaxis.title.text": xt}, method="relayout"))
    return menu(buttons, active=active, x=1.0, xanchor="right", y=1.0, yanchor="bottom")


def params_breakdown_figure(breakdowns: Mapping[str, Mapping[str, int]], *, percent: bool = True,
                            title: str | None = None):
    """Stacked horizontal bars: where each model's parameters live (`param_breakdown` per model),
    with a dropdown between the share of the total and millions of parameters."""

    names = list(breakdowns)
    if not names:
        raise ValueError("breakdowns is empty; pass {model name: param_breakdown(model)}.")
    fig = figure()
    _stacked_bars(fig, names, list(PARAM_PARTS), PARAM_PARTS, lambda n, lb: breakdowns[n].get(lb, 0) / 1e6,
                  "M parameters")
    titles = {"share of the parameters (%)": "share of all parameters (%)",
              "millions of parameters": "parameters (millions)"}
    fig.update_layout(barmode="stack", barnorm="percent" if percent else "",
                      title=title or "Where the parameters live",
                      xaxis_title=list(titles.values())[0 if percent else 1],
                      yaxis=dict(autorange="reversed", title=None),
                      updatemenus=[_view_menu(titles, 0 if percent else 1)],
                      legend=dict(orientation="h", x=0, y=-0.15, yanchor="top", font=dict(size=11)))
    return fig.update_layout(height=200 + 30 * len(names), margin=dict(t=80, b=40))


# ----------------------------------------------------------------------------- compute


def macs_breakdown_figure(counts: Mapping[str, Mapping[str, object]], *, active: str | None = None,
                          percent: bool = True, prefix: str = "image size ", title: str | None = None):
    """Stacked horizontal bars of one forward pass's MACs by where they happen, one bar per model;
    a slider over input sizes (`counts`: size label -> {model name: MacCount}) and a dropdown
    between the share of the total and GMACs. Colours and labels are those of chapter 1
    (`dit_book.plotting.MAC_PARTS`)."""

    sizes = list(counts)
    if not sizes:
        raise ValueError("counts is empty; pass {size label: {model name: MacCount}}.")
    names = list(counts[sizes[0]])
    for s in sizes:
        if list(counts[s]) != names:
            raise ValueError(f"every size must list the same models in the same order; {s!r} differs.")
    active = sizes[len(sizes) // 2] if active is None else active
    if active not in counts:
        raise ValueError(f"active {active!r} is not one of {sizes}.")
    colours = {label: COLORWAY[i % len(COLORWAY)] for i, label in enumerate(MAC_PARTS.values())}
    fields = dict(zip(MAC_PARTS.values(), MAC_PARTS))

    def value(size, n, label):
        return getattr(counts[size][n], fields[label]) / 1e9

    fig = figure()
    _stacked_bars(fig, names, list(MAC_PARTS.values()), colours, lambda n, lb: value(active, n, lb), "GMACs")

    def heading(size):
        share = {n: counts[size][n].attention_matmul / counts[size][n].total for n in names}
        lo, hi = min(share, key=share.get), max(share, key=share.get)
        return subtitle(title or "Where one forward pass spends its multiply-accumulates",
                        f"{prefix}{size}: the L² attention products take {100 * share[lo]:.1f} % ({lo}) "
                        f"to {100 * share[hi]:.1f} % ({hi})")

    steps = []
    for s in sizes:
        xs, cds = [], []
        for label in MAC_PARTS.values():
            vals = [value(s, n, label) for n in names]
            tot = [counts[s][n].total / 1e9 for n in names]
            xs.append(vals)
            cds.append([[v, 100 * v / t] for v, t in zip(vals, tot)])
        steps.append(step(str(s), {"x": xs, "customdata": cds}, {"title.text": heading(s)}))
    plot_px = 60 + 30 * len(names)          # height of the plotting area
    titles = {"share of the MACs (%)": "share of the multiply-accumulates (%)",
              "GMACs per image": "GMACs per image (the paper's \"Gflops\")"}
    fig.update_layout(barmode="stack", barnorm="percent" if percent else "",
                      title=dict(text=heading(active), y=1 - 30 / (125 + plot_px + 230), yanchor="top"),
                      xaxis_title=list(titles.values())[0 if percent else 1],
                      yaxis=dict(autorange="reversed", title=None),
                      updatemenus=[_view_menu(titles, 0 if percent else 1)],
                      sliders=[slider(steps, active=sizes.index(active), prefix=prefix, x=0, len=1.0, y=0,
                                      yanchor="top", pad=45)],
                      # below the axis title and the slider: 150 px under the plot area
                      legend=dict(orientation="h", x=0, y=-150 / plot_px, yanchor="top", font=dict(size=11)))
    return fig.update_layout(height=125 + plot_px + 230, margin=dict(t=125, b=230))


# ----------------------------------------------------------------------------- FID against Gflops

SIZE_ORDER = ("S", "B", "L", "XL")
PATCH_SYMBOLS = {8: "circle", 4: "square", 2: "diamond"}


def fid_gflops_figure(gflops: Mapping[str, float], fid: Mapping[str, float], params: Mapping[str, int] | None = None,
                      *, title: str | None = None):
    """The paper's FID-50K against Gflops (log x): colour = model size, marker = patch size, with a
    dropdown that joins the models of one size (varying p) or of one patch size (varying size).

    Keys are names like "DiT-XL/2" (or "XL/2"); `gflops` and `fid` must have the same keys.
    """
    import plotly.graph_objects as go

    if set(gflops) != set(fid):
        raise ValueError(f"gflops and fid must name the same models; only in one: {sorted(set(gflops) ^ set(fid))}.")

    def split(name):
        size, p = name.removeprefix("DiT-").split("/")
        return size, int(p)

    names = sorted(gflops, key=lambda n: (SIZE_ORDER.index(split(n)[0]) if split(n)[0] in SIZE_ORDER else 99,
                                          -split(n)[1]))
    sizes = [s for s in SIZE_ORDER if any(split(n)[0] == s for n in names)]
    patches = sorted({split(n)[1] for n in names}, reverse=True)
    fig = figure()

    def hover(n):
        extra = f"<br>{params[n] / 1e6:.0f} M parameters" if params and n in params else ""
        return f"<b>{n}</b><br>{gflops[n]:.2f} Gflops<br>FID-50K {fid[n]:.2f}{extra}"

    def label_position(n):              # keep the labels of close points apart
        near = [m for m in names if m != n and abs(math.log10(gflops[m] / gflops[n])) < 0.15
                and abs(fid[m] - fid[n]) < 0.08 * max(fid.values())]
        left = any(gflops[m] < gflops[n] for m in near)
        right = any(gflops[m] > gflops[n] for m in near)
        return {(True, True): "bottom center", (False, True): "middle left",
                (True, False): "middle right"}.get((left, right), "top right")

    for i, s in enumerate(sizes):       # markers (and, when chosen, the line through one size)
        ns = sorted([n for n in names if split(n)[0] == s], key=lambda n: gflops[n])
        fig.add_trace(go.Scatter(
            x=[gflops[n] for n in ns], y=[fid[n] for n in ns], mode="lines+markers+text", name=f"DiT-{s}",
            line=dict(color=COLORWAY[i], width=2), legendgroup=s,
            marker=dict(symbol=[PATCH_SYMBOLS.get(split(n)[1], "circle") for n in ns], size=13, color=COLORWAY[i],
                        line=dict(color="#ffffff", width=1)),
            text=[f" {s}/{split(n)[1]} " for n in ns], textposition=[label_position(n) for n in ns],
            textfont=dict(size=11),
            hovertext=[hover(n) for n in ns], hoverinfo="text"))
    for p in patches:                   # lines through one patch size (hidden at first)
        ns = sorted([n for n in names if split(n)[1] == p], key=lambda n: gflops[n])
        fig.add_trace(go.Scatter(
            x=[gflops[n] for n in ns], y=[fid[n] for n in ns], mode="lines", name=f"p = {p}", visible=False,
            line=dict(color="#4b5563", width=1.5, dash="dot"), hoverinfo="skip", showlegend=True))
    for p in patches:                   # legend entries for the marker shapes
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"patch size p = {p}",
                                 marker=dict(symbol=PATCH_SYMBOLS.get(p, "circle"), size=11, color="#4b5563"),
                                 hoverinfo="skip"))
    ns, np_ = len(sizes), len(patches)

    views = {
        "join the models of one size": ([True] * ns + [False] * np_ + [True] * np_, True),
        "join the models of one patch size": ([True] * ns + [True] * np_ + [True] * np_, False),
        "no lines": ([True] * ns + [False] * np_ + [True] * np_, False),
    }
    buttons = []
    for label, (vis, join) in views.items():
        modes = ["lines+markers+text" if join else "markers+text"] * ns + ["lines"] * np_ + ["markers"] * np_
        buttons.append(step(label, {"visible": vis, "mode": modes}, method="restyle"))
    fig.update_layout(
        title=title or "Compute predicts quality: FID-50K against Gflops (DiT paper, Table 4)",
        xaxis=dict(type="log", title="Gflops per forward pass (GMACs, log scale)",   # room for the labels
                   range=[math.log10(min(gflops.values())) - 0.15, math.log10(max(gflops.values())) + 0.3]),
        yaxis=dict(title="FID-50K after 400K steps, no guidance (lower is better)"),
        updatemenus=[menu(buttons, active=0, x=1.0, xanchor="right", y=1.0, yanchor="bottom")],
        legend=dict(x=1.02, y=1, xanchor="left", font=dict(size=11)))
    return fig.update_layout(height=540, margin=dict(t=90, r=170))


__all__ = ["shape_table_html",
           "shape_table_figure", "PARAM_PARTS", "params_breakdown_figure",
           "macs_breakdown_figure", "SIZE_ORDER", "PATCH_SYMBOLS", "fid_gflops_figure"]
