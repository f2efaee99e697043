"""Chapter 09's experiment (course_lib.cnn_experiment): the random splits, one-pixel shifts, the shifted
accuracy and the CNN-vs-MLP comparison's bookkeeping (short runs: the chapter runs the real ones)."""
from __future__ import annotations

import numpy as np
import pytest

from course_lib import cnn_experiment as E
from course_lib.autograd import Tensor


def test_splits_are_reshuffles_of_the_same_standardized_digits():
    X, y, Xt, yt = E.digits_images()
    assert X.shape == (E.N_TRAIN, 1, 8, 8) and Xt.shape == (1797 - E.N_TRAIN, 1, 8, 8) and X.dtype == np.float32
    assert not X.flags.writeable
    assert abs(X.mean()) < 1e-5 and abs(X.std() - 1) < 1e-4  # standardized by the training pixels
    X1, y1, Xt1, yt1 = E.digits_images(1)
    assert not np.array_equal(y, y1)  # another shuffle ...
    assert np.array_equal(np.bincount(np.r_[y, yt]), np.bincount(np.r_[y1, yt1]))  # ... of the same 1797 digits

    def pixels(*parts):  # back to the 17 grey levels 0..16 (each split has its own affine standardization)
        a = np.concatenate(parts).reshape(1797, -1)
        levels = (a - a.min()) / (a.max() - a.min()) * 16
        assert np.allclose(levels, np.rint(levels), atol=1e-3)
        return np.unique(np.rint(levels).astype(int), axis=0, return_counts=True)
    same = [np.array_equal(u, v) for u, v in zip(pixels(X, Xt), pixels(X1, Xt1))]
    assert all(same)
    assert E.digits_images(0)[0] is X  # cached


def test_shift_by_moves_the_image_and_fills_with_blank():
    x = np.arange(2 * 1 * 4 * 5, dtype=np.float32).reshape(2, 1, 4, 5)
    down = E.shift_by(x, 1, 0, fill=-1.0)
    assert np.array_equal(down[:, :, 1:], x[:, :, :-1]) and np.all(down[:, :, 0] == -1)
    left = E.shift_by(x, 0, -2, fill=-1.0)
    assert np.array_equal(left[..., :3], x[..., 2:]) and np.all(left[..., 3:] == -1)
    back = E.shift_by(E.shift_by(x, -1, 1, fill=0.0), 1, -1, fill=0.0)
    assert np.array_equal(back[:, :, 1:, :4], x[:, :, 1:, :4])  # the inverse move, on what stayed in view
    assert np.array_equal(E.shift_by(x, 0, 0), x)
    assert np.all(E.shift_by(x, 1, 0)[:, :, 0] == np.float32(E.background()))  # default: the blank of split 0
    with pytest.raises(ValueError, match="out of view"):
        E.shift_by(x, 4, 0)


def test_shift_images_moves_a_batch_by_one_offset_within_range():
    x = np.random.default_rng(0).standard_normal((3, 1, 8, 8)).astype(np.float32)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(60):
        out = E.shift_images(x, rng)
        match = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if np.array_equal(out, E.shift_by(x, dy, dx))]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) == 9  # every offset in -1..1 x -1..1 occurs


def test_shifted_accuracy_is_the_mean_over_the_four_one_pixel_moves():
    _, _, Xt, yt = E.digits_images()
    model = E.make_mlp(0)
    expected = np.mean([E.accuracy(model, E.shift_by(Xt, dy, dx), yt) for dy, dx in E.SHIFTS])
    assert E.shifted_accuracy(model, Xt, yt) == pytest.approx(expected)
    assert sorted(E.SHIFTS) == [(-1, 0), (0, -1), (0, 1), (1, 0)]

    class Oracle:  # knows every answer, wherever the digit is: accuracy 1 on every move
        def __call__(self, t: Tensor) -> Tensor:
            return Tensor(np.eye(10, dtype=np.float32)[yt])
    assert E.shifted_accuracy(Oracle(), Xt, yt) == 1.0


@pytest.fixture
def short_recipes(monkeypatch):
    """One epoch each, and the cached CNN runs forgotten afterwards (the chapter's must be the real ones)."""
    monkeypatch.setattr(E, "CNN_SETTINGS", {**E.CNN_SETTINGS, "epochs": 1})
    monkeypatch.setattr(E, "MLP_SETTINGS", {**E.MLP_SETTINGS, "epochs": 1})
    E.trained_cnn.cache_clear()
    yield
    E.trained_cnn.cache_clear()


def test_compare_trains_both_networks_both_ways_on_every_split(short_recipes):
    runs = E.compare([5, 6])
    assert np.array_equal(runs["splits"], [5, 6]) and runs["seconds"] > 0
    keys = {(net, shifts, test) for net in ("cnn", "mlp") for shifts in (False, True) for test in ("plain", "shifted")}
    assert keys == {k for k in runs if isinstance(k, tuple)}
    for key in keys:
        assert runs[key].shape == (2,) and np.all((runs[key] >= 0) & (runs[key] <= 1))
    for net in ("cnn", "mlp"):  # one epoch on unshifted digits already learns them (chance is 0.1)
        assert np.all(runs[net, False, "plain"] > 0.5), runs[net, False, "plain"]
    # the CNN's shifted recipe is the chapter's cached run, not a second one
    model, _ = E.trained_cnn(6)
    _, _, Xt, yt = E.digits_images(6)
    assert runs["cnn", E.CNN_SETTINGS["augment"], "plain"][1] == E.accuracy(model, Xt, yt)
    assert runs["cnn", E.CNN_SETTINGS["augment"], "shifted"][1] == E.shifted_accuracy(model, Xt, yt, 6)
    # seeded: the same runs again give the same accuracies
    again = E.compare([5])
    assert all(again[k][0] == runs[k][0] for k in keys)
