"""Figures and the widget of chapter 7 (viz.posterior, widgets.posterior): the posterior and the
learned variance.

Each figure's arrays are checked against the numbers it was given, each has a title and one control
step per precomputed value (a slider step changes the data), bad input raises a clear error, and the
widget constructs, reacts to both sliders and reports bad input.
"""

import numpy as np
import pytest
import torch

pytest.importorskip("plotly")

from dit_book.viz import band as vband
from dit_book.viz import bound as vbound
from dit_book.viz import posterior as vp

from conftest import title_of


def gauss(x, m, s):
    return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))


def panel(t, m, s):
    x = np.linspace(m - 4 * s, m + 4 * s, 11)
    hx = np.linspace(m - 3 * s, m + 3 * s, 5)
    return dict(
        t=t,
        x=x,
        prior=gauss(x, m - s, 3 * s),
        likelihood=gauss(x, m + s, 1.2 * s),
        posterior=gauss(x, m, s),
        hist_x=hx,
        hist_density=gauss(hx, m, s),
        mean=m,
        std=s,
        mc_mean=m + 0.01 * s,
        mc_std=1.01 * s,
        n_mc=1234,
    )


# ----------------------------------------------------------------------------- Bayes


def test_bayes_figure():
    panels = [panel(1, 0.5, 0.01), panel(999, 1.0, 0.14)]
    fig = vp.bayes_figure(panels, x0=0.5)
    assert "product of two Gaussians" in title_of(fig) and "t = 1" in title_of(fig)
    hist, prior, lik, post = fig.data
    np.testing.assert_allclose(post.y, panels[0]["posterior"], rtol=1e-3)
    np.testing.assert_allclose(hist.x, panels[0]["hist_x"], rtol=1e-5)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["1", "999"]
    last = steps[-1].args
    np.testing.assert_allclose(last[0]["y"][3], panels[1]["posterior"], rtol=1e-3)  # the data change
    assert last[0]["y"][3] != list(post.y)
    assert "t = 999" in last[1]["title.text"] and "1,234 forward runs" in last[1]["title.text"]
    assert last[1]["xaxis.range"] == pytest.approx([panels[1]["x"][0], panels[1]["x"][-1]], rel=1e-5)
    with pytest.raises(ValueError, match="panels is empty"):
        vp.bayes_figure([], x0=0.5)
    bad = panel(1, 0.5, 0.01)
    del bad["hist_x"]
    with pytest.raises(ValueError, match="lacks"):
        vp.bayes_figure([bad], x0=0.5)


# ----------------------------------------------------------------------------- the slips


def test_reverse_chain_figure():
    t = np.arange(10)
    truth = np.sqrt(np.linspace(0.1, 1.0, 10))
    blowup = np.full(10, np.nan)
    blowup[6:] = 10.0 ** np.arange(4) * 100
    fig = vp.reverse_chain_figure(
        t, {"truth": truth, "exact": truth * 1.01}, {"truth rms": truth, "exact": truth, "slip": blowup}, first_steps=5
    )
    title_of(fig)
    assert len(fig.data) == 5
    np.testing.assert_allclose(fig.data[1].y, truth * 1.01, rtol=1e-5)
    assert list(fig.data[0].x) == list(t + 1)
    # right panel: the chain's order (t = 9 first), first 5 steps; NaN becomes a gap
    assert list(fig.data[4].x) == [0, 1, 2, 3, 4]
    assert list(fig.data[4].y)[:4] == [1e5, 1e4, 1e3, 1e2] and fig.data[4].y[4] is None
    assert [d.showlegend for d in fig.data] == [True, True, True, False, True]  # "exact" once in the legend
    with pytest.raises(ValueError, match="entries"):
        vp.reverse_chain_figure(t, {"a": truth[:5]}, {"b": truth})
    with pytest.raises(ValueError, match="empty"):
        vp.reverse_chain_figure(t, {}, {"b": truth})


# ----------------------------------------------------------------------------- the band


def band_inputs(n=6):
    t = np.array([0, 1, 10, 100, 300, 999])[:n]
    lb = np.log(np.linspace(1e-4, 0.02, n))
    lbt = lb - np.linspace(0.8, 0.0, n)
    lq = np.stack([lbt + 0.1, (lb + lbt) / 2, lb], axis=1)
    fq = np.stack([np.full(n, 0.2), np.full(n, 0.6), np.full(n, 1.0)], axis=1)
    best = (lb + lbt) / 2
    bf = np.full(n, 0.5)
    bf[0] = np.nan
    return t, lb, lbt, lq, best, fq, bf


