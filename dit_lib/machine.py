"""Which processor computed a result, recorded next to it.

Seeded float32 training is bit-for-bit reproducible on one kind of processor only: matrix
products and exp/log/sin are vectorised differently with AVX2 and with AVX-512, so the last bits of
every step differ, and over the steps so do the weights (not the quality). The shipped
checkpoints and benchmarks therefore record the processor that made them.
"""
from __future__ import annotations

import os
import platform

import torch


def processor() -> dict:
    """{'model': 'AMD EPYC', 'machine': 'x86_64', 'avx2': True, 'avx512f': False, 'torch': '2.13.0+cpu'}.

    Reads /proc/cpuinfo where it exists (Linux); elsewhere the flags are None (unknown).
    """
    model, flags = platform.processor() or "unknown", None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("unknown", "", platform.machine()):
                    model = value.strip()
                elif key == "flags" and flags is None:
                    flags = set(value.split())
    except OSError:
        pass
    return {"model": model, "machine": platform.machine(),
            "avx2": None if flags is None else "avx2" in flags,
            "avx512f": None if flags is None else "avx512f" in flags,
            "torch": str(torch.__version__)}


def describe(info: dict | None = None) -> str:
    """One line for a model card: 'AMD EPYC (x86_64; AVX2, no AVX-512; torch 2.13.0+cpu)'."""
    info = processor() if info is None else info
    if info.get("avx2") is None:
        ext = "vector extensions unknown"
    else:
        ext = ", ".join([("AVX2" if info["avx2"] else "no AVX2"), ("AVX-512" if info["avx512f"] else "no AVX-512")])
    return f"{info['model']} ({info['machine']}; {ext}; torch {info['torch']})"


def same_family(a: dict, b: dict) -> bool:
    """True when two records name the same architecture and vector extensions (the kernels torch picks)."""
    return all(a.get(k) == b.get(k) for k in ("machine", "avx2", "avx512f"))


def load_average() -> str:
    """'load 1.2 (2 cores)': what else the machine was doing while a time was measured."""
    try:
        one = os.getloadavg()[0]
    except OSError:
        return f"load unknown ({os.cpu_count()} cores)"
    return f"load {one:.1f} ({os.cpu_count()} cores)"
