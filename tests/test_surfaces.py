"""course_lib.surfaces: every gradient and Hessian agrees with the shared gradient checker (float64,
rtol 1e-7), the functions broadcast over grids, and the listed minima are critical points."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import gradcheck, numerical_gradient, numerical_jacobian, relative_error
from course_lib.surfaces import SURFACES, Surface, get_surface, ill_conditioned, quadratic, rosenbrock

ALL = sorted(SURFACES) + ["ill_conditioned_rotated", "rosenbrock_a2"]
EXTRA = {"ill_conditioned_rotated": ill_conditioned(kappa=50.0, angle=0.7), "rosenbrock_a2": rosenbrock(2.0, 5.0)}
RTOL = 1e-7


def surface(name: str) -> Surface:
    return EXTRA.get(name) or get_surface(name)


@st.composite
def point_in_domain(draw, name):
    (x0, x1), (y0, y1) = surface(name).domain
    return np.array([draw(st.floats(x0, x1)), draw(st.floats(y0, y1))])


@st.composite
def surface_and_point(draw):
    name = draw(st.sampled_from(ALL))
    return name, draw(point_in_domain(name))


@settings(max_examples=300, deadline=None)
@given(case=surface_and_point())
def test_gradient_matches_central_differences(case):
    name, p = case
    s = surface(name)
    g = s.grad_at(p)
    # Central differences carry a round-off error of about eps |f| / h; relative accuracy 1e-7
    # needs a gradient well above it, so points where it (almost) vanishes are left to
    # test_minima_are_critical_points.
    assume(np.linalg.norm(g) > 1e-2 * max(1.0, abs(float(s.f_at(p)))))
    result = gradcheck(s.f_at, s.grad_at, p, rtol=RTOL)
    assert result.ok, (name, p, str(result))


@settings(max_examples=300, deadline=None)
@given(case=surface_and_point())
def test_hessian_is_the_jacobian_of_the_gradient(case):
    name, p = case
    s = surface(name)
    H = s.hessian_at(p)
    assume(np.linalg.norm(H) > 1e-2 * max(1.0, np.linalg.norm(s.grad_at(p))))
    assert H.shape == (2, 2) and np.array_equal(H, H.T)
    err = relative_error(H, numerical_jacobian(s.grad_at, p))
    assert err <= RTOL, (name, p, err)


@pytest.mark.parametrize("name", ALL)
def test_minima_are_critical_points_with_positive_curvature(name):
    s = surface(name)
    for m in s.minima:
        p = np.array(m)
        assert np.linalg.norm(s.grad_at(p)) < 1e-12 * max(1.0, np.linalg.norm(s.hessian_at(p))), (name, m)
        assert np.all(np.linalg.eigvalsh(s.hessian_at(p)) > 0), (name, m)
        # and no point nearby is lower
        offsets = 1e-3 * np.stack([np.cos(np.linspace(0, 2 * np.pi, 16)), np.sin(np.linspace(0, 2 * np.pi, 16))])
        assert np.all(s.f(p[0] + offsets[0], p[1] + offsets[1]) > s.f_at(p))
        (x0, x1), (y0, y1) = s.domain
        assert x0 <= m[0] <= x1 and y0 <= m[1] <= y1, "minima lie in the plotting domain"


@pytest.mark.parametrize("name", ALL)
def test_functions_broadcast_over_grids(name):
    s = surface(name)
    X, Y = s.grid(7)
    F, G, H = s.f(X, Y), s.grad(X, Y), s.hessian(X, Y)
    assert F.shape == (7, 7) and G.shape == (2, 7, 7) and H.shape == (2, 2, 7, 7)
    # the grid values are the point values
    i, j = 3, 5
    p = np.array([X[i, j], Y[i, j]])
    assert np.isclose(F[i, j], s.f_at(p))
    assert np.allclose(G[:, i, j], s.grad_at(p)) and np.allclose(H[:, :, i, j], s.hessian_at(p))
    # a column of x against a row of y broadcasts to a grid; a batch of points (2, N) works too
    x, y = np.linspace(-1, 1, 3)[:, None], np.linspace(-1, 1, 4)[None, :]
    assert s.f(x, y).shape == (3, 4) and s.grad(x, y).shape == (2, 3, 4) and s.hessian(x, y).shape == (2, 2, 3, 4)
    P = np.stack([X.ravel(), Y.ravel()])
    assert np.allclose(s.grad_at(P), G.reshape(2, -1))


def test_known_values():
    assert get_surface("rosenbrock").f_at(np.array([1.0, 1.0])) == 0.0
    assert get_surface("beale").f_at(np.array([3.0, 0.5])) == 0.0
    for m in get_surface("himmelblau").minima:
        assert abs(get_surface("himmelblau").f_at(np.array(m))) < 1e-24
    assert get_surface("bowl").f_at(np.array([3.0, 4.0])) == 25.0
    assert get_surface("saddle").minima == ()
    wavy = get_surface("wavy")
    assert min(wavy.f_at(np.array(m)) for m in wavy.minima) == wavy.f_at(np.array(wavy.minima[0]))


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
@pytest.mark.parametrize("angle", [0.0, 0.4])
def test_ill_conditioned_has_the_requested_condition_number(kappa, angle):
    H = ill_conditioned(kappa, angle).hessian_at(np.zeros(2))
    w = np.linalg.eigvalsh(H)
    assert np.isclose(w[-1] / w[0], kappa)


def test_quadratic_rejects_bad_matrices_and_unknown_names():
    with pytest.raises(ValueError):
        quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]), name="q", title="q", latex="q")
    with pytest.raises(ValueError):
        ill_conditioned(0.5)
    with pytest.raises(KeyError, match="known"):
        get_surface("nope")


def test_a_wrong_gradient_is_caught():
    """The tests above can fail: a Rosenbrock gradient with a slip does not pass."""
    s = get_surface("rosenbrock")
    p = np.array([0.3, -0.4])
    wrong = lambda q: s.grad_at(q) * np.array([1.0, 0.5])  # noqa: E731
    assert not gradcheck(s.f_at, wrong, p)
    assert relative_error(numerical_gradient(s.f_at, p), s.grad_at(p)) < RTOL