def test_variance_band_figure():
    t, lb, lbt, lq, best, fq, bf = band_inputs()
    fig = vband.variance_band_figure(t, lb, lbt, lq, best, fq, bf, position_max_t=100)
    assert "band" in title_of(fig)
    top, bottom, q90, q10, med, best_tr = fig.data
    np.testing.assert_allclose(top.y, lb, rtol=1e-4)
    np.testing.assert_allclose(med.y, lq[:, 1], rtol=1e-4)
    assert list(top.x) == list(t + 1)  # log axis of t + 1 ...
    assert fig.layout.xaxis.title.text == "t (array index)"  # ... labelled with t
    assert list(fig.layout.xaxis.ticktext)[:3] == ["0", "1", "3"] and list(fig.layout.xaxis.tickvals)[:3] == [1, 2, 4]
    menu = fig.layout.updatemenus[0]  # its own row, under the title
    assert menu.y == 1.0 and menu.yanchor == "bottom" and fig.layout.title.yref == "container"
    assert fig.layout.margin.t >= 120
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["ln Σ", "ln Σ − ln β_t", "position in the band"]
    rel = buttons[1].args[0]["y"]
    np.testing.assert_allclose(rel[1], lbt - lb, rtol=1e-4, atol=1e-9)  # bottom edge ln(bt / b)
    pos = buttons[2].args[0]
    assert pos["x"][0] == [1, 2, 11, 101]  # stops at position_max_t
    assert pos["y"][0] == [1.0] * 4 and pos["y"][1] == [0.0] * 4
    assert pos["y"][5][0] is None  # NaN: a gap
    with pytest.raises(ValueError, match="must not exceed"):
        vband.variance_band_figure(t, lbt, lb, lq, best, fq, bf)
    with pytest.raises(ValueError, match=r"\(n_t, 3\)"):
        vband.variance_band_figure(t, lb, lbt, lq[:, :2], best, fq, bf)
    with pytest.raises(ValueError, match="entries"):
        vband.variance_band_figure(t, lb[:3], lbt, lq, best, fq, bf)


def test_band_maps_figure():
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, (3, 4, 4))
    xt = rng.normal(size=(2, 3, 4, 4))
    fr = rng.uniform(0, 1, (2, 3, 4, 4))
    fig = vband.band_maps_figure([1, 100], x0, xt, fr, labels=["a", "b", "c"])
    title_of(fig)
    assert len(fig.data) == 9
    np.testing.assert_allclose(fig.data[0].z, x0[0], atol=1e-3)
    np.testing.assert_allclose(fig.data[3].z, xt[0, 0], atol=1e-3)
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["1", "100"]
    z_last = steps[1].args[0]["z"]
    np.testing.assert_allclose(z_last[3], fr[1, 0], atol=1e-3)  # frac of image 1 at t = 100
    assert list(steps[1].args[2]) == list(range(3, 9))
    with pytest.raises(ValueError, match="shape"):
        vband.band_maps_figure([1], x0, xt, fr)


# ----------------------------------------------------------------------------- the bound term


def test_vb_curves_figure():
    v = np.linspace(-0.25, 1.25, 7)  # the weight v: 0 and 1 at 1, 5
    curves = np.array([(v - 0.5) ** 2 + 1, (v - 0.0) ** 2 + 2])
    learned, small, large = np.array([0.9, 1.9]), curves[:, 1], curves[:, 5]
    per_t = (
        np.array([0, 1, 10]),
        np.array([1.0, 2.0, 3.0]),
        np.array([1.5, 2.2, 3.0]),
        np.array([1.1, 2.1, 3.0]),
        np.array([1.05, 2.05, 3.0]),
    )
    fig = vbound.vb_curves_figure([1, 10], v, curves, learned, small, large, per_t=per_t)
    assert "t = 1" in title_of(fig)
    np.testing.assert_allclose(fig.data[0].y, curves[0], rtol=1e-4)
    assert list(fig.data[1].x) == [0.5]  # the best single v
    assert list(fig.data[2].x) == [0.0, 1.0]  # beta-tilde at v = 0, beta at 1
    assert fig.layout.xaxis2.title.text == "t (array index)"
    np.testing.assert_allclose(fig.data[5].y, [1.1, 1.05, 1.0], rtol=1e-4)  # beta / learned
    steps = fig.layout.sliders[0].steps
    args = steps[1].args
    assert list(args[2]) == [0, 1, 2, 3, 7]  # left traces + the marker
    assert args[0]["x"][1] == [0.0]
    assert args[0]["x"][4] == [11.0] * 3  # marker at t = 10
    lo, hi = args[1]["yaxis.range"]
    assert lo < min(curves[1].min(), learned[1]) and hi > max(small[1], large[1])
    with pytest.raises(ValueError, match="one column per value"):
        vbound.vb_curves_figure([1, 10], v[:3], curves, learned, small, large)


