"""dit_lib: a small, readable, faithful PyTorch implementation of the Diffusion Transformer (DiT).

Layers, top to bottom. A module imports only from the layers below its own, and modules side by
side (`|`) do not import each other. `lint-imports` (run by `make test`) checks exactly this, lazy
imports inside functions included, against the contracts in pyproject.toml's [tool.importlinter]:

    command line        sample | extract_latents   (`python -m dit_lib.sample`, `... .extract_latents`; train below)
    checkpoints         pretrained
    training            train | evaluation  (train: the command line of trainer; evaluation: the judge)
                        trainer     (TrainConfig, Trainer: the step, the EMA, the probes the book plots)
    your own images     image_files | latent_pipeline   (.npz or class folders; labels -> pictures via latents)
    latent space        latents     (encode once, scale, store; decode)
                        data | autoencoder   (data: the built-in datasets; autoencoder: diffusers' AutoencoderKL)
                        batches
    uses of diffusion   sampling | attention_maps | conditioning | variance | levels
    diffusion           diffusion   (inside: respace > gaussian_diffusion > samplers | losses > schedules)
    model core          anatomy | checkpoint | flops
                        models
                        blocks
                        attention | distances | embeddings | patchify
                        _checks | _cli | drawing | machine | paper

What only the book's chapters need (figures, widgets, notebook helpers) lives above, in the
package `dit_book` of the same distribution; nothing here imports it.
Besides: the diffusion imports nothing of the architecture (a "model" is any callable), and no two
sibling modules, at any depth, import each other in a circle.
"""
__version__ = "0.1.0"
