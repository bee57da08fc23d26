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
