"""Background pools: reproducible draws, disjoint photo splits, user folders, clear errors."""
import cv2
import numpy as np
import pytest

from robotpose_lib import backgrounds as bg


def test_draws_are_reproducible_and_sized():
    pool = bg.BackgroundPool()
    a = pool.draw(50, 70, np.random.default_rng(1))
    b = pool.draw(50, 70, np.random.default_rng(1))
    assert a.shape == (50, 70, 3) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()


def test_train_and_test_photos_are_disjoint():
    train = {p.tobytes()[:4096] for p in bg.packaged_photos("train")}
    test = {p.tobytes()[:4096] for p in bg.packaged_photos("test")}
    assert train and test and not (train & test)


def test_every_listed_photo_loads_as_a_photo_and_test_photos_are_documented():
    for split in ("train", "test"):
        photos = bg.packaged_photos(split)
        # stereo_motorcycle gives two views, its disparity map is left out
        expected = len(bg.PACKAGED_PHOTOS[split]) + ("stereo_motorcycle" in bg.PACKAGED_PHOTOS[split])
        assert len(photos) == expected, split
        for photo in photos:
            assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
            assert min(photo.shape[:2]) >= 240 and photo.std() > 10  # a picture, not a blank
    readme = (bg.PHOTO_FOLDER / "README.md").read_text()
    files = [n for n in bg.PACKAGED_PHOTOS["test"] if n.endswith(".jpg")]
    assert files and all(f"`{n}`" in readme for n in files)
    assert sorted(p.name for p in bg.PHOTO_FOLDER.glob("*.jpg")) == sorted(files)


def test_procedural_textures_vary():
    rng = np.random.default_rng(0)
    textures = [bg.procedural_texture(32, 32, rng) for _ in range(8)]
    assert len({t.tobytes() for t in textures}) == 8
    assert all(t.std() > 0 for t in textures)


def test_user_folder_is_used(tmp_path):
    photo = np.zeros((40, 60, 3), np.uint8)
    photo[..., 2] = 255  # pure blue in RGB
    cv2.imwrite(str(tmp_path / "blue.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    pool = bg.BackgroundPool(folders=(str(tmp_path),), use_packaged=False, photo_probability=1.0)
    out = pool.draw(20, 30, np.random.default_rng(0))
    assert (out[..., 2] == 255).all() and (out[..., :2] == 0).all()


def test_bad_folders_and_splits_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bg.BackgroundPool(folders=(str(tmp_path / "missing"),))
    with pytest.raises(ValueError, match="holds no images"):
        bg.BackgroundPool(folders=(str(tmp_path),))
    with pytest.raises(ValueError, match="split"):
        bg.BackgroundPool(split="validation")
