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


def node_labels(source: str) -> dict[str, str]:
    """DOT node name -> its label (escaped newlines as real ones)."""
    return {name: label.replace("\\n", "\n")
            for name, label in re.findall(r'^\s*(\w+) \[[^\]]*label="([^"]*)"', source, re.M)}


def node_named(labels: dict[str, str], label: str) -> str:
    """The DOT name of the one node whose label starts with the tensor label ``label``."""
    (name,) = [n for n, text in labels.items() if text.startswith(label + "\n")]
    return name


def test_nodes_have_short_names_in_a_stable_order():
    x = ag.Tensor([1.0, 2.0], label="x")
    first = ag.graph(ag.exp(x).sum()).source
    assert first == ag.graph(ag.exp(x).sum()).source  # the same graph draws the same text
    assert re.findall(r"^\s*(\w+) \[", first, re.M) == ["t0", "t0_op", "t1", "t1_op", "t2"]
    assert node_named(node_labels(first), "x") == "t2"


def test_show_grads_puts_gradient_shapes_and_norms_on_the_nodes(backend):
    x = backend.tensor([3.0, 4.0, 12.0], requires_grad=False)
    w = backend.tensor([1.0, 2.0, 3.0], label="w")
    b = backend.tensor(np.ones((2, 3)), label="b")
    h = x * w + b
    h.retain_grad()
    loss = (h * 2.0).sum()
    before = node_labels(ag.graph(loss, show_grads=True).source)
    assert not any("grad" in label for label in before.values())  # nothing to show yet
    loss.backward(retain_graph=True)
    labels = node_labels(ag.graph(loss, show_grads=True).source).values()
    (w_label,) = [s for s in labels if s.startswith("w\n")]
    (b_label,) = [s for s in labels if s.startswith("b\n")]
    (h_label,) = [s for s in labels if "grad" in s and not s.startswith(("w\n", "b\n"))]
    # dloss/dw = 2 * 2 * x (w is broadcast over b's 2 rows): norm 4 * 13 = 52
    assert w_label.endswith("grad float64 [3]\nnorm 52")
    assert b_label.endswith(f"grad float64 [2, 3]\nnorm {np.sqrt(6 * 4):.4g}")
    assert h_label.endswith(f"grad float64 [2, 3]\nnorm {np.sqrt(6 * 4):.4g}")
    assert sum("grad" in s for s in labels) == 3  # the constants and the loss have none
    plain = node_labels(ag.graph(loss).source).values()
    assert not any("grad" in s for s in plain)  # only when asked


def test_show_grads_keeps_the_gradient_dtype_and_changes_nothing():
    w = ag.Tensor(np.array([[1.0, -2.0]], dtype=np.float32), label="w")
    loss = ag.sum(w * w)
    loss.backward()  # the graph is freed: w is no longer reached from loss
    assert "grad float" not in ag.graph(loss, show_grads=True).source
    labels = node_labels(ag.graph(w, show_grads=True).source)
    (label,) = labels.values()
    assert label == f"w\nfloat32 [1, 2]\ngrad float32 [1, 2]\nnorm {np.sqrt(20):.4g}"
    np.testing.assert_array_equal(w.grad.numpy(), [[2.0, -4.0]])  # untouched


def test_collapse_draws_each_compound_op_call_as_one_box(backend):
    w = backend.tensor(np.ones((3, 2)), label="weights")
    x = backend.tensor(np.arange(6.0).reshape(2, 3), requires_grad=False)
    h = x @ w
    y = softmax(h)
    y2 = y * 2
    z = softmax(y2)
    for t, name in ((h, "h"), (y, "y"), (y2, "y2"), (z, "z")):
        t.label = name
    source = ag.graph(z, collapse=True).source
    labels = node_labels(source)
    hn, yn, y2n, zn = (node_named(labels, name) for name in ("h", "y", "y2", "z"))
    boxes = [name for name, label in labels.items() if label == "softmax\n5 ops"]
    assert len(boxes) == 2 and "subgraph" not in source
    ops = sorted(label for name, label in labels.items() if name.endswith("_op"))
    assert ops == ["matmul", "multiply"]  # the five ops of each call are inside its box
    edges = set(re.findall(r"^\s*(\w+) -> (\w+);", source, re.M))
    into = {box: {a for a, b in edges if b == box} for box in boxes}
    out_of = {box: {b for a, b in edges if a == box} for box in boxes}
    first, second = sorted(boxes, key=lambda g: len(out_of[g] & {zn}))
    assert out_of[second] == {zn}  # the second call returns z
    assert into[first] == {hn} and into[second] == {y2n}
    assert out_of[first] == {yn}  # the first call gives y, which multiply reads
    assert (yn, f"{y2n}_op") in edges
    assert len(source.splitlines()) < len(ag.graph(z).source.splitlines())


def test_collapse_boxes_the_outermost_group_with_what_it_made():
    x = ag.Tensor([1.0, 2.0], label="x")
    with ag.graph_group("block"):
        scale = ag.Tensor([3.0, 4.0], label="scale")  # a leaf made (and used) inside
        with ag.graph_group("inner"):
            a = ag.exp(x * scale)
        b = a + x
    b.label = "b"
    loss = b.sum()
    source = ag.graph(loss, collapse=True).source
    labels = node_labels(source)
    assert sorted(labels.values()) == sorted([
        "block\n3 ops", "x\nfloat64 [2]", "b\nfloat64 [2]", "float64 []", "sum"])
    edges = set(re.findall(r"^\s*(\w+) -> (\w+);", source, re.M))
    (box,) = [n for n, s in labels.items() if s.startswith("block")]
    x, b = node_named(labels, "x"), node_named(labels, "b")
    (out,) = [n for n, s in labels.items() if s == "float64 []"]
    assert edges == {(x, box), (box, b), (b, f"{out}_op"), (f"{out}_op", out)}
    assert "scale" not in source and "inner" not in source


@ag.compound_op
def scaled_softmax(z, temperature):
    return softmax(z / temperature) * 2.0


def test_collapse_draws_constant_tensors_a_box_reads_and_a_result_that_is_the_root():
    c = ag.Tensor(np.full((2, 2), 5.0), requires_grad=False)
    w = ag.Tensor(np.eye(2), label="w")
    out = scaled_softmax(w, c)
    out.label = "out"
    source = ag.graph(out, collapse=True, show_grads=True).source
    labels = node_labels(source)
    edges = set(re.findall(r"^\s*(\w+) -> (\w+);", source, re.M))
    (box,) = [n for n, s in labels.items() if s == "scaled_softmax\n7 ops"]
    w_node, out_node, const = node_named(labels, "w"), node_named(labels, "out"), f"{box}_c0"
    assert edges == {(w_node, box), (box, out_node), (const, box)}
    assert labels[const] == "float64 [2, 2]"  # c, read inside the box: drawn grey
    assert "2.0" not in source and len(labels) == 4  # numbers stay inside the box
    with ag.lazy():  # deferred graphs collapse too, without computing
        deferred = scaled_softmax(w, 3.0)
        labels = node_labels(ag.graph(deferred, collapse=True).source)
        assert "scaled_softmax\n7 ops" in labels.values() and pending(deferred)
