r"""The plane, for pictures: a grid, the unit circle and the unit square, and their images
under a 2x2 matrix.
"""
from __future__ import annotations

import numpy as np


def transform_grid(A: np.ndarray, lim: float = 2.0, n_lines: int = 9) -> tuple[np.ndarray, np.ndarray]:
    r"""Grid lines of the square ``[-lim, lim]^2`` and their images under ``A``.

    Parameters
    ----------
    A : ndarray, shape (2, 2)
    lim : float
    n_lines : int
        Lines per direction.

    Returns
    -------
    lines, images : ndarray, shape (2 * n_lines, 2, 2)
        ``[line, endpoint, (x, y)]``: vertical lines first, then horizontal ones.

    Notes
    -----
    A linear map sends lines to lines (or points), so two endpoints per line suffice:
    a point :math:`\mathbf{p}` (a row) goes to :math:`(\mathbf{A}\mathbf{p})^\top =
    \mathbf{p}^\top\mathbf{A}^\top`.
    """
    t = np.linspace(-lim, lim, n_lines)
    ends = np.array([-lim, lim])
    vertical = np.stack([np.stack([np.full(2, ti), ends], axis=-1) for ti in t])
    horizontal = vertical[:, :, ::-1]
    lines = np.concatenate([vertical, horizontal])
    return lines, lines @ np.asarray(A, dtype=np.float64).T


def unit_circle(n: int = 129) -> np.ndarray:
    r"""``n`` points on the unit circle, shape ``(n, 2)``, first point repeated last (closed).

    Notes
    -----
    :math:`(\cos\theta, \sin\theta)`; under :math:`\mathbf{A}` it becomes an ellipse whose
    semi-axes are the singular values of :math:`\mathbf{A}`.
    """
    theta = np.linspace(0.0, 2 * np.pi, n)
    return np.column_stack([np.cos(theta), np.sin(theta)])


def unit_square() -> np.ndarray:
    r"""Vertices of the unit square, counter-clockwise from the origin, shape ``(4, 2)``.

    Notes
    -----
    Its image under :math:`\mathbf{A}` is the parallelogram spanned by the columns
    :math:`\mathbf{A}\mathbf{e}_1, \mathbf{A}\mathbf{e}_2`, of signed area :math:`\det\mathbf{A}`.
    """
    return np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
