"""scikit-learn on anygrad tensors (``array_api_dispatch=True``): NumPy's values, and
gradients through what scikit-learn computes, equal to central differences.

A pipeline (``StandardScaler`` + ``PCA``) is trained and a loss differentiated through its
``transform``; Ridge, LDA, the pairwise kernels and the regression metrics with
``multioutput="raw_values"`` give NumPy's values and differentiate too. A
:class:`anygrad.GraphCutWarning` is an error here: scikit-learn must never have converted a
Tensor to NumPy on the way. scikit-learn's own array-API suite, run over anygrad, is
``ci/sklearn-array-api`` (with ``tests/sklearn_plugin.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag
from anygrad.testing import gradcheck

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed")
pytest.importorskip("array_api_compat", reason="scikit-learn's dispatch needs array-api-compat")
from sklearn import metrics  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.metrics import pairwise  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::anygrad.GraphCutWarning")

RNG = np.random.default_rng(3)
X = RNG.normal(size=(12, 4)) * [1.0, 2.0, 0.5, 3.0] + [0.0, 1.0, -2.0, 0.5]
Y = X @ RNG.normal(size=(4, 2)) + 0.1 * RNG.normal(size=(12, 2))
LABELS = (X[:, 0] + 0.3 * X[:, 1] > 0.2).astype(np.int64)
X_NEW = RNG.normal(size=(5, 4))


def _numpy(fit):
    """``fit()`` on NumPy's arrays, without dispatch: the reference."""
    with sklearn.config_context(array_api_dispatch=False):
        return fit()


def _const(backend, host):
    return backend.tensor(host, requires_grad=False)


def _same(got, want, rtol=1e-10, atol=1e-12):
    assert isinstance(got, ag.Tensor), f"{type(got).__name__}, not a Tensor"
    assert got.dtype == ag.float64
    np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=atol)


def test_pipeline_transform_is_differentiable(backend, dispatch):
    pipe = make_pipeline(StandardScaler(), PCA(n_components=2)).fit(_const(backend, X))
    ref = _numpy(lambda: make_pipeline(StandardScaler(), PCA(n_components=2)).fit(X))
    for name in ("mean_", "scale_"):
        _same(getattr(pipe[0], name), getattr(ref[0], name))
    _same(pipe[1].components_, ref[1].components_)
    shift = backend.tensor(np.full(4, 0.25))  # the parameter: where the new points sit
    _same(pipe.transform(_const(backend, X_NEW) + shift), ref.transform(X_NEW + 0.25))

    def loss(p):
        z = pipe.transform(_const(backend, X_NEW) + p)
        return ag.sum(z * z) + ag.sum(ag.tanh(z[:, 0]))

    value = loss(shift)
    value.backward()
    assert shift.grad.dtype == shift.dtype and shift.grad.device == shift.device
    gradcheck(loss, [shift])


def test_gradient_through_pca_fit(backend, dispatch):
    """PCA's fit_transform (an SVD) differentiates with respect to the data it is fitted on."""
    data = backend.tensor(X)
    pca = lambda: PCA(n_components=2, svd_solver="full")  # noqa: E731
    _same(pca().fit_transform(data), _numpy(lambda: pca().fit_transform(X)))
    gradcheck(lambda x: pca().fit_transform(x), [data])


def test_ridge(backend, dispatch):
    model = Ridge(alpha=0.5, solver="svd")
    ref = _numpy(lambda: Ridge(alpha=0.5, solver="svd").fit(X, Y))
    targets = backend.tensor(Y)
    model.fit(_const(backend, X), targets)
    _same(model.coef_, ref.coef_)
    _same(model.intercept_, ref.intercept_)
    _same(model.predict(_const(backend, X_NEW)), ref.predict(X_NEW))
    gradcheck(lambda x: model.predict(x), [backend.tensor(X_NEW)])
    # the fitted coefficients, as a function of the targets
    gradcheck(lambda y: Ridge(alpha=0.5, solver="svd").fit(_const(backend, X), y).coef_,
              [targets])


def test_linear_discriminant_analysis(backend, dispatch):
    lda = LinearDiscriminantAnalysis(solver="svd")
    lda.fit(_const(backend, X), backend.tensor(LABELS))
    ref = _numpy(lambda: LinearDiscriminantAnalysis(solver="svd").fit(X, LABELS))
    _same(lda.predict_proba(_const(backend, X_NEW)), ref.predict_proba(X_NEW))
    got, want = lda.transform(_const(backend, X_NEW)), ref.transform(X_NEW)
    flip = np.sign(got.numpy()[0] * want[0])  # the SVD's sign of each direction is free
    _same(got * backend.tensor(flip, requires_grad=False), want)
    np.testing.assert_array_equal(lda.predict(_const(backend, X_NEW)).numpy(),
                                  ref.predict(X_NEW))
    gradcheck(lambda x: lda.predict_proba(x), [backend.tensor(X_NEW)])


KERNELS = ["rbf_kernel", "polynomial_kernel", "linear_kernel", "sigmoid_kernel",
           "laplacian_kernel", "cosine_similarity", "euclidean_distances",
           "manhattan_distances"]


@pytest.mark.parametrize("name", KERNELS)
def test_pairwise_kernels(backend, dispatch, name):
    fn = getattr(pairwise, name)
    a, b = backend.tensor(X_NEW), backend.tensor(X[:3])  # distinct points: smooth distances
    _same(fn(a, b), fn(X_NEW, X[:3]))
    gradcheck(fn, [a, b])


METRICS = ["r2_score", "mean_squared_error", "mean_absolute_error",
           "explained_variance_score"]


@pytest.mark.parametrize("name", METRICS)
def test_regression_metrics_raw_values(backend, dispatch, name):
    fn = getattr(metrics, name)
    pred = Y + 0.3 * RNG.normal(size=Y.shape)
    y_pred = backend.tensor(pred)
    _same(fn(_const(backend, Y), y_pred, multioutput="raw_values"),
          fn(Y, pred, multioutput="raw_values"))
    gradcheck(lambda p: fn(_const(backend, Y), p, multioutput="raw_values"), [y_pred])
