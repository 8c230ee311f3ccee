"""dit_lib: a small, readable, faithful PyTorch implementation of the Diffusion Transformer (DiT).

Layers: core (patchify, embeddings, attention, blocks, models) -> diffusion -> sampling -> training.
"""
__version__ = "0.1.0"
