"""Host arrays to and from ``.npz`` files, never through pickle (loading cannot run code)."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from typing import IO, Any

import numpy as np


def write_member(archive: zipfile.ZipFile, name: str, array: Any) -> None:
    """One array as ``name.npy`` inside ``archive``."""
    with archive.open(name + ".npy", "w", force_zip64=True) as f:
        np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)


def write(file: IO[bytes], arrays: Mapping[str, Any], index: str) -> None:
    """Write ``arrays`` (host arrays by name) and a text ``index`` into ``file`` as an npz."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        write_member(archive, "__index__", np.frombuffer(index.encode(), dtype=np.uint8))
        for name, array in arrays.items():
            write_member(archive, name, array)


def read(path: str) -> tuple[dict[str, np.ndarray], str]:
    """The arrays and the index text of an npz written by :func:`write`.

    Raises:
        ValueError: If the file is an npz without anygrad's index, or holds pickled objects.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    index = arrays.pop("__index__", None)
    if index is None:
        raise ValueError(f"{path} is an npz file, but not one anygrad.save wrote (no index)")
    return arrays, index.tobytes().decode()
