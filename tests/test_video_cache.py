"""Embedding cache: hits give identical vectors; pickled or damaged entries are never unpickled,
but deleted and recomputed."""

from __future__ import annotations

import pickle

import diskcache
import numpy as np
import pytest

from frame_core.video import embed_videos
from frame_core.video.cache import (
    EmbeddingCache,
    RawBytesDisk,
    UnsafeCacheEntry,
    embedding_key,
    pack_array,
    unpack_array,
)
from frame_core.video.encoders import HandcraftedEncoder
from frame_core.video.probe import file_sha256

from .video_factory import write_video

PWNED = []


class Trap:
    """Unpickling this calls PWNED.append: proof that something was unpickled."""

    def __reduce__(self):
        return (PWNED.append, ("unpickled!",))


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "videos"
    d.mkdir()
    write_video(d / "a.webm", n=40, fps=20, hue=20)
    write_video(d / "b.mp4", n=30, fps=15, hue=100)
    return d


def test_pack_unpack_round_trip_and_checks():
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    blob = pack_array(a, {"encoder": "x"})
    assert type(blob) is bytes and blob.startswith(b"FRAMEEMB")
    assert np.array_equal(unpack_array(blob, (3, 4)), a)
    for bad in (blob[:-4], b"FRAMEEMB" + blob[8:12] + b"{}", pickle.dumps(a), "text", 42):
        with pytest.raises(ValueError):
            unpack_array(bad, (3, 4))
    with pytest.raises(ValueError, match="shape"):
        unpack_array(blob, (4, 3))
    with pytest.raises(ValueError, match="finite"):
        unpack_array(pack_array(np.array([np.nan], np.float32)), (1,))


def test_disk_refuses_pickles(tmp_path):
    c = diskcache.Cache(str(tmp_path / "c"), disk=RawBytesDisk)
    with pytest.raises(TypeError):
        c.set("k", {"not": "bytes"})
    with pytest.raises(TypeError):
        c.set(("tuple", "key"), b"x")
    c.set("small", b"raw")
    c.set("large", b"x" * 100_000)  # stored as a file (MODE_BINARY)
    assert c.get("small") == b"raw" and c.get("large") == b"x" * 100_000
    c.close()
    plain = diskcache.Cache(str(tmp_path / "c"))  # default Disk pickles
    plain.set("evil", Trap())
    plain.set("evil-big", [Trap()] + ["y" * 100_000])
    plain.close()
    c = diskcache.Cache(str(tmp_path / "c"), disk=RawBytesDisk)
    for key in ("evil", "evil-big"):
        with pytest.raises(UnsafeCacheEntry):
            c.get(key)
    assert PWNED == []
    c.close()


def test_second_run_hits_and_is_identical(folder, tmp_path):
    cache_dir = tmp_path / "cache"
    f1, r1 = embed_videos(folder, 4, cache_dir=cache_dir)
    assert (r1.cache_hits, r1.cache_misses) == (0, 2)
    f2, r2 = embed_videos(folder, 4, cache_dir=cache_dir)
    assert (r2.cache_hits, r2.cache_misses) == (2, 0)
    assert np.array_equal(f1.matrix, f2.matrix) and f1.matrix.dtype == np.float32
    assert [v.frames for v in r2.videos] == [v.frames for v in r1.videos] == [40, 30]
    # another N_c or k is another key
    _, r3 = embed_videos(folder, 2, cache_dir=cache_dir)
    assert r3.cache_misses == 2
    # a renamed copy of the same content still hits (the key is the content hash)
    (folder / "a.webm").rename(folder / "renamed.webm")
    f4, r4 = embed_videos(folder, 4, cache_dir=cache_dir)
    assert r4.cache_hits == 2 and "renamed" in set(f4.video_ids)
    ra, _ = f4.lookup(["renamed"] * 4, range(4))
    assert np.array_equal(ra, f1.matrix[:4])


@pytest.mark.parametrize("poison", ["pickle", "garbage", "wrong-shape", "text"])
def test_corrupt_entry_is_recomputed_not_unpickled(folder, tmp_path, poison):
    cache_dir = tmp_path / "cache"
    f1, _ = embed_videos(folder, 4, cache_dir=cache_dir)
    enc = HandcraftedEncoder()
    key = embedding_key(file_sha256(folder / "a.webm"), 4, 3, enc.id, "auto")
    raw = diskcache.Cache(str(cache_dir))  # the default, pickling Disk: what an attacker could use
    assert key in raw
    value = {
        "pickle": Trap(),
        "garbage": b"\x00" * 50,
        "wrong-shape": pack_array(np.zeros((3, enc.dim), np.float32)),
        "text": "FRAMEEMB not bytes",
    }[poison]
    raw.set(key, value)
    raw.close()
    f2, r2 = embed_videos(folder, 4, cache_dir=cache_dir)
    assert PWNED == []
    assert (r2.cache_hits, r2.cache_misses) == (1, 1)
    assert np.array_equal(f1.matrix, f2.matrix)
    assert any("corrupt" in n for n in r2.notes)
    # the recomputed entry was written back as raw bytes and hits next time
    with EmbeddingCache(cache_dir) as c:
        assert c.get_array(key, (4, enc.dim)) is not None
    _, r3 = embed_videos(folder, 4, cache_dir=cache_dir)
    assert r3.cache_hits == 2


def test_unusable_cache_dir_is_not_fatal(folder, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    feats, rep = embed_videos(folder, 2, cache_dir=blocker)
    assert len(feats) == 4 and any("cache disabled" in n for n in rep.notes)
    feats2, rep2 = embed_videos(folder, 2, cache_dir=False)
    assert np.array_equal(feats.matrix, feats2.matrix)
    assert (rep.cache_hits, rep.cache_misses, rep2.cache_hits, rep2.cache_misses) == (0, 0, 0, 0)
