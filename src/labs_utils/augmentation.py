"""Data augmentation: CIFAR-10 images as arrays, tabular oversampling and noise, seed tables and plots.

Images come from the mirror's complete CIFAR-10 JPEG tarballs (lossy copies, quality ~75): the
chosen members are extracted safely with :func:`labs_utils.datasets.extract_archive` into a
temporary folder, decoded, and returned as uint8 arrays with their labels. The tabular helpers
(random oversampling, a SMOTE-like interpolation, Gaussian noise) work on NumPy arrays and never
touch the rows they are not asked to change.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labs_utils import datasets

__all__ = [
    "CIFAR10_JPEG_FILES",
    "ImageSet",
    "jpeg_members",
    "choose_per_class",
    "read_jpeg_images",
    "load_cifar10_jpeg",
    "random_oversample",
    "smote_oversample",
    "add_gaussian_noise",
    "binary_metrics",
    "wins",
    "seed_table",
    "curves_table",
    "plot_curves",
    "plot_image_grid",
]

CIFAR10_JPEG_FILES = {"train": "cifar10_train_jpeg.tar.gz", "test": "cifar10_test_jpeg.tar.gz"}
_SHAPE = (32, 32, 3)


@dataclass(frozen=True)
class ImageSet:
    """Images (uint8, N x H x W x 3), integer labels, class names and where the pixels came from.

    ``members`` are the archive member names in row order; ``lossy`` is True for JPEG copies.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    members: list[str]
    data_source: str
    source: str
    lossy: bool

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        """Return how many images each class has, in label order."""
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, counts, strict=True)}


def jpeg_members(archive: str | os.PathLike, split: str, class_names: Sequence[str]) -> dict[str, list[str]]:
    """Return ``{class name: member names}`` of ``<split>/<class>/<rank>.jpg`` files, sorted by rank.

    Raises:
        ValueError: a member under ``split`` does not follow the layout, or none does.

    Introduced in c2x_lab_data_augmentation.
    """
    archive = Path(archive)
    known = set(class_names)
    found: dict[str, list[tuple[int, str]]] = {name: [] for name in class_names}
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if member.isdir() or len(parts) < 1 or parts[0] != split:
                continue
            stem = PurePosixPath(member.name).stem
            if (
                len(parts) != 3
                or parts[1] not in known
                or not stem.isdigit()
                or not parts[2].endswith(".jpg")
            ):
                raise ValueError(
                    f"{archive.name}: unexpected member {member.name!r}; expected {split}/<class>/<rank>.jpg "
                    f"with a class from labels.txt"
                )
            found[parts[1]].append((int(stem), member.name))
    if not any(found.values()):
        raise ValueError(f"{archive.name} holds no {split}/<class>/<rank>.jpg images")
    return {name: [m for _, m in sorted(pairs)] for name, pairs in found.items()}


