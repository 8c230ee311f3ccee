"""The chapters' figures: one module per chapter or topic (`viz.tokens`, `viz.attention`, ...).

Pure functions: tensors or numbers in, figures out (they never train or sample). Plotly figures
are for the site (sliders and dropdowns over precomputed data, no kernel needed); the `*_mpl`
functions draw a matplotlib `Figure` for the live widgets. Every figure has the book's look, the
plotly template registered by `dit_book.plotting` (with the few helpers the modules share).
"""
