"""``anygrad.save`` / ``anygrad.load``: tensors and nested state dicts, no pickle, atomic."""

from __future__ import annotations

import io
import json
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import warnings
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


# -- files load refuses: one CheckpointError saying what is wrong, never NumPy's pickle advice

def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=True)
    return buffer.getvalue()


def _index(root, **meta) -> bytes:
    text = json.dumps({"format": "anygrad.save", "version": 1, "root": root, **meta})
    return _npy(np.frombuffer(text.encode(), dtype=np.uint8))


def _archive(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members:
            z.writestr(name, data)
    return path


def _tensor_node(name="t0", **fields):
    return {"tensor": name, "device": "cpu", "requires_grad": False, **fields}


def _refused(path, match):
    with pytest.raises(ag.CheckpointError, match=match) as info:
        ag.load(path)
    message = str(info.value)
    assert "allow_pickle" not in message and str(path) in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, ag.AnygradError)
    return message


def test_checkpoint_error_is_a_typed_value_error():
    assert issubclass(ag.CheckpointError, ag.AnygradError)
    assert issubclass(ag.CheckpointError, ValueError)
    assert "CheckpointError" in ag.__all__


@pytest.mark.parametrize("content, match", [
    (b"", "is empty"),
    (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a zip"),
    (b"step,loss\n1,0.5\n", "text file"),
    (pickle.dumps({"w": [1.0, 2.0]}), "Python pickle"),
    (b"PK\x03\x04" + b"\x00" * 100, "damaged zip archive"),
], ids=["empty", "random", "text", "pickle", "zip-fragment"])
def test_foreign_and_empty_files_are_refused(tmp_path, content, match):
    path = tmp_path / "ckpt.npz"
    path.write_bytes(content)
    _refused(path, match)


def test_npy_files_are_refused_even_with_pickled_objects(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    _refused(tmp_path / "a.npy", "single NumPy .npy array")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _refused(tmp_path / "o.npy", "single NumPy .npy array")


def test_npz_files_anygrad_did_not_write_are_refused(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.zeros(2))
    _refused(tmp_path / "plain.npz", "not one anygrad.save wrote")
    np.savez_compressed(tmp_path / "packed.npz", __index__=np.zeros(2, np.uint8))
    _refused(tmp_path / "packed.npz", "compressed or encrypted")
    path = _archive(tmp_path / "torch.npz", [("__index__.npy", _index({"value": 1})),
                                             ("archive/data.pkl", b"\x80\x04K\x01.")])
    _refused(path, "'archive/data.pkl' that is not a .npy array")


def test_every_truncation_of_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    ag.save({"w": ag.Tensor(np.arange(12.0).reshape(3, 4)), "step": 5}, path)
    whole = path.read_bytes()
    cut = tmp_path / "cut.npz"
    for n in range(len(whole)):
        cut.write_bytes(whole[:n])
        with pytest.raises(ag.CheckpointError) as info:
            ag.load(cut)
        assert "allow_pickle" not in str(info.value)


def test_any_corrupted_byte_is_refused_or_harmless(tmp_path):
    path = tmp_path / "ckpt.npz"
    ag.save({"w": ag.Tensor(np.arange(6, dtype=np.float32)), "b": [ag.Tensor([True])]}, path)
    whole = bytearray(path.read_bytes())
    bad = tmp_path / "bad.npz"
    refused = 0
    for i in range(len(whole)):
        damaged = whole.copy()
        damaged[i] ^= 0x5A
        bad.write_bytes(damaged)
        try:
            back = ag.load(bad)
        except ag.CheckpointError as exc:
            assert "allow_pickle" not in str(exc)
            refused += 1
            continue
        # only bytes nothing reads (zip timestamps, "made by" fields...) may change unnoticed
        np.testing.assert_array_equal(back["w"].numpy(), np.arange(6, dtype=np.float32))
        assert back["w"].dtype == ag.float32 and back["b"][0].numpy().tolist() == [True]
    assert refused > len(whole) * 0.8


def test_crafted_zip_members_are_refused_before_numpy_reads_them(tmp_path):
    index = _index(_tensor_node())
    # a header claiming 10**12 elements over 16 bytes of data: refused, nothing allocated
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    huge = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header) + 1) + header + b"\n" + b"\0" * 16
    cases = [
        ([("__index__.npy", index), ("t0.npy", huge)], "declares 8000000000"),
        ([("__index__.npy", index), ("t0.npy", _npy(np.array([{"a": 1}], dtype=object)))],
         "dtype '|O'"),
        ([("__index__.npy", index), ("t0.npy", _npy(np.array(["ab"])))], "dtype '<U2'"),
        ([("__index__.npy", index), ("t0.npy", b"not an array")], "not a .npy array"),
        ([("__index__.npy", index), ("t0.npy", _npy(np.zeros(2))), ("t0.npy", _npy(1.0))],
         "twice"),
        ([("__index__.npy", _npy(np.zeros(3)))], "index is not a byte string"),
    ]
    for i, (members, match) in enumerate(cases):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            path = _archive(tmp_path / f"c{i}.npz", members)
        _refused(path, match)


