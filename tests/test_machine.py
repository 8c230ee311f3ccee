"""dit_lib.machine: the processor record that checkpoints and benchmarks carry."""

import torch

from dit_lib.machine import describe, load_average, processor, same_family


def test_processor_record_is_plain_data_and_saves_with_weights_only(tmp_path):
    info = processor()
    assert set(info) == {"model", "machine", "avx2", "avx512f", "torch"}
    assert all(v is None or isinstance(v, (str, bool)) for v in info.values())  # no TorchVersion objects
    torch.save({"processor": info}, tmp_path / "p.pt")
    assert torch.load(tmp_path / "p.pt", weights_only=True)["processor"] == info


def test_describe_and_family():
    avx2 = {"model": "AMD EPYC", "machine": "x86_64", "avx2": True, "avx512f": False, "torch": "2.13.0+cpu"}
    avx512 = dict(avx2, model="Intel Xeon", avx512f=True)
    assert describe(avx2) == "AMD EPYC (x86_64; AVX2, no AVX-512; torch 2.13.0+cpu)"
    assert "vector extensions unknown" in describe(dict(avx2, avx2=None, avx512f=None))
    assert same_family(avx2, dict(avx2, model="another AVX2 CPU")) and not same_family(avx2, avx512)
    assert describe().startswith(processor()["model"]) and "cores)" in load_average()
