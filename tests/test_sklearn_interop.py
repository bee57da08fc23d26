"""scikit-learn's array-API dispatch on anygrad tensors: GaussianMixture gives NumPy's fit.

Tensors on ``cpu`` with the NumPy backend (no ``backend`` fixture: one backend is the point).

What GaussianMixture needs (scikit-learn 1.9): ``array-api-compat``; SciPy >= 1.14 with
``SCIPY_ARRAY_API=1`` in the environment (``sklearn.config_context(array_api_dispatch=True)``
checks the variable itself and refuses without it, whatever the namespace); and
``init_params="random"`` or ``"random_from_data"``: the default ``"kmeans"`` raises
NotImplementedError under dispatch for every namespace, NumPy's included, so these tests use
``"random_from_data"`` on both sides.
"""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("array_api_compat", reason="scikit-learn's dispatch needs array-api-compat")
pytest.importorskip("scipy", reason="scikit-learn needs SciPy")
from sklearn.mixture import GaussianMixture  # noqa: E402

ATTRIBUTES = ("means_", "covariances_", "weights_", "precisions_cholesky_", "lower_bound_")


def _data() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(0.0, 1.0, (60, 2)),
                           rng.normal(4.0, 0.5, (40, 2)) @ np.array([[1.0, 0.3], [0.0, 1.0]])])


def _model() -> GaussianMixture:
    return GaussianMixture(n_components=2, covariance_type="full", random_state=0,
                           init_params="random_from_data")


def test_gaussian_mixture_on_tensors_gives_numpys_fit(dispatch):
    X = _data()
    ref = _model().fit(X)  # NumPy under the same dispatch
    gm = _model().fit(ag.Tensor(X, device="cpu", requires_grad=False))
    assert gm.n_iter_ == ref.n_iter_ and bool(gm.converged_) == bool(ref.converged_)
    for name in ATTRIBUTES:
        got, want = getattr(gm, name), getattr(ref, name)
        assert isinstance(got, ag.Tensor), f"{name} is a {type(got).__name__}, not a Tensor"
        assert got.dtype == ag.float64
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12, err_msg=name)
    T = ag.Tensor(X, device="cpu", requires_grad=False)
    np.testing.assert_array_equal(gm.predict(T).numpy(), ref.predict(X))
    np.testing.assert_allclose(float(gm.score(T)), ref.score(X), rtol=1e-10)


def test_gaussian_mixture_matches_the_fit_without_dispatch(dispatch):
    X = _data()
    gm = _model().fit(ag.Tensor(X, device="cpu", requires_grad=False))
    with sklearn.config_context(array_api_dispatch=False):
        ref = _model().fit(X)
    for name in ("means_", "covariances_", "weights_"):
        np.testing.assert_allclose(getattr(gm, name).numpy(), getattr(ref, name),
                                   rtol=1e-10, atol=1e-12, err_msg=name)
    # the fit found the two clusters
    means = np.sort(gm.means_.numpy()[:, 0])
    assert means[0] < 1.0 < 3.0 < means[1]


def test_gaussian_mixture_on_tensors_that_require_grad(dispatch):
    """Float tensors require gradients by default: the fit records a graph as it goes, and
    must still give NumPy's numbers."""
    X = _data()
    ref = _model().fit(X)
    try:
        gm = _model().fit(ag.Tensor(X, device="cpu"))
    except TypeError as exc:  # an op with no gradient rule, refused while recording
        pytest.fail(f"GaussianMixture on a tensor that requires grad: {exc}")
    np.testing.assert_allclose(gm.means_.numpy(), ref.means_, rtol=1e-10)
    np.testing.assert_allclose(gm.weights_.numpy(), ref.weights_, rtol=1e-10)
