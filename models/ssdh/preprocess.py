"""THE reference preprocessing of the hamdb encoder contract (docs/ENCODER.md).

Every step is written out in numpy rather than left to a library's resize or colour conversion,
so that another implementation (the Rust side) can reproduce it from the spec alone. The only
library step is decoding the file into 8-bit pixels; PNG is lossless so that step is exact.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
from PIL import Image, ImageOps

ImageLike = Union[str, os.PathLike, Image.Image, np.ndarray]


@dataclass(frozen=True)
class PreprocessSpec:
    """The preprocessing half of the contract, as carried in the model metadata."""

    height: int = 28
    width: int = 28
    color_mode: str = "L"  # "L" (1 channel) or "RGB" (3 channels)
    resize: str = "bilinear-aa"
    mean: Sequence[float] = (0.286,)
    std: Sequence[float] = (0.353,)

    @property
    def channels(self) -> int:
        return 1 if self.color_mode == "L" else 3

    @classmethod
    def from_metadata(cls, meta: dict) -> "PreprocessSpec":
        return cls(
            height=int(meta["hamdb.input_height"]),
            width=int(meta["hamdb.input_width"]),
            color_mode=meta["hamdb.color_mode"],
            resize=meta["hamdb.resize"],
            mean=tuple(json.loads(meta["hamdb.mean"])),
            std=tuple(json.loads(meta["hamdb.std"])),
        )


def to_rgb8(img: Image.Image) -> np.ndarray:
    """Decoded image -> uint8 [h, w, 3]. Alpha is dropped, not composited; palettes are expanded.

    Gray sources are replicated into three equal channels, which the luma formula below maps
    back to the same gray value exactly (19595 + 38470 + 7471 = 65536).
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / 32-bit gray has no 8-bit meaning of its own; the contract keeps the top 8 bits.
        a = np.asarray(img).astype(np.float64)
        a = np.clip(np.floor(a / 256.0), 0, 255).astype(np.uint8)
        return np.repeat(a[:, :, None], 3, axis=2)
    if img.mode == "L":
        a = np.asarray(img, dtype=np.uint8)
        return np.repeat(a[:, :, None], 3, axis=2)
    if img.mode == "LA":
        a = np.asarray(img, dtype=np.uint8)[:, :, 0]
        return np.repeat(a[:, :, None], 3, axis=2)
    if img.mode == "1":
        a = np.asarray(img.convert("L"), dtype=np.uint8)  # 0 or 255
        return np.repeat(a[:, :, None], 3, axis=2)
    if img.mode != "RGB":
        img = img.convert("RGBA").convert("RGB") if img.mode in ("P", "PA") else img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)[:, :, :3]


def luma(rgb8: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma in 16-bit fixed point, exactly as Pillow's RGB->L conversion:
    L = (19595 R + 38470 G + 7471 B + 32768) >> 16  (uint8 result)."""
    r = rgb8[..., 0].astype(np.uint32)
    g = rgb8[..., 1].astype(np.uint32)
    b = rgb8[..., 2].astype(np.uint32)
    return ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16).astype(np.uint8)


def _triangle_weights(in_size: int, out_size: int) -> np.ndarray:
    """[out_size, in_size] matrix of the antialiased bilinear (triangle) filter.

    Output pixel i has its centre at c = (i + 0.5) * s in input coordinates, s = in/out. The
    filter support is r = max(s, 1): input pixel j (centre j + 0.5) gets weight
    max(0, 1 - |j + 0.5 - c| / r), and each row is normalised to sum 1. For upscaling (s < 1) this
    is plain bilinear interpolation with edge clamping; for downscaling it averages every source
    pixel under the footprint, which is what keeps thumbnails of large photos from aliasing.
    """
    s = in_size / out_size
    r = max(s, 1.0)
    centres = (np.arange(out_size, dtype=np.float64) + 0.5) * s
    src = np.arange(in_size, dtype=np.float64) + 0.5
    w = np.maximum(0.0, 1.0 - np.abs(src[None, :] - centres[:, None]) / r)
    # Upscaling near the border can leave a row whose taps fall partly outside the image;
    # normalising re-weights the taps that exist, which equals clamping to the edge pixel.
    return w / w.sum(axis=1, keepdims=True)


def resize_plane(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float64 [h, w] plane with the contract's "bilinear-aa" rule (separable, rows
    first then columns, float64 throughout, no intermediate rounding). Same size: unchanged."""
    h, w = plane.shape
    if (h, w) == (height, width):
        return plane
    out = plane
    if w != width:
        out = out @ _triangle_weights(w, width).T
    if h != height:
        out = _triangle_weights(h, height) @ out
    return out


def load_image(src: ImageLike) -> Image.Image:
    if isinstance(src, Image.Image):
        return src
    if isinstance(src, np.ndarray):
        return Image.fromarray(src)
    with Image.open(src) as im:
        im.load()  # decode now so the file handle can close
        # Contract step 1: the EXIF orientation is applied (a phone photo stored sideways is
        # encoded upright); images without the tag are returned unchanged.
        return ImageOps.exif_transpose(im)


def preprocess(src: ImageLike, spec: PreprocessSpec = PreprocessSpec()) -> np.ndarray:
    """One image -> float32 [C, H, W], the model input for one batch row.

    decode (EXIF orientation applied) -> 8-bit RGB (alpha dropped) -> colour mode (L: fixed-point luma; RGB: as is)
    -> resize to exactly H x W (bilinear-aa, aspect ratio not kept) -> /255 -> (x - mean) / std.
    """
    if spec.resize != "bilinear-aa":
        raise ValueError(f"unsupported resize rule {spec.resize!r}")
    rgb = to_rgb8(load_image(src))
    if spec.color_mode == "L":
        planes = [luma(rgb)]
    elif spec.color_mode == "RGB":
        planes = [rgb[:, :, c] for c in range(3)]
    else:
        raise ValueError(f"unsupported color mode {spec.color_mode!r}")
    out = np.empty((len(planes), spec.height, spec.width), dtype=np.float32)
    for c, p in enumerate(planes):
        x = resize_plane(p.astype(np.float64), spec.height, spec.width) / 255.0
        out[c] = ((x - spec.mean[c]) / spec.std[c]).astype(np.float32)
    return out


def preprocess_batch(srcs, spec: PreprocessSpec = PreprocessSpec()) -> np.ndarray:
    return np.stack([preprocess(s, spec) for s in srcs]) if len(srcs) else np.zeros(
        (0, spec.channels, spec.height, spec.width), np.float32)


def normalize_uint8(gray: np.ndarray, spec: PreprocessSpec = PreprocessSpec()) -> np.ndarray:
    """Fast path for already-decoded [N, H, W] uint8 gray images of the right size (the IDX
    files): the same arithmetic as preprocess() without the per-image Python loop."""
    assert spec.color_mode == "L" and gray.shape[1:] == (spec.height, spec.width)
    x = gray.astype(np.float64) / 255.0
    return ((x - spec.mean[0]) / spec.std[0]).astype(np.float32)[:, None, :, :]
