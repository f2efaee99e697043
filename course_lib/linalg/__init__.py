r"""Chapter 01: the linear algebra a deep-learning practitioner uses every day.

Conventions (the course's notation table): a vector is a 1-D array ``(n,)``; a layer's
weight matrix is ``W`` of shape ``(m, n)`` (out x in, as ``torch.nn.Linear``); a data
matrix ``X`` of shape ``(N, d)`` holds one example per row, so points and batches are
transformed with ``X @ W.T``.

Functions that re-derive what NumPy already does (matrix product by its definition, the
determinant and solving via LU, the 2x2 eigenproblem) exist to be read; the tests compare
each with NumPy. Everything else is a thin, documented layer over ``numpy.linalg``.

One module per idea, each importing only those listed before it; every public name is
re-exported here (``from course_lib import linalg as la; la.solve(A, b)``):

- :mod:`~course_lib.linalg.broadcasting`: broadcast shapes, centring, the dense layer, ReLU
- :mod:`~course_lib.linalg.matrices`: the product, determinants, LU, solve, inverse
- :mod:`~course_lib.linalg.eigen`: eigenvector signs, symmetric eigen-decomposition, power
  iteration, the 2x2 eigenproblem
- :mod:`~course_lib.linalg.svd`: reconstruction, rank-k approximation, Eckart-Young, PCA
- :mod:`~course_lib.linalg.subspaces`: numerical rank, column space and null space, the
  solutions of ``A x = b`` (none, one or infinitely many; least squares)
- :mod:`~course_lib.linalg.plane`: grids and shapes of the plane and their images
"""
from course_lib.linalg.broadcasting import broadcast_shape, center, dense_layer, identity, relu
from course_lib.linalg.matrices import LU, det, det2x2, inv2x2, inverse, lu, matmul_by_definition, signed_area, solve
from course_lib.linalg.eigen import eig2x2, eig_sym, flip_signs, power_iteration
from course_lib.linalg.svd import PCA, eckart_young_error, pca, rank_k_approx, svd_reconstruct
from course_lib.linalg.subspaces import (LinearSystem, column_space, null_space, projector, rank,
                                        rank_tolerance, solve_linear_system)
from course_lib.linalg.plane import transform_grid, unit_circle, unit_square

__all__ = [
    "broadcast_shape", "center", "identity", "relu", "dense_layer",
    "matmul_by_definition", "det2x2", "signed_area", "LU", "lu", "det", "inv2x2", "solve", "inverse",
    "flip_signs", "eig_sym", "power_iteration", "eig2x2",
    "svd_reconstruct", "rank_k_approx", "eckart_young_error", "PCA", "pca",
    "rank_tolerance", "rank", "column_space", "null_space", "projector", "LinearSystem", "solve_linear_system",
    "transform_grid", "unit_circle", "unit_square",
]
