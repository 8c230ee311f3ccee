"""Numbers reported in the DiT paper (Peebles & Xie, 2023), typed in once so the book and the
tests quote the same values. Each table says what was measured and how.
"""
from __future__ import annotations

# Table 4: forward-pass "Gflops" (multiply-accumulates, in billions) of each preset at
# 256x256 images, i.e. 32x32x4 latents. Keys: "<size>/<patch>".
TABLE4_GFLOPS: dict[str, float] = {
    "S/8": 0.36, "S/4": 1.41, "S/2": 6.06,
    "B/8": 1.42, "B/4": 5.56, "B/2": 23.01,
    "L/8": 5.01, "L/4": 19.70, "L/2": 80.71,
    "XL/8": 7.39, "XL/4": 29.05, "XL/2": 118.64,
}

# Table 4: FID-50K of each preset after 400K training steps, sampled without guidance
# (250 DDPM steps), at 256x256.
TABLE4_FID: dict[str, float] = {
    "S/8": 153.60, "S/4": 100.41, "S/2": 68.40,
    "B/8": 122.74, "B/4": 68.38, "B/2": 43.47,
    "L/8": 118.87, "L/4": 45.64, "L/2": 23.33,
    "XL/8": 106.41, "XL/4": 43.01, "XL/2": 19.47,
}

# Table 2: DiT-XL/2 on class-conditional ImageNet 256x256 (7M training steps, 250 DDPM
# steps, FID-50K), without guidance and with classifier-free guidance at scale 1.5.
TABLE2_FID_XL2: dict[float, float] = {1.0: 9.62, 1.5: 2.27}


def table4_gflops(model: str) -> float:
    """Table 4's Gflops for a preset name such as "DiT-XL/2" or "XL/2"."""
    key = model.removeprefix("DiT-")
    if key not in TABLE4_GFLOPS:
        raise ValueError(f"model {model!r} is not in the paper's Table 4; use one of "
                         f"{', '.join('DiT-' + k for k in TABLE4_GFLOPS)}.")
    return TABLE4_GFLOPS[key]
