"""Figures for chapter 5, the assembled DiT: the shape of every stage of the forward pass,
where the compute and the parameters go, and the paper's FID against Gflops.

Pure functions: models, counts and numbers in, figures (or HTML tables) out; nothing here trains
or samples. `shape_trace` runs one forward pass, which on a model built on the meta device
(`dit_lib.flops.build_on_meta`) costs no memory and no time, to read the shapes off.
"""
from __future__ import annotations

import html
import math
from typing import Mapping, Sequence

import torch

from . import COLORWAY, style
from .tokens import MAC_PARTS

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
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    cfg = model.config
    device = model.pos_embed.device
    H, W = model.x_embedder.img_size
    C, B = cfg.in_channels, batch_size
    x = torch.zeros(B, C, H, W, device=device)
    t = torch.zeros(B, dtype=torch.long, device=device)
    y = torch.zeros(B, dtype=torch.long, device=device)

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


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def html_table(header: Sequence[str], rows: Sequence[Sequence], *, align: Sequence[str] | None = None,
               nowrap: Sequence[int] = (0,), caption: str | None = None) -> str:
    """A plain HTML table (escaped text, themed by the site's CSS) for notebooks and widgets.

    `align`: "left"/"right" per column; `nowrap`: indices of columns whose cells never wrap
    (default: the first, which names the row; shapes such as (8, 256, 1152) read badly over
    three lines).
    """
    align = list(align or ["left"] * len(header))
    if len(align) != len(header):
        raise ValueError(f"align has {len(align)} entries for {len(header)} columns.")
    for r in rows:
        if len(r) != len(header):
            raise ValueError(f"a row has {len(r)} cells but the header has {len(header)}: {r!r}.")

    def css(j):
        return f"text-align:{align[j]}" + ("; white-space:nowrap" if j in nowrap else "")

    th = "".join(f'<th style="{css(j)}">{html.escape(str(h))}</th>' for j, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td style="{css(j)}">{html.escape(str(c))}</td>'
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="table dit-table">{cap}<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


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
    fig = go.Figure()
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
        return ((title or "One forward pass, stage by stage") +
                f"<br><sup>{name}: {_shape_text(first)} → {_shape_text(inside)} inside → {_shape_text(last)}</sup>")

    buttons = [dict(label=n, method="update", args=[{"visible": [m == n for m in names]}, {"title.text": heading(n)}])
               for n in names]
    n_rows = max(len(v) for v in traces.values())
    height = 175 + 28 * n_rows
    fig.update_layout(title=dict(text=heading(active), y=1 - 30 / height, yanchor="top"),
                      updatemenus=[dict(type="dropdown", buttons=buttons, active=names.index(active),
                                        x=0.0, xanchor="left", y=1.0, yanchor="bottom", pad=dict(b=6))])
    return style(fig, height=height).update_layout(margin=dict(t=120, b=10, l=10, r=10))


# ----------------------------------------------------------------------------- parameters


PARAM_PARTS = {   # label -> (colour, which parameters)
    "attention projections qkv, out": COLORWAY[1],
    "MLP fc1, fc2": COLORWAY[2],
    "adaLN-Zero regressions": COLORWAY[3],
    "patch embedding": COLORWAY[4],
    "final linear": COLORWAY[5],
    "timestep MLP": COLORWAY[6],
    "label table (with the null row)": COLORWAY[7],
    "pos_embed (fixed, frozen)": "#9aa5b1",
}


def param_breakdown(model) -> dict[str, int]:
    """Parameters of a DiT grouped by role (the labels of `PARAM_PARTS`); they sum to `count_params(model)`."""
    parts = dict.fromkeys(PARAM_PARTS, 0)
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
        buttons.append(dict(label=label, method="relayout", args=[{"barnorm": norm, "xaxis.title.text": xt}]))
    return dict(type="dropdown", buttons=buttons, active=active, x=1.0, xanchor="right", y=1.0, yanchor="bottom")


def params_breakdown_figure(breakdowns: Mapping[str, Mapping[str, int]], *, percent: bool = True,
                            title: str | None = None):
    """Stacked horizontal bars: where each model's parameters live (`param_breakdown` per model),
    with a dropdown between the share of the total and millions of parameters."""
    import plotly.graph_objects as go

    names = list(breakdowns)
    if not names:
        raise ValueError("breakdowns is empty; pass {model name: param_breakdown(model)}.")
    fig = go.Figure()
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
    return style(fig, height=200 + 30 * len(names)).update_layout(margin=dict(t=80, b=40))


# ----------------------------------------------------------------------------- compute


def macs_breakdown_figure(counts: Mapping[str, Mapping[str, object]], *, active: str | None = None,
                          percent: bool = True, prefix: str = "image size ", title: str | None = None):
    """Stacked horizontal bars of one forward pass's MACs by where they happen, one bar per model;
    a slider over input sizes (`counts`: size label -> {model name: MacCount}) and a dropdown
    between the share of the total and GMACs. Colours and labels are those of chapter 1
    (`viz.tokens.MAC_PARTS`)."""
    import plotly.graph_objects as go

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

    fig = go.Figure()
    _stacked_bars(fig, names, list(MAC_PARTS.values()), colours, lambda n, lb: value(active, n, lb), "GMACs")

    def heading(size):
        share = {n: counts[size][n].attention_matmul / counts[size][n].total for n in names}
        lo, hi = min(share, key=share.get), max(share, key=share.get)
        return ((title or "Where one forward pass spends its multiply-accumulates") +
                f"<br><sup>{prefix}{size}: the L² attention products take {100 * share[lo]:.1f} % ({lo}) "
                f"to {100 * share[hi]:.1f} % ({hi})</sup>")

    steps = []
    for s in sizes:
        xs, cds = [], []
        for label in MAC_PARTS.values():
            vals = [value(s, n, label) for n in names]
            tot = [counts[s][n].total / 1e9 for n in names]
            xs.append(vals)
            cds.append([[v, 100 * v / t] for v, t in zip(vals, tot)])
        steps.append(dict(label=str(s), method="update", args=[{"x": xs, "customdata": cds},
                                                                  {"title.text": heading(s)}]))
    plot_px = 60 + 30 * len(names)          # height of the plotting area
    titles = {"share of the MACs (%)": "share of the multiply-accumulates (%)",
              "GMACs per image": "GMACs per image (the paper's \"Gflops\")"}
    fig.update_layout(barmode="stack", barnorm="percent" if percent else "",
                      title=dict(text=heading(active), y=1 - 30 / (125 + plot_px + 230), yanchor="top"),
                      xaxis_title=list(titles.values())[0 if percent else 1],
                      yaxis=dict(autorange="reversed", title=None),
                      updatemenus=[_view_menu(titles, 0 if percent else 1)],
                      sliders=[dict(active=sizes.index(active), currentvalue=dict(prefix=prefix),
                                    x=0, len=1.0, y=0, yanchor="top", pad=dict(t=45), steps=steps)],
                      # below the axis title and the slider: 150 px under the plot area
                      legend=dict(orientation="h", x=0, y=-150 / plot_px, yanchor="top", font=dict(size=11)))
    return style(fig, height=125 + plot_px + 230).update_layout(margin=dict(t=125, b=230))


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
    fig = go.Figure()

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
        buttons.append(dict(label=label, method="restyle", args=[{"visible": vis, "mode": modes}]))
    fig.update_layout(
        title=title or "Compute predicts quality: FID-50K against Gflops (DiT paper, Table 4)",
        xaxis=dict(type="log", title="Gflops per forward pass (GMACs, log scale)",   # room for the labels
                   range=[math.log10(min(gflops.values())) - 0.15, math.log10(max(gflops.values())) + 0.3]),
        yaxis=dict(title="FID-50K after 400K steps, no guidance (lower is better)"),
        updatemenus=[dict(type="dropdown", buttons=buttons, active=0, x=1.0, xanchor="right", y=1.0,
                          yanchor="bottom")],
        legend=dict(x=1.02, y=1, xanchor="left", font=dict(size=11)))
    return style(fig, height=540).update_layout(margin=dict(t=90, r=170))


__all__ = ["shape_trace", "collapse_blocks", "numbers_per_image", "html_table", "shape_table_html",
           "shape_table_figure", "PARAM_PARTS", "param_breakdown", "params_breakdown_figure",
           "macs_breakdown_figure", "SIZE_ORDER", "PATCH_SYMBOLS", "fid_gflops_figure"]
