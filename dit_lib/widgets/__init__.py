"""Live ipywidgets for Colab / Jupyter: thin wrappers that call the library and `dit_lib.viz`.

Only core ipywidgets with `Output` (what Colab supports without a custom widget manager).
One module per topic (`widgets.tokens`, `widgets.sampling`, ...). On the static site these
need a kernel; each chapter labels them "Live in Colab / Jupyter" next to a static twin.
"""
