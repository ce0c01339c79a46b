"""Encoders: dimension, determinism, theme separation (hue / texture / motion), ONNX models."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from frame_core.common.errors import InputError
from frame_core.video import Encoder, HandcraftedEncoder, OnnxEncoder, get_encoder

from .onnx_writer import global_pool_model

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


def make_clip(rng, hue=20, rough=False, shift=0, k=3, size=64):
    """k frames (k, size, size, 3) BGR of one theme: a hue, a smooth or rough texture, and a
    horizontal drift of ``shift`` px per frame; random texture, offset and hue jitter."""
    tex = cv2.GaussianBlur(rng.random((size * 2, size * 2)), (0, 0), 0.6 if rough else 6)
    tex = (tex - tex.min()) / (np.ptp(tex) + 1e-9)
    ox, oy = rng.integers(0, size // 2, 2)
    frames = []
    for j in range(k):
        t = np.roll(tex, j * shift, axis=1)[oy : oy + size, ox : ox + size]
        h = np.full_like(t, (hue + rng.integers(-3, 4)) % 180)
        hsv = np.stack([h, np.full_like(t, 170), 60 + 170 * t], -1).astype(np.uint8)
        frames.append(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR))
    return np.stack(frames)


def separation(enc, theme_a, theme_b, block=None, n=8):
    """(max within-theme distance, min between-theme distance) over n clips of each theme."""
    rng = np.random.default_rng(0)
    x = np.stack([make_clip(rng, **theme_a) for _ in range(n)] + [make_clip(rng, **theme_b) for _ in range(n)])
    v = enc.encode(x)
    if block is not None:
        v = v[:, enc.blocks[block]]
    y = np.repeat([0, 1], n)
    d = np.linalg.norm(v[:, None] - v[None], axis=-1)
    same = (y[:, None] == y[None]) & ~np.eye(2 * n, dtype=bool)
    return d[same].max(), d[y[:, None] != y[None]].min()


def test_dimension_blocks_and_range():
    enc = HandcraftedEncoder()
    assert isinstance(enc, Encoder)
    assert enc.dim == 78 and enc.frame_size == (64, 64)
    assert "handcrafted-v1" in enc.id and "64x64" in enc.id
    assert sum(s.stop - s.start for s in enc.blocks.values()) == enc.dim
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (5, 3, 64, 64, 3), dtype=np.uint8)
    v = enc.encode(x)
    assert v.shape == (5, 78) and v.dtype == np.float32
    assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1 + 1e-6).all()
    for name in ("hue_sat", "value", "grad_orient", "fft_bands"):  # Hellinger blocks have unit norm
        np.testing.assert_allclose(np.linalg.norm(v[:, enc.blocks[name]], axis=1), 1.0, atol=1e-5)


def test_deterministic_and_order_free():
    enc = HandcraftedEncoder()
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (4, 3, 80, 120, 3), dtype=np.uint8)  # resized to 64x64 inside
    a, b = enc.encode(x), HandcraftedEncoder().encode(x.copy())
    assert np.array_equal(a, b)
    # a clip's vector does not depend on the other clips in the batch
    assert np.array_equal(enc.encode(x[2:3]), a[2:3])


def test_flat_frames_and_k1():
    enc = HandcraftedEncoder()
    flat = np.full((2, 1, 64, 64, 3), 128, np.uint8)
    v = enc.encode(flat)
    assert np.isfinite(v).all()
    assert (v[:, enc.blocks["motion"]] == 0).all()
    assert (v[:, enc.blocks["grad_orient"]] == 0).all() and (v[:, enc.blocks["fft_bands"]] == 0).all()
    assert enc.encode(np.zeros((0, 3, 64, 64, 3), np.uint8)).shape == (0, 78)
    with pytest.raises(ValueError):
        enc.encode(np.zeros((2, 64, 64, 3), np.uint8))
    with pytest.raises(InputError):
        HandcraftedEncoder((16, 16))


@pytest.mark.parametrize(
    "a, b, block",
    [
        (dict(hue=10), dict(hue=110), "hue_sat"),
        (dict(rough=False), dict(rough=True), "fft_bands"),
        (dict(rough=False), dict(rough=True), "texture"),
        (dict(rough=True, shift=0), dict(rough=True, shift=8), "motion"),
    ],
    ids=["hue", "texture-fft", "texture-stats", "motion"],
)
def test_each_factor_separates_in_its_block(a, b, block):
    within, between = separation(HandcraftedEncoder(), a, b, block)
    assert between > 2 * within, (within, between)


@pytest.mark.parametrize(
    "a, b",
    [
        (dict(hue=10), dict(hue=110)),
        (dict(rough=False), dict(rough=True)),
        (dict(rough=True, shift=0), dict(rough=True, shift=8)),
        (dict(hue=10, rough=False, shift=0), dict(hue=110, rough=True, shift=8)),
    ],
    ids=["hue", "texture", "motion", "all-three"],
)
def test_themes_separate_in_the_whole_vector(a, b):
    # every clip is closer to every clip of its own theme than to any clip of the other theme
    within, between = separation(HandcraftedEncoder(), a, b)
    assert between > 1.25 * within, (within, between)


# ------------------------------------------------------------------------------------- ONNX
def _reference_pool(x):
    """What the GlobalAveragePool model returns per clip: mean over k of per-channel means of
    the ImageNet-normalised RGB frame."""
    rgb = x[..., ::-1].astype(np.float64) / 255.0
    return ((rgb - IMAGENET_MEAN) / IMAGENET_STD).mean(axis=(2, 3)).mean(axis=1)


def test_onnx_hand_written_model(tmp_path):
    path = global_pool_model(tmp_path / "pool.onnx")  # dynamic N, H, W
    enc = OnnxEncoder(path, input_size=(32, 24), batch_size=4)
    assert enc.dim == 3 and enc.frame_size == (32, 24)
    assert enc.id.startswith("onnx-v1:sha256=") and "in=32x24" in enc.id
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (3, 3, 24, 32, 3), dtype=np.uint8)  # 9 frames: batches of 4, 4, 1
    out = enc.encode(x)
    assert out.shape == (3, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, _reference_pool(x), atol=1e-5)
    assert np.array_equal(out, enc.encode(x))
    # other preprocessing gives another id (the cache never mixes them)
    assert OnnxEncoder(path, input_size=(32, 24), rgb=False).id != enc.id


def test_onnx_bad_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        OnnxEncoder(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a model")
    with pytest.raises(InputError):
        OnnxEncoder(junk)
    assert isinstance(get_encoder(None), HandcraftedEncoder)
    assert isinstance(get_encoder("handcrafted"), HandcraftedEncoder)
    with pytest.raises(InputError):
        get_encoder(42)


def test_onnx_exported_torch_model(tmp_path):
    pytest.importorskip("onnx", reason="torch.onnx.export needs the onnx package")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    ).eval()
    path = tmp_path / "tiny.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False, opset_version=13,
            input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
        )
    enc = OnnxEncoder(path, input_size=(32, 32))
    assert enc.dim == 4
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (2, 3, 32, 32, 3), dtype=np.uint8)
    out = enc.encode(x)
    rgb = x[..., ::-1].astype(np.float32) / 255.0
    norm = ((rgb - IMAGENET_MEAN) / IMAGENET_STD).astype(np.float32).reshape(6, 32, 32, 3).transpose(0, 3, 1, 2)
    with torch.no_grad():
        ref = model(torch.from_numpy(np.ascontiguousarray(norm))).numpy().reshape(2, 3, 4).mean(axis=1)
    np.testing.assert_allclose(out, ref, atol=1e-4)