def choose_per_class(
    members: Mapping[str, Sequence[str]], per_class: int, seed: int
) -> list[tuple[str, int]]:
    """Return ``(member, label)`` pairs: ``per_class`` members of each class drawn with ``seed``.

    Labels follow the order of ``members``; pairs come shuffled (seeded) so classes interleave.

    Raises:
        ValueError: a class has fewer than ``per_class`` members.

    Introduced in c2x_lab_data_augmentation.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for label, (name, names) in enumerate(members.items()):
        if len(names) < per_class:
            raise ValueError(f"class {name!r} has {len(names)} images, fewer than per_class={per_class}")
        picks = rng.choice(len(names), size=per_class, replace=False)
        chosen += [(names[i], label) for i in sorted(picks)]
    order = rng.permutation(len(chosen))
    return [chosen[i] for i in order]


def read_jpeg_images(paths: Sequence[str | os.PathLike], shape: tuple[int, int, int] = _SHAPE) -> np.ndarray:
    """Decode JPEG files to one uint8 array of ``shape`` images, in the given order.

    Raises:
        ValueError: an image has another shape; the message names the file.

    Introduced in c2x_lab_data_augmentation.
    """
    from PIL import Image  # lazy: only the image helpers need Pillow

    out = np.empty((len(paths), *shape), dtype=np.uint8)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        if pixels.shape != shape:
            raise ValueError(f"{path}: image shape {pixels.shape}, expected {shape}")
        out[i] = pixels
    return out


def load_cifar10_jpeg(
    split: str,
    per_class: int,
    *,
    seed: int,
    data_dir: str | os.PathLike | None = None,
    **fetch_kw,
) -> ImageSet:
    """Load ``per_class`` seeded images of each class from the CIFAR-10 JPEG tarball of ``split``.

    The tarball (``train``: 50,000 images, ``test``: 10,000) and ``labels.txt`` are fetched
    through :func:`labs_utils.datasets.fetch`; only the chosen members are extracted, safely,
    into a temporary folder that is removed afterwards. The pixels went through JPEG (quality
    ~75), so ``lossy`` is True and ``data_source`` is what the registry says for a lossy file.

    Introduced in c2x_lab_data_augmentation.
    """
    if split not in CIFAR10_JPEG_FILES:
        raise ValueError(f"split must be one of {sorted(CIFAR10_JPEG_FILES)}, not {split!r}")
    tarball = CIFAR10_JPEG_FILES[split]
    fetched = datasets.fetch("cifar10", [tarball, "labels.txt"], data_dir=data_dir, **fetch_kw)
    class_names = datasets.read_cifar10_labels(data_dir=data_dir, **fetch_kw)
    archive = fetched.path(tarball)
    pairs = choose_per_class(jpeg_members(archive, split, class_names), per_class, seed)
    names = [name for name, _ in pairs]
    with tempfile.TemporaryDirectory(prefix="cifar10-jpeg-") as tmp:
        datasets.extract_archive(archive, tmp, members=names)
        images = read_jpeg_images([Path(tmp) / name for name in names])
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    return ImageSet(images, labels, class_names, names, fetched.data_source, tarball, lossy=True)


# --- structured data: oversampling and noise -----------------------------------------------------


def _minority_plan(y: np.ndarray) -> dict[int, int]:
    """Return ``{class: rows to add}`` so every class reaches the size of the largest one."""
    classes, counts = np.unique(y, return_counts=True)
    return {int(c): int(counts.max() - n) for c, n in zip(classes, counts, strict=True) if n < counts.max()}


def random_oversample(X: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X, y`` with copies of randomly drawn minority rows appended until classes balance.

    The original rows come first and unchanged.

    Introduced in c2x_lab_data_augmentation.
    """
    rng = np.random.default_rng(seed)
    extra = [rng.choice(np.flatnonzero(y == c), size=n, replace=True) for c, n in _minority_plan(y).items()]
    picks = np.concatenate(extra) if extra else np.array([], dtype=int)
    return np.concatenate([X, X[picks]]), np.concatenate([y, y[picks]])


def smote_oversample(X: np.ndarray, y: np.ndarray, *, seed: int, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X, y`` with synthetic minority rows appended until classes balance (SMOTE-like).

    Each new row lies on the segment from a random minority row to one of its ``k`` nearest
    minority neighbours (Euclidean, so scale the features first): ``x + u * (neighbour - x)``
    with ``u`` uniform in [0, 1). The original rows come first and unchanged.

    Raises:
        ValueError: a minority class has fewer than two rows (it has no neighbour).

    Introduced in c2x_lab_data_augmentation.
    """
    rng = np.random.default_rng(seed)
    new_X, new_y = [X], [y]
    for c, n in _minority_plan(y).items():
        rows = X[y == c]
        if len(rows) < 2:
            raise ValueError(f"class {c} has {len(rows)} row; SMOTE needs at least two to interpolate")
        distances = ((rows[:, None, :] - rows[None, :, :]) ** 2).sum(axis=2)
        np.fill_diagonal(distances, np.inf)
        neighbours = np.argsort(distances, axis=1)[:, : min(k, len(rows) - 1)]
        base = rng.integers(len(rows), size=n)
        partner = neighbours[base, rng.integers(neighbours.shape[1], size=n)]
        u = rng.random((n, 1))
        new_X.append(rows[base] + u * (rows[partner] - rows[base]))
        new_y.append(np.full(n, c, dtype=y.dtype))
    return np.concatenate(new_X), np.concatenate(new_y)


def add_gaussian_noise(
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    scale: float,
    copies: int = 1,
    columns: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X, y`` with ``copies`` noisy copies of every row appended (noise injection).

    Noise is Gaussian with standard deviation ``scale`` times each column's own standard
    deviation, added only to ``columns`` (None: all). The original rows come first and unchanged.

    Introduced in c2x_lab_data_augmentation.
    """
    rng = np.random.default_rng(seed)
    cols = np.arange(X.shape[1]) if columns is None else np.asarray(columns, dtype=int)
    std = X[:, cols].std(axis=0)
    noisy = []
    for _ in range(copies):
        copy = X.astype(float, copy=True)
        copy[:, cols] += rng.normal(size=(len(X), len(cols))) * (scale * std)
        noisy.append(copy)
    return np.concatenate([X, *noisy]), np.concatenate([y] * (copies + 1))


# --- comparing runs over seeds -------------------------------------------------------------------


def binary_metrics(y_true: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Return ROC AUC, accuracy, balanced accuracy and minority recall of scores ``p`` at ``threshold``.

    Introduced in c2x_lab_data_augmentation.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score, roc_auc_score

    pred = (np.asarray(p) >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y_true, p)),
        "accuracy": float(accuracy_score(y_true, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, pred)),
        "recall": float(recall_score(y_true, pred)),
    }