def test_a_damaged_zip_directory_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    ag.save({"w": ag.Tensor([1.0, 2.0])}, path)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the last member's central directory entry
    struct.pack_into("<I", data, central + 42, 10 ** 6)  # its local header offset: past the end
    path.write_bytes(data)
    _refused(path, "is damaged")


@pytest.mark.parametrize("index, arrays, match", [
    (b"\xff\xfe", [], "not UTF-8"),
    (b"{not json", [], "not valid JSON"),
    (b'{"format": "other", "root": {"value": 1}}', [], "not written by anygrad.save"),
    (b'{"format": "anygrad.save", "version": 99, "root": {"value": 1}}', [], "version 99"),
    (b'{"format": "anygrad.save", "version": "1", "root": {"value": 1}}', [], "version '1'"),
    (b'{"format": "anygrad.save", "version": 1}', [], "holds no object"),
    (b'{"format": "anygrad.save", "version": 1, "root": {"set": [1]}}', [], "malformed"),
    (b'{"format": "anygrad.save", "version": 1, "root": {"value": [1]}}', [], "malformed"),
    (b'{"format": "anygrad.save", "version": 1, "root": {"dict": [[[1], {"value": 1}]]}}',
     [], "malformed"),
    (b'{"format": "anygrad.save", "version": 1, "root": {"tensor": "t0"}}',
     [("t0", np.zeros(2))], "malformed"),
    (b'{"format": "anygrad.save", "version": 1, "root": ' + b'{"list": [' * 500 + b'{"value": 1}'
     + b"]}" * 500 + b"}", [], "nested"),
    (json.dumps({"format": "anygrad.save", "version": 1, "root": _tensor_node("t1")}).encode(),
     [("t0", np.zeros(2))], "no such array"),
    (json.dumps({"format": "anygrad.save", "version": 1, "root": {"list": []}}).encode(),
     [("t0", np.zeros(2))], "never mentions"),
    (json.dumps({"format": "anygrad.save", "version": 1,
                 "root": {"list": [_tensor_node(), _tensor_node()]}}).encode(),
     [("t0", np.zeros(2))], r"'t0' in two places \(again at obj\[1\]\)"),
    (json.dumps({"format": "anygrad.save", "version": 1,
                 "root": _tensor_node(dtype="float32", shape=[2])}).encode(),
     [("t0", np.zeros(2))], r"records obj as float32 of shape \(2,\), but array 't0' is "
                            r"float64"),
    (json.dumps({"format": "anygrad.save", "version": 1,
                 "root": _tensor_node(dtype="float64", shape=[3])}).encode(),
     [("t0", np.zeros(2))], r"shape \(3,\)"),
], ids=["utf8", "json", "format", "version", "version-type", "no-root", "kind", "value",
        "key", "tensor-fields", "deep", "missing-array", "extra-array", "shared-array", "dtype",
        "shape"])
def test_an_index_that_disagrees_with_the_file_is_refused(tmp_path, index, arrays, match):
    members = [("__index__.npy", _npy(np.frombuffer(index, dtype=np.uint8)))]
    members += [(f"{name}.npy", _npy(array)) for name, array in arrays]
    _refused(_archive(tmp_path / "x.npz", members), match)


def test_files_without_dtype_and_shape_in_the_index_still_load(tmp_path):
    """The index of a version-1 file written before anygrad recorded them."""
    path = _archive(tmp_path / "old.npz", [("__index__.npy", _index(_tensor_node())),
                                           ("t0.npy", _npy(np.arange(3.0)))])
    np.testing.assert_array_equal(ag.load(path).numpy(), [0.0, 1.0, 2.0])


def test_the_index_records_structure_dtype_shape_device_and_flags(tmp_path):
    ag.save({"w": ag.Tensor(np.zeros((2, 3), np.float32), requires_grad=True), 1: (None,)},
            tmp_path / "x.npz")
    with np.load(tmp_path / "x.npz", allow_pickle=False) as data:
        meta = json.loads(data["__index__"].tobytes())
    assert meta == {"format": "anygrad.save", "version": 1, "root": {"dict": [
        ["w", {"tensor": "t0", "dtype": "float32", "shape": [2, 3], "device": "cpu",
               "requires_grad": True}],
        [1, {"tuple": [{"value": None}]}]]}}


# -- what save refuses: typed errors naming the key path

def test_self_referencing_containers_raise_a_typed_error(tmp_path):
    loop = {"w": ag.Tensor([1.0])}
    loop["self"] = loop
    with pytest.raises(ag.CheckpointError, match=r"obj\['self'\] is obj itself .*cycle"):
        ag.save(loop, tmp_path / "x.npz")
    items = [1, {"a": []}]
    items[1]["a"].append(items)
    with pytest.raises(ag.CheckpointError,
                       match=r"obj\['s'\]\[0\]\[1\]\['a'\]\[0\] is obj\['s'\]\[0\] itself"):
        ag.save({"s": (items,)}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_shared_but_acyclic_values_are_saved_twice(tmp_path):
    shared = [ag.Tensor([1.0]), 2]
    ag.save({"a": shared, "b": shared, "c": (shared, shared)}, tmp_path / "x.npz")
    back = ag.load(tmp_path / "x.npz")
    assert back["a"][1] == back["b"][1] == back["c"][1][1] == 2
    np.testing.assert_array_equal(back["c"][0][0].numpy(), [1.0])


def test_nesting_too_deep_raises_a_typed_error(tmp_path):
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(ag.CheckpointError, match="nested more than 100"):
        ag.save(deep, tmp_path / "x.npz")
    deep = [ag.Tensor([1.0])]
    for _ in range(99):  # 100 levels: saved and loaded
        deep = [deep]
    ag.save(deep, tmp_path / "x.npz")
    back = ag.load(tmp_path / "x.npz")
    for _ in range(99):
        back = back[0]
    assert back[0].numpy().tolist() == [1.0]


@pytest.mark.parametrize("value, path, kind", [
    ({"bad": object()}, r"obj\['bad'\]", "object"),
    ({"opt": {"hook": len}}, r"obj\['opt'\]\['hook'\]", "builtin_function_or_method"),
    ([1, (2, lambda: 3)], r"obj\[1\]\[1\]", "function"),
    ({"s": {1, 2}}, r"obj\['s'\]", "set"),
    ({"a": np.float32(1.0)}, r"obj\['a'\]", "float32"),
])
def test_unsupported_values_raise_a_typed_error_naming_the_key_path(tmp_path, value, path,
                                                                     kind):
    with pytest.raises(ag.CheckpointError, match=rf"cannot store {path} of type {kind}") as info:
        ag.save(value, tmp_path / "x.npz")
    assert isinstance(info.value, TypeError)
    assert os.listdir(tmp_path) == []


# -- how save writes: through symlinks, with the umask's mode, cleaning up after killed saves

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and symlinks")


@posix_only
def test_saving_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "ckpt-100.npz"
    ag.save({"step": 1}, target)
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    ag.save({"step": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert ag.load(target)["step"] == 2 and ag.load(link)["step"] == 2
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "runs"]
    assert os.listdir(tmp_path / "runs") == ["ckpt-100.npz"]
    dangling = tmp_path / "next.npz"
    dangling.symlink_to(tmp_path / "runs" / "ckpt-200.npz")
    ag.save({"step": 3}, dangling)
    assert dangling.is_symlink() and ag.load(tmp_path / "runs" / "ckpt-200.npz")["step"] == 3


@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_the_file_gets_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        ag.save({"w": ag.Tensor([1.0])}, tmp_path / "new.npz")
        with open(tmp_path / "plain", "w"):
            pass
        (tmp_path / "old.npz").write_bytes(b"")
        os.chmod(tmp_path / "old.npz", 0o600)
        ag.save({"w": ag.Tensor([1.0])}, tmp_path / "old.npz")
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "plain").st_mode) == expected
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == expected
    assert stat.S_IMODE(os.stat(tmp_path / "old.npz").st_mode) == expected


