"""Complex gradients follow PyTorch's convention (dL/dRe + i dL/dIm, for a real loss L):
the engine conjugates around rules written as for real numbers; checked against torch and
against central differences on the real and imaginary parts."""

from __future__ import annotations

import numpy as np
import pytest

import anygrad as ag

PROGRAMS = {
    "multiply": lambda lib, z, w: lib.abs(z * w) ** 2,
    "divide_exp": lambda lib, z, w: lib.abs(lib.exp(z) / (w + 2)) ** 2,
    "sin_pow": lambda lib, z, w: lib.abs(lib.sin(z) * w ** 2),
    "matmul": lambda lib, z, w: lib.abs(z.reshape(2, 2) @ w.reshape(2, 2)) ** 2,
    "conj": lambda lib, z, w: lib.abs(lib.conj(z) * w + z) ** 2,
    "real_imag": lambda lib, z, w: lib.real(z * w) ** 2 + lib.imag(z * z) * 3,
    # chains of exact ops (the engine carries "real" along them) into and out of complex
    "abs_then_real_chain": lambda lib, z, w: lib.sin(lib.tanh(lib.abs(z * w) * 2.0) + 1.0) ** 2,
    "real_then_complex_chain": lambda lib, z, w: lib.abs(z * lib.tanh(lib.abs(w) * 0.5) + z) ** 2,
}


def _inputs():
    rng = np.random.default_rng(3)
    return [rng.standard_normal(4) + 1j * rng.standard_normal(4) for _ in range(2)]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_complex_gradients_match_torch(name):
    torch = pytest.importorskip("torch")
    z0, w0 = _inputs()
    ours = [ag.Tensor(v) for v in (z0, w0)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (z0, w0)]
    PROGRAMS[name](ag, *ours).sum().backward()
    PROGRAMS[name](torch, *theirs).sum().backward()
    for o, t in zip(ours, theirs, strict=True):
        assert o.grad.dtype == ag.complex128
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_complex_gradients_match_central_differences(backend, name):
    z0, w0 = _inputs()
    z, w = backend.tensor(z0), backend.tensor(w0)
    PROGRAMS[name](ag, z, w).sum().backward()

    def loss(zv):
        with ag.no_grad():
            return PROGRAMS[name](ag, backend.tensor(zv), backend.tensor(w0)).sum().item()

    eps = 1e-6
    want = np.zeros(4, dtype=complex)
    for k in range(4):
        for unit in (1, 1j):
            step = np.zeros(4, dtype=complex)
            step[k] = eps * unit
            want[k] += unit * (loss(z0 + step) - loss(z0 - step)).real / (2 * eps)
    np.testing.assert_allclose(z.grad.numpy(), want, rtol=1e-6, atol=1e-8)


def test_fft_gradient_is_exact():
    x = ag.Tensor(np.arange(4.0))
    (ag.abs(ag.fft.fft(x)) ** 2).sum().backward()  # Parseval: 4 * sum(x**2) -> 8 x
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.arange(4.0), rtol=1e-12)
    assert x.grad.dtype == ag.float64