def wins(per_seed: pd.DataFrame, better: str, than: str) -> int:
    """Return in how many rows (seeds) column ``better`` is strictly greater than column ``than``.

    Introduced in c2x_lab_data_augmentation.
    """
    return int((per_seed[better] > per_seed[than]).sum())


def curves_table(
    curves: Mapping[tuple[str, int], Sequence[float]], metric: str = "val_accuracy"
) -> pd.DataFrame:
    """Return one row per (condition, seed, epoch) from ``{(condition, seed): values per epoch}``.

    Epochs count from 1.

    Introduced in c2x_lab_data_augmentation.
    """
    rows = [
        {"condition": condition, "seed": seed, "epoch": epoch, metric: float(value)}
        for (condition, seed), values in curves.items()
        for epoch, value in enumerate(values, start=1)
    ]
    return pd.DataFrame(rows, columns=["condition", "seed", "epoch", metric])


def seed_table(per_seed: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """Return ``per_seed`` (one row per seed) with mean, std, min and max rows appended, rounded.

    Introduced in c2x_lab_data_augmentation.
    """
    summary = per_seed.agg(["mean", "std", "min", "max"])
    return pd.concat([per_seed, summary]).round(decimals)


def plot_curves(table: pd.DataFrame, metric: str = "val_accuracy", ax: plt.Axes | None = None) -> Figure:
    """Plot ``metric`` over epochs per condition: the mean over seeds, a min–max band, thin seed lines.

    Introduced in c2x_lab_data_augmentation.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for color, (condition, part) in zip(
        plt.rcParams["axes.prop_cycle"].by_key()["color"], table.groupby("condition"), strict=False
    ):
        wide = part.pivot(index="epoch", columns="seed", values=metric)
        ax.plot(wide.index, wide.values, color=color, linewidth=0.6, alpha=0.35)
        ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color=color, alpha=0.15)
        ax.plot(
            wide.index,
            wide.mean(axis=1),
            color=color,
            linewidth=2,
            label=f"{condition} (mean of {wide.shape[1]} seeds)",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend()
    return ax.figure


def plot_image_grid(
    rows: Sequence[np.ndarray], row_titles: Sequence[str], col_titles: Sequence[str] | None = None
) -> Figure:
    """Plot each entry of ``rows`` (an array of images, uint8 or floats in [0, 255]) as one row.

    Introduced in c2x_lab_data_augmentation.
    """
    ncols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.3 * ncols, 1.4 * len(rows)), squeeze=False)
    for i, images in enumerate(rows):
        for j in range(ncols):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(images):
                ax.imshow(np.clip(np.asarray(images[j]), 0, 255).astype(np.uint8))
            if i == 0 and col_titles is not None and j < len(col_titles):
                ax.set_title(col_titles[j], fontsize=8)
        axes[i][0].text(-4, 16, row_titles[i], ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig
