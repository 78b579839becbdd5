"""scikit-learn's digits as a fixed, standardised train/test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DataError(ValueError):
    """Raised for unusable data: non-finite values, mismatched shapes or labels."""


@dataclass(frozen=True)
class DigitsData:
    """A classification data set split into training and test parts.

    Attributes
    ----------
    X_train, X_test : ndarray, shape (n, p)
        Standardised inputs (training mean and standard deviation).
    y_train, y_test : ndarray of int, shape (n,)
        Class labels in ``0 .. n_classes - 1``.
    n_classes : int
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def __post_init__(self):
        for name in ("X_train", "X_test"):
            X = np.asarray(getattr(self, name))
            if X.ndim != 2:
                raise DataError(f"{name} must be 2-D (samples x features), got shape {X.shape}")
            if not np.all(np.isfinite(X)):
                raise DataError(f"{name} contains NaN or inf")
        for xs, ys in (("X_train", "y_train"), ("X_test", "y_test")):
            X, y = np.asarray(getattr(self, xs)), np.asarray(getattr(self, ys))
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise DataError(f"{ys} must have shape ({X.shape[0]},) to match {xs}, got {y.shape}")
            if y.size and (y.min() < 0 or y.max() >= self.n_classes or np.any(y != np.round(y))):
                raise DataError(f"{ys} must hold integer labels in 0..{self.n_classes - 1}")
        if np.asarray(self.X_train).shape[1] != np.asarray(self.X_test).shape[1]:
            raise DataError("X_train and X_test must have the same number of features")

    @property
    def n_features(self) -> int:
        return int(np.asarray(self.X_train).shape[1])


def load_digits_split(n_train: int = 1000, *, split_seed: int = 0) -> DigitsData:
    """scikit-learn's 8x8 digits (1797 images, shipped, no download), split and standardised.

    Parameters
    ----------
    n_train : int, default 1000
        Training-set size (the remaining images form the test set); 10 <= n_train <= 1787.
    split_seed : int, default 0
        Seed of the fixed random permutation that defines the split (not a Monte Carlo seed).

    Returns
    -------
    DigitsData
        Inputs standardised with the training mean and standard deviation (pixels that are
        constant on the training set are left centred, not divided).

    Raises
    ------
    ValueError
        If ``n_train`` is out of range.

    Examples
    --------
    >>> d = load_digits_split(1000)
    >>> d.X_train.shape, d.X_test.shape, d.n_classes
    ((1000, 64), (797, 64), 10)
    >>> bool(abs(d.X_train.mean()) < 1e-12)
    True
    """
    from sklearn.datasets import load_digits

    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)):
        raise TypeError(f"n_train must be an int, got {type(n_train).__name__}")
    X, y = load_digits(return_X_y=True)
    if not 10 <= n_train <= X.shape[0] - 10:
        raise ValueError(f"n_train must be in [10, {X.shape[0] - 10}], got {n_train}")
    perm = np.random.default_rng(split_seed).permutation(X.shape[0])
    tr, te = perm[:n_train], perm[n_train:]
    mean = X[tr].mean(axis=0)
    std = X[tr].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return DigitsData((X[tr] - mean) / std, y[tr].astype(np.int64), (X[te] - mean) / std,
                      y[te].astype(np.int64), 10)
