"""``anygrad.save`` / ``anygrad.load``: tensors and nested state dicts, no pickle, atomic."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import anygrad as ag
from anygrad import nn, optim
from anygrad.backends import npz


def test_tensor_round_trip_keeps_dtype_shape_and_flags(backend, tmp_path):
    path = tmp_path / "t.npz"
    for data in (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64),
                 np.array([True, False]), np.float64(2.5)):
        t = backend.tensor(data)
        ag.save(t, path)
        back = ag.load(path)
        assert back.dtype == t.dtype and back.shape == t.shape and back.device == t.device
        assert back.requires_grad == t.requires_grad
        np.testing.assert_array_equal(back.numpy(), t.numpy())


def test_nested_structures_round_trip(tmp_path):
    obj = {"model": {"w": ag.Tensor([1.0, 2.0])}, "step": 3, "lr": 1e-3, "name": "run",
           "flags": [True, None], "pair": (ag.Tensor([1], requires_grad=False), 2.0),
           7: "int key", "nan": float("nan")}
    ag.save(obj, tmp_path / "obj")
    back = ag.load(tmp_path / "obj")
    assert set(back) == set(obj) and back[7] == "int key" and np.isnan(back["nan"])
    assert back["step"] == 3 and back["flags"] == [True, None] and isinstance(back["pair"], tuple)
    np.testing.assert_array_equal(back["model"]["w"].numpy(), [1.0, 2.0])


def test_module_and_optimizer_state_dicts(tmp_path):
    ag.random.seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = optim.Adam(net.parameters(), lr=0.01)
    x = ag.Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    (net(x) ** 2).mean().backward()
    opt.step()
    ag.save({"model": net.state_dict(), "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = ag.load(tmp_path / "ckpt.npz")
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    fresh.load_state_dict(ckpt["model"])
    net.eval()
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).numpy(), net(x).numpy())
    assert ckpt["model"]["1.num_batches_tracked"].dtype == ag.int64
    opt2 = optim.Adam(fresh.parameters(), lr=0.5)
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)


def test_load_to_another_device(backend, two_devices, tmp_path):
    src, dst = two_devices
    ag.save({"a": ag.Tensor([1.0, 2.0], device=src)}, tmp_path / "x.npz")
    assert ag.load(tmp_path / "x.npz")["a"].device == src
    assert ag.load(tmp_path / "x.npz", device=dst)["a"].device == dst


def test_file_is_plain_npz_without_pickle(tmp_path):
    ag.save({"w": ag.Tensor([1.0])}, tmp_path / "f.npz")
    with np.load(tmp_path / "f.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["__index__", "t0"]
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not one anygrad.save wrote"):
        ag.load(tmp_path / "other.npz")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as z:  # an object array inside: refused
        z.write(tmp_path / "obj.npy", "__index__.npy")
    with pytest.raises(ValueError, match="pickle"):
        ag.load(tmp_path / "evil.npz")


def test_unsupported_objects_raise_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"obj\['bad'\] of type object"):
        ag.save({"bad": object()}, path)
    with pytest.raises(TypeError, match="keys must be str or int"):
        ag.save({(1, 2): 3}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_a_failure_mid_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    ag.save({"w": ag.Tensor([1.0, 2.0]), "v": ag.Tensor([3.0])}, path)
    old = path.read_bytes()
    calls = []
    real = npz.write_member

    def crash_on_second_array(archive, name, array):
        calls.append(name)
        if len(calls) == 3:  # the index and one array are written: die in the middle
            raise OSError("disk full")
        real(archive, name, array)

    monkeypatch.setattr(npz, "write_member", crash_on_second_array)
    with pytest.raises(OSError, match="disk full"):
        ag.save({"w": ag.Tensor([9.0, 9.0]), "v": ag.Tensor([9.0])}, path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["ckpt.npz"]
    np.testing.assert_array_equal(ag.load(path)["w"].numpy(), [1.0, 2.0])