def _leftover(directory, target="ckpt.npz", age_s=0.0):
    """A temporary file as a save killed after creating it leaves it (unlocked, partial)."""
    path = directory / f".{target}.{os.urandom(8).hex()}.anygrad.tmp"
    path.write_bytes(b"PK\x03\x04 partial checkpoint")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


@pytest.mark.skipif(not hasattr(os, "fork"), reason="file locks of killed processes (POSIX)")
def test_the_next_save_removes_temporary_files_of_killed_saves(tmp_path):
    for name in ("ckpt.npz", "other.npz", "ckpt.npz"):
        _leftover(tmp_path, name, age_s=3600)
    keep = [tmp_path / ".notes.tmp", tmp_path / "ckpt.npz.tmp", tmp_path / ".x.anygrad.tmp"]
    for path in keep:
        path.write_text("not ours")
    ag.save({"w": ag.Tensor([1.0])}, tmp_path / "ckpt.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.npz", *(p.name for p in keep)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="file locks (POSIX)")
def test_a_save_in_progress_is_not_removed_by_another(tmp_path):
    from anygrad import serialization
    fd, tmp = serialization._create_temp(str(tmp_path), "big.npz")  # another save, writing
    try:
        ag.save({"w": ag.Tensor([1.0])}, tmp_path / "small.npz")
        assert sorted(os.listdir(tmp_path)) == sorted(["small.npz", os.path.basename(tmp)])
    finally:
        os.close(fd)
    ag.save({"w": ag.Tensor([1.0])}, tmp_path / "small.npz")  # its writer is gone now
    assert os.listdir(tmp_path) == ["small.npz"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="file locks (POSIX)")
def test_concurrent_saves_into_one_folder_never_remove_each_others_files(tmp_path):
    errors = []

    def work(k):
        try:
            for i in range(15):
                ag.save({"w": ag.Tensor(np.full(5000, float(i)))}, tmp_path / f"c{(i + k) % 3}")
        except Exception as exc:  # an in-progress file removed by another save: os.replace fails
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(os.listdir(tmp_path)) == ["c0", "c1", "c2"]


_KILLED_SAVE = """
import sys, time
import anygrad as ag
from anygrad.backends import npz
real = npz.write_member
def stall(archive, name, array):
    real(archive, name, array)
    print("writing", flush=True)
    time.sleep(60)
npz.write_member = stall
ag.save({"w": ag.Tensor([float(sys.argv[2])] * 1000)}, sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL (POSIX)")
def test_repeated_sigkill_mid_save_never_fills_the_folder(tmp_path):
    path = tmp_path / "ckpt.npz"
    ag.save({"w": ag.Tensor([0.0] * 1000)}, path)
    for round_ in range(1, 4):
        child = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(path), str(round_)],
                                 stdout=subprocess.PIPE, text=True, env={**os.environ,
                                 "PYTHONPATH": os.path.dirname(os.path.dirname(ag.__file__))})
        try:
            assert child.stdout.readline() == "writing\n"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
            child.stdout.close()
        names = os.listdir(tmp_path)
        assert len(names) == 2 and "ckpt.npz" in names  # the old file and one leftover
        assert ag.load(path)["w"].numpy()[0] == round_ - 1  # the old file is intact
        ag.save({"w": ag.Tensor([float(round_)] * 1000)}, path)
        assert os.listdir(tmp_path) == ["ckpt.npz"]
