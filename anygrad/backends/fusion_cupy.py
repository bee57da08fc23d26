"""Fused elementwise kernels on CUDA GPUs: CUDA source for a CuPy ``ElementwiseKernel``.

A fused program becomes a few lines of CUDA C++, one typed temporary per op; CuPy compiles
the kernel once (and caches it on disk), and the kernel handles broadcasting and strides.
:func:`check_source` wraps the same lines in a standalone kernel, so that the generated code
can be compile-checked (``nvcc --ptx`` or NVRTC) on a machine without a GPU.

A region's program (``Program.outs``: several results, a training step's forward values and
gradients together) becomes one kernel with an output parameter per result; reductions
(``Program.sums``) are left to CuPy (``sums = False``: the planner does not fuse them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

CTYPES = {"float32": "float", "float64": "double", "bool": "bool"}

TEMPLATES = {
    "add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}", "divide": "{0} / {1}",
    "pow": "pow({0}, {1})", "negative": "-{0}", "positive": "{0}", "square": "{0} * {0}",
    "abs": "fabs({0})", "exp": "exp({0})", "expm1": "expm1({0})", "log": "log({0})",
    "log1p": "log1p({0})", "log2": "log2({0})", "log10": "log10({0})", "sqrt": "sqrt({0})",
    "sin": "sin({0})", "cos": "cos({0})", "tan": "tan({0})", "asin": "asin({0})",
    "acos": "acos({0})", "atan": "atan({0})", "atan2": "atan2({0}, {1})", "sinh": "sinh({0})",
    "cosh": "cosh({0})", "tanh": "tanh({0})", "asinh": "asinh({0})", "acosh": "acosh({0})",
    "atanh": "atanh({0})",
    # NumPy's maximum/minimum propagate NaN (CUDA's fmax/fmin do not)
    "maximum": "({0} > {1} || {0} != {0}) ? {0} : {1}",
    "minimum": "({0} < {1} || {0} != {0}) ? {0} : {1}",
    "less": "{0} < {1}", "less_equal": "{0} <= {1}", "greater": "{0} > {1}",
    "greater_equal": "{0} >= {1}", "equal": "{0} == {1}", "not_equal": "{0} != {1}",
    "where": "{0} ? {1} : {2}",
}


def outputs(program: Any) -> list[tuple[str, str]]:
    """``(name, dtype)`` of each result: ``y`` for a chain, ``y0, y1, ...`` for a region."""
    if not program.outs:
        return [("y", program.out)]
    return [(f"y{k}", program.body[b][2]) for k, b in enumerate(program.outs)]


def kernel_parts(program: Any) -> tuple[str, str, str, str]:
    """``(in_params, out_params, operation, name)`` of the program's ``ElementwiseKernel``."""
    in_params = ", ".join(f"{dtype} i{k}" for k, (_, dtype) in enumerate(program.inputs))
    lines = []
    last = len(program.body) - 1
    out_at = {b: k for k, b in enumerate(program.outs)}
    for j, (name, args, dtype) in enumerate(program.body):
        expr = TEMPLATES[name].format(*(f"i{k}" if kind == "in" else f"t{k}"
                                        for kind, k in args))
        if j == last and not program.outs:
            lines.append(f"y = ({CTYPES[program.out]})({expr});")
            continue
        lines.append(f"const {CTYPES[dtype]} t{j} = {expr};")
        if j in out_at:
            lines.append(f"y{out_at[j]} = t{j};")
    operation = "\n".join(lines)
    out_params = ", ".join(f"{dtype} {name}" for name, dtype in outputs(program))
    digest = hashlib.sha1(f"{in_params}|{out_params}|{operation}".encode()).hexdigest()[:16]
    return in_params, out_params, operation, f"anygrad_fused_{digest}"


def check_source(program: Any) -> str:
    """A standalone CUDA kernel running the program's operation, element by element, with
    the parameters typed as ``ElementwiseKernel`` types them: for compile checks."""
    _, _, operation, name = kernel_parts(program)
    params, loads = [], []
    for k, (kind, dtype) in enumerate(program.inputs):
        ctype = CTYPES[dtype]
        if kind == "scalar":
            params.append(f"const {ctype} i{k}")
        else:
            params.append(f"const {ctype}* __restrict__ in{k}")
            loads.append(f"    const {ctype} i{k} = in{k}[n];")
    results = outputs(program)
    params += [f"{CTYPES[dtype]}* __restrict__ out_{y}" for y, dtype in results]
    body = "\n".join("    " + line for line in operation.splitlines())
    declare = "".join(f"    {CTYPES[dtype]} {y};\n" for y, dtype in results)
    store = "".join(f"    out_{y}[n] = {y};\n" for y, _ in results)
    return (f'extern "C" __global__ void {name}({", ".join(params)},\n'
            f"        long long size) {{\n"
            f"    long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
            f"    if (n >= size) return;\n" + "\n".join(loads) + "\n"
            f"{declare}{body}\n{store}}}\n")


class CupyFuser:
    """Compiles fused programs (see ``anygrad.lazy.fusion``) to CuPy ``ElementwiseKernel``s.

    Args:
        cupy: The ``cupy`` module.
    """

    ops = frozenset(TEMPLATES)
    dtypes = frozenset({"float32", "float64"})
    min_size = 0  # one launch instead of several pays at every size
    regions = True  # several results in one kernel (see ``anygrad.lazy.fusion``)
    sums = False

    def __init__(self, cupy: Any):
        self.cupy = cupy
        self._kernels: dict[Any, Callable] = {}

    def compile(self, program: Any) -> Callable | None:
        """The kernel of ``program`` (cached per program), or None for one with ``sums``.

        Args:
            program: A fused program (``anygrad.lazy.fusion.Program``).

        Returns:
            ``kernel(args, out=None)`` on the program's inputs: a chain's returns its result
            (written into ``out`` when given); a region's ignores ``out`` and returns the
            tuple of its results. None when the program has reductions.
        """
        if program.sums:
            return None
        kernel = self._kernels.get(program)
        if kernel is None:
            in_params, out_params, operation, name = kernel_parts(program)
            fused = self.cupy.ElementwiseKernel(in_params, out_params, operation, name)
            if program.outs:
                def kernel(args: list, out: Any = None) -> Any:
                    result = fused(*args)
                    return result if isinstance(result, tuple) else (result,)
            else:
                def kernel(args: list, out: Any = None) -> Any:
                    return fused(*args) if out is None else fused(*args, out)

            self._kernels[program] = kernel
        return kernel
