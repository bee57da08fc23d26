"""Drawing graphs: DOT text with labels, ops, constants, and one box per compound-op call."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import anygrad as ag
from anygrad import drawing
from anygrad.lazy import pending


@ag.compound_op
def softmax(x):
    e = ag.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def clusters(source: str) -> dict[str, list[str]]:
    """cluster id (nested ones as "outer/inner") -> the op names drawn directly inside it."""
    found: dict[str, list[str]] = {}
    stack: list[str] = []
    for line in source.splitlines():
        opened = re.search(r"subgraph cluster_(\d+) \{", line)
        if opened:
            stack.append("/".join(stack[-1:] + [opened.group(1)]))
            found[stack[-1]] = []
        elif line.strip() == "}" and stack:
            stack.pop()
        elif stack and (op := re.search(r'_op \[[^\]]*label="([a-z_]+)"', line)):
            found[stack[-1]].append(op.group(1))
    return found


def test_each_compound_op_call_is_one_labelled_box(backend):
    w = backend.tensor(np.ones((3, 2)), label="weights")
    x = backend.tensor(np.arange(6.0).reshape(2, 3), requires_grad=False)
    y = softmax(x @ w)
    z = softmax(y * 2)
    source = ag.graph(z).source
    boxes = clusters(source)
    assert len(boxes) == 2
    for ops in boxes.values():
        assert sorted(ops) == ["divide", "exp", "max", "subtract", "sum"]
    assert source.count('label="softmax"') == 2
    assert z.group[0] == y.group[0] == "softmax" and z.group[1] != y.group[1]
    assert w.group is None and (y * 2).group is None
    assert "weights\\n" in source  # the label, then dtype and shape
    assert 'label="matmul"' in source and 'label="multiply"' in source
    assert "[2, 3]" in source  # x: a constant of the graph, drawn grey
    assert source.count("->") == 2 * 12 + 3 + 3  # per op: its output and one per input


def test_graph_group_blocks_and_nesting():
    x = ag.Tensor([1.0, 2.0])
    with ag.graph_group("outer"):
        a = x * 2
        with ag.graph_group("inner"):
            b = ag.exp(a)
        c = b + a
    d = c.sum()
    assert a.group[0] == "outer" and b.group[0] == "inner" and c.group[0] == "outer"
    assert d.group is None
    boxes = clusters(ag.graph(d).source)
    (outer, inner), = [(k, v) for k in boxes for v in boxes if v.startswith(k + "/")]
    assert sorted(boxes[outer]) == ["add", "multiply"] and boxes[inner] == ["exp"]


def test_drawing_deferred_graphs_computes_nothing():
    x = ag.Tensor(np.ones(3), label="x")
    with ag.lazy():
        y = ag.exp(x) * 2
        z = (y + 1).sum()
        source = ag.graph(z).source
        assert pending(z) and pending(y)
    assert "dashed" in source and 'label="exp"' in source and 'label="add"' in source
    with ag.lazy(), ag.no_grad():
        q = (ag.exp(x) + 1).sum()  # its intermediates are held by nobody
        ops = re.findall(r'_op \[[^\]]*label="([a-z]+)"', ag.graph(q).source)
        assert sorted(ops) == ["add", "exp", "sum"] and pending(q)


def test_graphs_freed_by_backward_and_deep_graphs_draw():
    x = ag.Tensor([1.0])
    y = x
    for _ in range(3000):
        y = y * 1.0001
    assert ag.graph(y).source.count('label="multiply"') == 3000  # no recursion
    y.backward()
    source = ag.graph(y).source  # the graph is freed: y and its op alone
    assert source.count('label="multiply"') == 1


def test_render_writes_dot_text_or_images(tmp_path, monkeypatch):
    y = ag.exp(ag.Tensor([1.0, 2.0], label="x"))
    path = ag.graph(y).render(str(tmp_path / "g.dot"))
    assert open(path).read().startswith("digraph anygrad {")
    if shutil.which("dot"):
        ag.graph(y, str(tmp_path / "g.svg"))
        assert "<svg" in (tmp_path / "g.svg").read_text()
    monkeypatch.setattr(drawing.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz"):
        ag.graph(y, str(tmp_path / "g.png"))
    assert ag.graph(y)._repr_svg_() is None  # notebooks show the text instead


def test_layers_and_losses_are_boxed():
    F = ag.nn.functional
    w, b = ag.Tensor(np.ones((3, 4))), ag.Tensor(np.zeros(3))
    x = ag.Tensor(np.ones((2, 4)), requires_grad=False)
    logits = F.linear(x, w, b)
    loss = F.cross_entropy(logits, ag.Tensor(np.array([0, 2])))
    assert logits.group[0] == "linear" and loss.group[0] == "nll_loss"  # the innermost
    boxes = clusters(ag.graph(loss).source)
    names = re.findall(r'cluster_\d+ \{ label="([a-z_]+)"', ag.graph(loss).source)
    assert names == ["linear", "cross_entropy", "nll_loss"]
    assert any("/" in k for k in boxes)  # nll_loss drawn inside cross_entropy


def op_labels(t) -> list[str]:
    return re.findall(r'_op \[[^\]]*label="([^"]+)"', ag.graph(t).source)


def test_ops_are_drawn_by_the_names_users_wrote():
    F = ag.nn.functional
    x = ag.Tensor(np.arange(8.0).reshape(2, 4), label="x")
    assert op_labels(F.softmax(x, axis=-1)) == ["softmax"]  # one op, not its pieces
    assert op_labels(ag.nn.Softmax(dim=-1)(x)) == ["softmax"]
    assert op_labels(F.relu(x)) == ["relu"] and op_labels(x - 1) == ["subtract"]

    y = x * 1.0
    v = y[0]            # a view of y
    v *= -1.0           # written through the view: y's op is that write
    z = x * 1.0
    z += 1.0            # an in-place op on the whole tensor
    w = x * 1.0
    w[0, 1] = 5.0       # a keyed write
    drawn = op_labels(y) + op_labels(v) + op_labels(z) + op_labels(w)
    assert {"setitem", "in-place", "getitem"} <= set(drawn)
    assert not {"write", "view", "pass"} & set(drawn)  # no internal primitive names
    assert op_labels(z)[:2] == ["in-place", "add"] and op_labels(w)[0] == "setitem"


def test_deferred_tensors_are_drawn_by_their_function():
    def load_batch():
        return ag.backends.get("cpu").xp.ones((2, 3))

    d = ag.Tensor.deferred(load_batch, (2, 3), "float64")
    with ag.lazy():  # drawn before anything runs
        labels = op_labels((d * 2).sum())
    assert "deferred load_batch" in labels and pending(d)


def test_compound_ops_are_named_after_their_function():
    import functools

    def scaled(x, k):
        return x * k + 1

    class Attention:
        def __call__(self, x):
            return ag.exp(x).sum()

    half = ag.compound_op(functools.partial(scaled, k=0.5))
    attend = ag.compound_op(Attention())
    x = ag.Tensor([1.0, 2.0])
    out = attend(half(x))
    names = re.findall(r'cluster_\d+ \{ label="([^"]+)"', ag.graph(out).source)
    assert sorted(names) == ["Attention", "scaled"]
    assert half(x).group[0] == "scaled" and out.group[0] == "Attention"
    assert softmax.__name__ == "softmax"  # the decorated function keeps its name


def test_leaves_made_in_a_group_are_drawn_in_it():
    x = ag.Tensor(np.ones((2, 2)), label="input")
    with ag.graph_group("data"):
        def fetch():
            return ag.backends.get("cpu").xp.full((2, 2), 3.0)
        batch = ag.Tensor.deferred(fetch, (2, 2), "float64")
    with ag.lazy():
        loss = (x * batch).sum()
        source = ag.graph(loss).source
    inside = source[source.index('label="data"'):]
    inside = inside[:inside.index("}")]
    assert "deferred fetch" in inside and "input" not in inside
    assert batch.group[0] == "data" and x.group is None and loss.group is None


def test_eager_leaves_made_in_a_group_are_drawn_in_it():
    x = ag.Tensor([1.0, 2.0], label="x")
    with ag.graph_group("layer"):
        w = ag.Tensor([3.0, 4.0], label="w")
        h = x * w
    y = h.sum()
    assert w.group[0] == "layer" and x.group is None and y.group is None
    boxes = ag.graph(y).source.split('label="layer"')[1].split("}")[0]
    assert 'label="w\\n' in boxes and 'label="x\\n' not in boxes


def test_leaves_from_creation_functions_are_drawn_in_their_group():
    with ag.graph_group("init"):
        w = ag.zeros(3, requires_grad=True)
    b = ag.ones(3, requires_grad=True)
    assert w.group[0] == "init" and b.group is None
