"""dit_lib: a small, readable, faithful PyTorch implementation of the Diffusion Transformer (DiT).

Layers, top to bottom. A module imports only from the layers below its own, and modules side by
side (`|`) do not import each other. `lint-imports` (run by `make test`) checks exactly this, lazy
imports inside functions included, against the contracts in pyproject.toml's [tool.importlinter]:

    the book            widgets
                        viz | notebook
    checkpoints         pretrained
    training            train | evaluation
                        data
    uses of diffusion   sampling | attention_maps | conditioning | variance
    diffusion           diffusion   (inside: respace > gaussian_diffusion > samplers | losses > schedules)
    model core          checkpoint | flops
                        models
                        blocks
                        attention | embeddings | patchify
                        _checks | machine | paper

Besides: the diffusion imports nothing of the architecture (a "model" is any callable), and no two
sibling modules, at any depth, import each other in a circle.
"""
__version__ = "0.1.0"
