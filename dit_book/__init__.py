"""dit_book: what only the chapters of The DiT Book need, kept out of the library.

It sits above `dit_lib` (the DiT itself, its diffusion, sampling, training and the analyses
that run a model) and imports from it; `dit_lib` never imports `dit_book`. Both packages ship
in the one distribution (`pip install` of this repository brings both, as the Colab set-up cell
does). Inside, one module per chapter or topic:

    viz/        figures: pure functions, tensors or numbers in, plotly or matplotlib figures out
                (they never train or sample)
    widgets/    live ipywidgets for Colab / Jupyter: thin wrappers over dit_lib and viz
    notebook    `glue` (numbers into the prose) and `show_source` (the library's own code)
"""
