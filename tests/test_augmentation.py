"""Code checks for labs_utils.augmentation on tiny synthetic arrays and a generated JPEG tarball."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labs_utils import augmentation, datasets

CLASSES = ["cat", "dog", "frog"]


# --- a tiny CIFAR-like JPEG tarball in a temporary registry and mirror ---------------------------


def _jpeg(value: int, size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _tarball(path: Path, split: str, per_class: int, extra: dict[str, bytes] | None = None) -> Path:
    """Write <split>/<class>/<rank>.jpg members whose grey level encodes (label, rank)."""
    with tarfile.open(path, "w:gz") as tar:
        for label, name in enumerate(CLASSES):
            for rank in range(per_class):
                _add(tar, f"{split}/{name}/{rank:04d}.jpg", _jpeg(grey(label, rank)))
        for name, data in (extra or {}).items():
            _add(tar, name, data)
    return path


def grey(label: int, rank: int) -> int:
    return 40 * label + 10 * rank


def _register(tmp_path: Path, root: Path) -> None:
    """Write a registry naming the mirror's files by their sha256."""
    entries = [
        ("labels.txt", "full"),
        ("cifar10_train_jpeg.tar.gz", "lossy"),
        ("cifar10_test_jpeg.tar.gz", "lossy"),
    ]
    files = "".join(
        f'[[datasets.cifar10.files]]\nname = "{name}"\nvariant = "{variant}"\n'
        f'sha256 = "{hashlib.sha256((root / name).read_bytes()).hexdigest()}"\n\n'
        for name, variant in entries
    )
    head = '[datasets.cifar10]\ntitle = "tiny"\nlicence = "test"\ncitation = "test"\nhomepage = "test"\n\n'
    (tmp_path / "registry.toml").write_text(head + files)


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A registry and mirror holding a 3-class JPEG tarball per split and labels.txt; empty cache."""
    root = tmp_path / "mirror" / "cifar10"
    root.mkdir(parents=True)
    (root / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    _tarball(root / "cifar10_train_jpeg.tar.gz", "train", per_class=4)
    _tarball(root / "cifar10_test_jpeg.tar.gz", "test", per_class=2)
    _register(tmp_path, root)
    monkeypatch.setenv("LABS_REGISTRY", str(tmp_path / "registry.toml"))
    monkeypatch.setenv("LABS_DATA_MIRROR", str(tmp_path / "mirror"))
    monkeypatch.setenv("LABS_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LABS_OFFLINE", "1")
    return root


def test_jpeg_members_lists_each_class_by_rank(mirror: Path):
    members = augmentation.jpeg_members(mirror / "cifar10_train_jpeg.tar.gz", "train", CLASSES)
    assert list(members) == CLASSES
    assert members["dog"] == [f"train/dog/{r:04d}.jpg" for r in range(4)]


def test_jpeg_members_rejects_an_unknown_class(tmp_path: Path):
    archive = _tarball(tmp_path / "bad.tar.gz", "train", 1, extra={"train/horse/0000.jpg": _jpeg(0)})
    with pytest.raises(ValueError, match="unexpected member 'train/horse/0000.jpg'"):
        augmentation.jpeg_members(archive, "train", CLASSES)


def test_jpeg_members_rejects_an_archive_without_the_split(tmp_path: Path):
    archive = _tarball(tmp_path / "only_test.tar.gz", "test", 1)
    with pytest.raises(ValueError, match="holds no train/<class>/<rank>.jpg"):
        augmentation.jpeg_members(archive, "train", CLASSES)


def test_choose_per_class_is_balanced_seeded_and_without_repeats():
    members = {name: [f"{name}/{i}" for i in range(10)] for name in CLASSES}
    first = augmentation.choose_per_class(members, 3, seed=7)
    assert first == augmentation.choose_per_class(members, 3, seed=7)
    assert first != augmentation.choose_per_class(members, 3, seed=8)
    assert len({m for m, _ in first}) == 9
    assert sorted(label for _, label in first) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(m.startswith(CLASSES[label]) for m, label in first)
    assert [label for _, label in first] != sorted(label for _, label in first)  # classes interleave


def test_choose_per_class_refuses_more_than_a_class_has():
    with pytest.raises(ValueError, match="class 'dog' has 2 images"):
        augmentation.choose_per_class({"cat": ["a", "b", "c"], "dog": ["d", "e"]}, 3, seed=0)


def test_read_jpeg_images_decodes_in_order_and_names_a_wrong_size(tmp_path: Path):
    paths = []
    for value in (0, 200):
        paths.append(tmp_path / f"{value}.jpg")
        paths[-1].write_bytes(_jpeg(value))
    images = augmentation.read_jpeg_images(paths)
    assert images.dtype == np.uint8 and images.shape == (2, 32, 32, 3)
    assert abs(float(images[0].mean()) - 0) <= 2 and abs(float(images[1].mean()) - 200) <= 2
    (tmp_path / "big.jpg").write_bytes(_jpeg(0, size=33))
    with pytest.raises(ValueError, match="big.jpg: image shape"):
        augmentation.read_jpeg_images([tmp_path / "big.jpg"])


def test_load_cifar10_jpeg_returns_labelled_arrays_and_says_lossy(mirror: Path):
    train = augmentation.load_cifar10_jpeg("train", 2, seed=1)
    assert train.images.shape == (6, 32, 32, 3) and len(train) == 6
    assert train.class_counts() == {"cat": 2, "dog": 2, "frog": 2}
    assert train.lossy is True and train.source == "cifar10_train_jpeg.tar.gz"
    assert train.data_source == "lossy"
    for image, label, member in zip(train.images, train.labels, train.members, strict=True):
        _, name, file = member.split("/")
        assert CLASSES[label] == name
        assert abs(float(image.mean()) - grey(label, int(file[:4]))) <= 2  # that member's pixels
    test = augmentation.load_cifar10_jpeg("test", 2, seed=1)
    assert {m.split("/")[0] for m in test.members} == {"test"} and len(test) == 6
    with pytest.raises(ValueError, match="split must be one of"):
        augmentation.load_cifar10_jpeg("valid", 1, seed=1)


def test_load_cifar10_jpeg_refuses_an_unsafe_archive(mirror: Path, tmp_path: Path):
    """A member escaping the folder is refused by datasets.extract_archive before anything is written."""
    _tarball(mirror / "cifar10_train_jpeg.tar.gz", "train", 2, extra={"../evil.jpg": _jpeg(0)})
    _register(tmp_path, mirror)
    with pytest.raises(datasets.UnsafeArchiveError, match="contains '..'"):
        augmentation.load_cifar10_jpeg("train", 1, seed=0)
    assert not (tmp_path / "evil.jpg").exists()


# --- tabular oversampling and noise --------------------------------------------------------------

X_SMALL = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 10.0], [11.0, 10.0]])
Y_SMALL = np.array([0, 0, 0, 0, 1, 1])


def test_random_oversample_balances_with_copies_of_minority_rows():
    X, y = augmentation.random_oversample(X_SMALL, Y_SMALL, seed=0)
    assert np.bincount(y).tolist() == [4, 4]
    np.testing.assert_array_equal(X[:6], X_SMALL)  # originals first, unchanged
    added = {tuple(row) for row in X[6:]}
    assert added <= {(10.0, 10.0), (11.0, 10.0)} and (y[6:] == 1).all()
    X2, _ = augmentation.random_oversample(X_SMALL, Y_SMALL, seed=0)
    np.testing.assert_array_equal(X, X2)


def test_random_oversample_leaves_a_balanced_set_alone():
    X, y = augmentation.random_oversample(X_SMALL[2:], Y_SMALL[2:], seed=0)
    np.testing.assert_array_equal(X, X_SMALL[2:])
    np.testing.assert_array_equal(y, Y_SMALL[2:])


def test_random_oversample_balances_three_classes():
    y3 = np.array([0, 0, 0, 0, 0, 1, 1, 2])
    X3 = np.arange(8.0)[:, None]
    X, y = augmentation.random_oversample(X3, y3, seed=3)
    assert np.bincount(y).tolist() == [5, 5, 5]
    assert set(X[y == 2].ravel()) == {7.0}


def test_smote_points_lie_between_minority_neighbours():
    X, y = augmentation.smote_oversample(X_SMALL, Y_SMALL, seed=0, k=1)
    assert np.bincount(y).tolist() == [4, 4]
    np.testing.assert_array_equal(X[:6], X_SMALL)
    new = X[6:]
    # the minority pair is (10, 10)-(11, 10): every new point lies on that segment
    assert ((new[:, 0] >= 10.0) & (new[:, 0] <= 11.0)).all() and (new[:, 1] == 10.0).all()


def test_smote_uses_only_the_k_nearest_neighbours():
    """Two far-apart minority pairs: with k=1 no new point falls in the gap between them."""
    X_line = np.concatenate([[[0.0], [1.0], [100.0], [101.0]], np.linspace(40, 60, 50)[:, None]])
    y_line = np.array([1] * 4 + [0] * 50)
    X, y = augmentation.smote_oversample(X_line, y_line, seed=5, k=1)
    new = X[len(X_line) :, 0]
    assert len(new) == 46 and (y[len(X_line) :] == 1).all()
    assert (((new >= 0) & (new <= 1)) | ((new >= 100) & (new <= 101))).all()
    assert ((new <= 1).sum() > 0) and ((new >= 100).sum() > 0)
    X_again, _ = augmentation.smote_oversample(X_line, y_line, seed=5, k=1)
    np.testing.assert_array_equal(X, X_again)


def test_smote_needs_two_minority_rows():
    with pytest.raises(ValueError, match="class 1 has 1 row"):
        augmentation.smote_oversample(X_SMALL[:5], Y_SMALL[:5], seed=0)


def test_gaussian_noise_touches_only_the_copies_and_the_named_columns():
    rng = np.random.default_rng(0)
    X0 = rng.normal(size=(200, 3)) * np.array([1.0, 10.0, 5.0])
    y0 = (rng.random(200) > 0.5).astype(int)
    X, y = augmentation.add_gaussian_noise(X0, y0, seed=1, scale=0.1, copies=2, columns=[0, 1])
    assert X.shape == (600, 3) and (y == np.tile(y0, 3)).all()
    np.testing.assert_array_equal(X[:200], X0)
    np.testing.assert_array_equal(X[200:400, 2], X0[:, 2])  # column 2 not named: unchanged
    noise = X[200:400, :2] - X0[:, :2]
    ratio = noise.std(axis=0) / (0.1 * X0[:, :2].std(axis=0))
    assert np.all(np.abs(ratio - 1) < 0.2)  # noise scales with each column's own spread
    assert not np.array_equal(X[200:400], X[400:600])  # each copy draws its own noise


# --- comparing over seeds ------------------------------------------------------------------------


def test_binary_metrics_on_a_hand_computed_case():
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.2, 0.7, 0.4])  # one positive below 0.5, one negative above
    m = augmentation.binary_metrics(y, p)
    assert m["roc_auc"] == pytest.approx(5 / 6)  # pairs ranked right: 5 of 6
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert augmentation.binary_metrics(y, p, threshold=0.35)["recall"] == 1.0


def test_wins_counts_strictly_greater_rows():
    per_seed = pd.DataFrame({"aug": [0.5, 0.6, 0.4, 0.7], "none": [0.4, 0.6, 0.5, 0.1]})
    assert augmentation.wins(per_seed, "aug", "none") == 2
    assert augmentation.wins(per_seed, "none", "aug") == 1


def test_curves_table_is_long_with_epochs_from_one():
    table = augmentation.curves_table({("none", 1): [0.1, 0.2], ("augmented", 1): [0.15, 0.3]})
    assert table.columns.tolist() == ["condition", "seed", "epoch", "val_accuracy"]
    assert table.epoch.tolist() == [1, 2, 1, 2]
    last = table[table.epoch == 2].set_index("condition").val_accuracy
    assert last.to_dict() == {"none": 0.2, "augmented": 0.3}


def test_seed_table_appends_summary_rows():
    per_seed = pd.DataFrame({"a": [1.0, 3.0]}, index=[42, 43])
    table = augmentation.seed_table(per_seed)
    assert table.index.tolist() == [42, 43, "mean", "std", "min", "max"]
    assert table.loc["mean", "a"] == 2.0 and table.loc["max", "a"] == 3.0
    assert table.loc["std", "a"] == pytest.approx(np.std([1.0, 3.0], ddof=1), abs=1e-3)


def test_plots_draw_one_band_per_condition_and_one_row_per_image_set():
    table = augmentation.curves_table(
        {(c, s): [0.1 * s, 0.2 * s, 0.3] for c in ("none", "augmented") for s in (1, 2)}
    )
    fig = augmentation.plot_curves(table)
    assert len(fig.axes[0].collections) == 2  # one min-max band per condition
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    grid = augmentation.plot_image_grid(
        [np.zeros((3, 4, 4, 3)), np.full((2, 4, 4, 3), 300.0)], ["a", "b"], ["x", "y", "z"]
    )
    assert len(grid.axes) == 6
