"""Live ipywidgets for Colab / Jupyter: thin wrappers that call the library and `dit_book.viz`.

Only core ipywidgets with `Output` (what Colab supports without a custom widget manager).
One module per topic (`widgets.tokens`, `widgets.sampling`, ...). On the static site these
need a kernel; each chapter labels them "Live in Colab / Jupyter" next to a static twin.
"""


def assemble(controls, picture, readout, draw, observe=None):
    """The layout every widget of the book shares: redraw whenever a control changes (all of
    `controls`, or only those in `observe`), draw once, and stack the controls (wrapping), the
    picture and the readout in a VBox."""
    import ipywidgets as widgets

    for w in controls if observe is None else observe:
        w.observe(draw, names="value")
    draw()
    return widgets.VBox([widgets.HBox(list(controls), layout=widgets.Layout(flex_flow="row wrap")), picture, readout])