def test_decoder_figure():
    levels = np.linspace(-1, 1, 256)
    mu, sd = np.array([-0.999, 0.5]), np.array([0.01, 0.02])
    edges = torch.tensor(np.concatenate([[-np.inf], (levels[1:] + levels[:-1]) / 2, [np.inf]]))
    cdf = [torch.special.ndtr((edges - m) / s).numpy() for m, s in zip(mu, sd)]
    probs = np.stack([c[1:] - c[:-1] for c in cdf])
    fig = vbound.decoder_figure(levels, probs, mu, sd, np.array([-1.0, 0.5]), names=["bg", "ink"], window=5)
    assert "sum to 1.000000" in title_of(fig)
    bars, line = fig.data
    assert len(bars.x) == 6 and bars.x[0] == pytest.approx(-1.0)  # clipped at the lowest bin
    assert bars.marker.color[0] != bars.marker.color[1]  # the bin of x_0 highlighted
    b = fig.layout.updatemenus[0].buttons
    assert [x.label for x in b] == ["bg", "ink"]
    assert fig.layout.updatemenus[0].y == 1.0 and fig.layout.updatemenus[0].yanchor == "bottom"  # below the title
    assert len(b[1].args[0]["x"][0]) == 11
    with pytest.raises(ValueError, match="one column per level"):
        vbound.decoder_figure(levels[:10], probs, mu, sd, mu)


# ----------------------------------------------------------------------------- the widget


def test_explorer_mpl():
    v = np.linspace(-0.25, 1.25, 7)
    fig = vband.explorer_mpl(v, (v - 0.5) ** 2, 0.0, 0.25, 0.1, np.zeros((2, 8, 8)), np.ones((2, 8, 8)), title="x")
    assert len(fig.axes) == 1 + 4 + 1  # curve, 2 x 2 maps, colour bar
    with pytest.raises(ValueError, match="one value per v"):
        vband.explorer_mpl(v, v[:3], 0.0, 0.25, 0.1, np.zeros((2, 8, 8)), np.ones((2, 8, 8)))


def test_variance_explorer_widget():
    pytest.importorskip("ipywidgets")
    from conftest import nudged_micro_dit

    from dit_book.widgets.posterior import V_GRID, nearest_v, timestep_options, variance_explorer

    opts = timestep_options(1000)
    assert opts[:20] == list(range(20)) and opts[-1] == 999 and opts == sorted(set(opts))
    assert nearest_v(0.51) == int(np.argmin(np.abs(V_GRID - 0.5)))
    model = nudged_micro_dit(8, 0.05)
    images, labels = torch.rand(4, 1, 8, 8) * 2 - 1, torch.arange(4)
    box = variance_explorer(model, images, labels, t=1, v=0.0, n_show=2)
    (t_slider, v_slider), picture, readout = box.children[0].children, box.children[1], box.children[2]
    assert picture.value[:4] == b"\x89PNG"
    assert "your v = 0.000" in readout.value and "the model's own v" in readout.value
    assert V_GRID[0] < 0 < 1 < V_GRID[-1]  # v: 0 is beta-tilde, 1 is beta
    first = readout.value
    v_slider.value = 1.0
    assert "your v = 1.000" in readout.value and readout.value != first
    t_slider.value = 100
    assert "β̃/β" in readout.value
    with pytest.raises(ValueError, match="t must be one of"):
        variance_explorer(model, images, labels, t=1001)
    with pytest.raises(ValueError, match="v must lie"):
        variance_explorer(model, images, labels, v=2.0)
    with pytest.raises(ValueError, match="at least 2"):
        timestep_options(1)
