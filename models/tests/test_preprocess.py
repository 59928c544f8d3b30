import numpy as np
import pytest
from PIL import Image

from models.ssdh.preprocess import (PreprocessSpec, _triangle_weights, luma, normalize_uint8,
                                    preprocess, resize_plane)

rng = np.random.default_rng(0)


def test_luma_matches_pillow_exactly():
    rgb = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    assert (luma(rgb) == np.asarray(Image.fromarray(rgb).convert("L"))).all()


def test_gray_rgb_and_rgba_agree():
    g = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    rgb = np.repeat(g[:, :, None], 3, axis=2)
    rgba = np.concatenate([rgb, rng.integers(0, 256, (28, 28, 1), dtype=np.uint8)], axis=2)
    a = preprocess(Image.fromarray(g))
    assert (a == preprocess(Image.fromarray(rgb))).all()
    assert (a == preprocess(Image.fromarray(rgba, mode="RGBA"))).all()  # alpha dropped


def test_normalization_formula():
    g = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    x = preprocess(Image.fromarray(g))
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0], ((g / 255.0 - 0.286) / 0.353).astype(np.float32))
    np.testing.assert_array_equal(normalize_uint8(g[None])[0], x)


def test_rgb_mode():
    spec = PreprocessSpec(32, 32, "RGB", "bilinear-aa", (0.1, 0.2, 0.3), (0.5, 0.6, 0.7))
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    x = preprocess(Image.fromarray(rgb), spec)
    assert x.shape == (3, 32, 32)
    np.testing.assert_allclose(x[2], (rgb[:, :, 2] / 255.0 - 0.3) / 0.7, atol=1e-6)


@pytest.mark.parametrize("n_in,n_out", [(28, 28), (100, 28), (20, 28), (57, 28), (7, 28)])
def test_filter_rows_sum_to_one(n_in, n_out):
    w = _triangle_weights(n_in, n_out)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-12)
    assert (w >= 0).all()


def test_same_size_is_identity_and_constants_stay_constant():
    p = rng.random((28, 28))
    assert resize_plane(p, 28, 28) is p
    for shape in [(100, 60), (10, 14), (28, 56)]:
        np.testing.assert_allclose(resize_plane(np.full(shape, 77.0), 28, 28), 77.0, atol=1e-9)


def test_upscale_is_linear_interpolation():
    # 2 -> 4 pixels: output centres at 0.25, 0.75, 1.25, 1.75 input-pixel units (minus 0.5):
    # clamped at the edges, and 3/4-1/4 mixes in between.
    w = _triangle_weights(2, 4)
    np.testing.assert_allclose(w, [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]], atol=1e-12)


@pytest.mark.parametrize("shape", [(90, 70), (20, 24), (300, 200)])
def test_resize_is_pillows_bilinear_filter_without_its_rounding(shape):
    # Pillow's BILINEAR is the same triangle filter but rounds to 8 bits after each pass.
    g = rng.integers(0, 256, shape, dtype=np.uint8)
    ours = resize_plane(g.astype(np.float64), 28, 28)
    pil = np.asarray(Image.fromarray(g).resize((28, 28), Image.BILINEAR), dtype=np.float64)
    assert np.abs(ours - pil).max() <= 1.0


def test_paths_and_arrays_agree(tmp_path):
    g = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    p = tmp_path / "x.png"
    Image.fromarray(g).save(p)
    assert (preprocess(str(p)) == preprocess(g)).all()
