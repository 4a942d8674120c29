"""`lm.save` / `lm.load`: checkpoints without pickle.

`lm.save(obj, f)` writes one safetensors file: every tensor (and numpy array) of
`obj` is a named entry, and the structure around them (dicts with str or int keys,
lists, tuples, numbers, strings, None: a model's or an optimizer's state dict, a
training checkpoint) is a JSON tree in the header's `__metadata__` under
"lamina.tree". Any safetensors reader sees the tensors; `lm.load` rebuilds `obj`.

`lm.load(f)` also reads a plain safetensors file (a dict of tensors) and a PyTorch
checkpoint (`torch.save`'s zip: data.pkl + one file per storage) through a
weights-only unpickler: `find_class` admits an allow-list (torch's tensor and
parameter rebuild functions, its storage classes and dtypes, OrderedDict, a few
builtins) and refuses anything else, so a checkpoint cannot run code. torch is not
imported. The legacy (pre-1.6, non-zip) torch format is not read.
"""

from __future__ import annotations

import builtins
import collections
import io
import json
import os
import pickle
import re
import zipfile
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from lamina import dtypes, errors
from lamina.errors import ArgumentError, with_location
from lamina.frontend.tensor import Tensor

__all__ = ["load", "save"]

_TREE = "lamina.tree"
_FORMAT = "lamina.format"
UnpicklingError = errors.like(ArgumentError, pickle.UnpicklingError)
_TypeError = errors.like(ArgumentError, TypeError)
_ValueError = errors.like(ArgumentError, ValueError)

# safetensors' dtype codes (what deserialize reports) -> lamina dtypes
_SAFETENSORS = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
                "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U64": "uint64",
                "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool"}


# ---------------------------------------------------------------- save


class _Writer:
    """Flattens `obj` into named arrays and a JSON tree that refers to them."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._seen: dict[int, str] = {}  # a tensor shared twice is stored once

    def _store(self, value: Any, path: str) -> str:
        if id(value) in self._seen:
            return self._seen[id(value)]
        name = re.sub(r"[^\w.\-]", "_", path) or "tensor"
        base, n = name, 1
        while name in self.arrays:
            name, n = f"{base}.{n}", n + 1
        array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
        self.arrays[name] = np.require(array, requirements="C")  # (ascontiguousarray makes 0-d 1-d)
        self._seen[id(value)] = name
        return name

    def tree(self, obj: Any, path: str) -> Any:  # noqa: C901 (one case per kind)
        if isinstance(obj, Tensor):
            node: dict[str, Any] = {"T": self._store(obj, path)}
            if obj.requires_grad:
                node["rg"] = True
            return node
        if isinstance(obj, np.ndarray | np.generic) and not isinstance(obj, np.str_ | np.bytes_):
            return {"A": self._store(obj, path), "0d": isinstance(obj, np.generic)}
        if obj is None:
            return {"n": 0}
        if isinstance(obj, bool):
            return {"b": obj}
        if isinstance(obj, int):
            return {"i": obj}
        if isinstance(obj, float):
            return {"f": repr(obj)}  # repr keeps inf and nan, which JSON has not
        if isinstance(obj, str):
            return {"s": obj}
        if isinstance(obj, dtypes.DType):
            return {"dt": obj.name}
        if isinstance(obj, dict):
            return {"D": [[self.tree(k, path), self.tree(v, f"{path}.{k}".lstrip("."))]
                          for k, v in obj.items()],
                    "o": isinstance(obj, collections.OrderedDict)}
        if isinstance(obj, list | tuple):
            items = [self.tree(v, f"{path}.{i}".lstrip(".")) for i, v in enumerate(obj)]
            return {"L": items} if isinstance(obj, list) else {"U": items}
        raise _TypeError(with_location(
            f"lm.save: cannot save a {type(obj).__name__} at {path or 'the top'} (tensors, "
            "numpy arrays, numbers, strings, None and dicts/lists/tuples of them)"))


def _safetensors() -> Any:
    try:
        import safetensors
    except ImportError:
        raise errors.like(ArgumentError, ImportError)(with_location(
            "lm.save/lm.load need the safetensors package: pip install 'lamina[io]'")) from None
    return safetensors


def save(obj: Any, f: str | os.PathLike[str] | IO[bytes], pickle_module: Any = None,
         pickle_protocol: int = 2, _use_new_zipfile_serialization: bool = True) -> None:
    """Save tensors, state dicts and nested containers of them to `f` (a path or a
    binary file) in the safetensors format. The pickle arguments are torch's and
    ignored: nothing is pickled."""
    st = _safetensors()
    writer = _Writer()
    tree = writer.tree(obj, "")
    specs = {name: st.TensorSpec(dtype=str(a.dtype), shape=a.shape, data_ptr=a.ctypes.data,
                                 data_len=a.nbytes) for name, a in writer.arrays.items()}
    data = bytes(st.serialize(specs, metadata={_FORMAT: "1", _TREE: json.dumps(tree)}))
    if isinstance(f, str | os.PathLike):
        with open(f, "wb") as out:
            out.write(data)
    else:
        f.write(data)


# ---------------------------------------------------------------- load: safetensors


def _rebuild(node: Any, arrays: dict[str, np.ndarray]) -> Any:  # noqa: C901
    kind, value = next(iter(node.items()))
    if kind == "T":
        return Tensor._wrap(arrays[value].copy(), requires_grad=node.get("rg", False))
    if kind == "A":
        array = arrays[value].copy()
        return array[()] if node.get("0d") else array
    if kind == "n":
        return None
    if kind in ("b", "i", "s"):
        return value
    if kind == "f":
        return float(value)
    if kind == "dt":
        return dtypes.as_dtype(value)
    if kind == "D":
        items = [(_rebuild(k, arrays), _rebuild(v, arrays)) for k, v in value]
        return collections.OrderedDict(items) if node.get("o") else dict(items)
    if kind == "L":
        return [_rebuild(v, arrays) for v in value]
    if kind == "U":
        return tuple(_rebuild(v, arrays) for v in value)
    raise _ValueError(with_location(f"lm.load: unknown entry {kind!r} in the checkpoint"))


def _load_safetensors(data: bytes) -> Any:
    st = _safetensors()
    header_len = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
    arrays = {}
    for name, entry in st.deserialize(data):
        dt = dtypes.as_dtype(_SAFETENSORS[entry["dtype"]]).np_dtype
        arrays[name] = np.frombuffer(bytes(entry["data"]), dtype=dt).reshape(entry["shape"])
    if _TREE in metadata:
        return _rebuild(json.loads(metadata[_TREE]), arrays)
    return {name: Tensor._wrap(a.copy()) for name, a in sorted(arrays.items())}


# ---------------------------------------------------------------- load: torch's zip format


class _Storage:
    """A storage of a torch checkpoint: the bytes of `data/<key>` and their dtype."""

    def __init__(self, data: bytes, dtype: np.dtype):
        self.array = np.frombuffer(data, dtype=dtype)


def _storage_class(name: str) -> Callable[..., Any]:
    kind = name.removesuffix("Storage")
    dt = {"Float": "float32", "Double": "float64", "Half": "float16", "BFloat16": "bfloat16",
          "Long": "int64", "Int": "int32", "Short": "int16", "Char": "int8", "Byte": "uint8",
          "Bool": "bool", "Untyped": "uint8", "UInt16": "uint16", "UInt32": "uint32",
          "UInt64": "uint64"}[kind]
    marker = type(name, (), {"dtype": dtypes.as_dtype(dt)})
    return marker


def _strided(storage: _Storage, offset: int, size: tuple[int, ...],
             stride: tuple[int, ...], dtype: np.dtype | None = None) -> np.ndarray:
    flat = storage.array if dtype is None else storage.array.view(dtype)
    if not size:
        return flat[offset:offset + 1].reshape(()).copy()
    if 0 in size:
        return np.zeros(size, flat.dtype)
    end = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if end > flat.size:
        raise UnpicklingError(with_location("lm.load: a tensor reaches past its storage"))
    window = flat[offset:end]
    strides = tuple(s * flat.itemsize for s in stride)
    return np.lib.stride_tricks.as_strided(window, size, strides).copy()


def _rebuild_tensor_v2(storage: _Storage, storage_offset: int, size: tuple[int, ...],
                       stride: tuple[int, ...], requires_grad: bool = False,
                       backward_hooks: Any = None, metadata: Any = None) -> Tensor:
    return Tensor._wrap(_strided(storage, storage_offset, size, stride),
                        requires_grad=requires_grad)


def _rebuild_tensor_v3(storage: _Storage, storage_offset: int, size: tuple[int, ...],
                       stride: tuple[int, ...], requires_grad: bool, backward_hooks: Any,
                       dtype: Any, metadata: Any = None) -> Tensor:
    array = _strided(storage, storage_offset, size, stride, dtypes.as_dtype(dtype).np_dtype)
    return Tensor._wrap(array, requires_grad=requires_grad)


def _rebuild_parameter(data: Tensor, requires_grad: bool, backward_hooks: Any,
                       state: Any = None) -> Tensor:
    if requires_grad and not data.requires_grad:
        return Tensor._wrap(data.numpy(), requires_grad=True)
    return data


def _allowed(module: str, name: str) -> Any:  # noqa: C901 (the allow-list)
    """What a weights-only torch checkpoint may name; None for anything else."""
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "torch._utils":
        return {"_rebuild_tensor_v2": _rebuild_tensor_v2, "_rebuild_tensor_v3": _rebuild_tensor_v3,
                "_rebuild_parameter": _rebuild_parameter,
                "_rebuild_parameter_with_state": _rebuild_parameter}.get(name)
    if module in ("torch", "torch.storage") and name.endswith("Storage"):
        try:
            return _storage_class(name.removeprefix("Typed"))
        except KeyError:
            return None
    if module == "torch" and name == "Size":
        return tuple
    if module == "torch" and name == "device":
        return str
    if module == "torch":
        try:
            return dtypes.as_dtype(name)  # a dtype object (`torch.float32`)
        except errors.LaminaError:
            return None
    if module == "builtins" and name in ("set", "frozenset", "slice", "complex", "tuple",
                                         "list", "dict", "int", "float", "bool", "str"):
        return getattr(builtins, name)
    if module == "_codecs" and name == "encode":
        return lambda text, encoding="latin1": text.encode(encoding)
    return None


class _WeightsOnlyUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], read_storage: Callable[[str], bytes]):
        super().__init__(file)
        self._read = read_storage
        self._storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = _allowed(module, name)
        if found is None:
            raise UnpicklingError(with_location(
                f"lm.load: weights-only load refused the global {module}.{name}: a torch "
                "checkpoint may contain tensors, storages, dtypes, OrderedDicts and plain "
                "Python data, nothing that runs code"))
        return found

    def persistent_load(self, pid: Any) -> _Storage:
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise UnpicklingError(with_location(f"lm.load: unknown persistent id {pid!r}"))
        _, storage_type, key, _location, _numel = pid
        if key not in self._storages:
            dt = getattr(storage_type, "dtype", None)
            if not isinstance(dt, dtypes.DType):
                raise UnpicklingError(with_location(f"lm.load: bad storage type in {pid!r}"))
            self._storages[key] = _Storage(self._read(str(key)), dt.np_dtype)
        return self._storages[key]


def _load_torch_zip(data: bytes) -> Any:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pkl = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if not pkl:
            raise UnpicklingError(with_location("lm.load: a zip without data.pkl is not a "
                                                "torch checkpoint"))
        prefix = pkl[0][: -len("data.pkl")]
        big = prefix + "byteorder" in archive.namelist() and \
            archive.read(prefix + "byteorder").strip() == b"big"
        if big:
            raise UnpicklingError(with_location("lm.load: big-endian checkpoints are not read"))
        unpickler = _WeightsOnlyUnpickler(io.BytesIO(archive.read(pkl[0])),
                                          lambda key: archive.read(f"{prefix}data/{key}"))
        return unpickler.load()


def load(f: str | os.PathLike[str] | IO[bytes], map_location: Any = None,
         pickle_module: Any = None, *, weights_only: bool | None = None, mmap: Any = None,
         **pickle_load_args: Any) -> Any:
    """Load what `lm.save` wrote, a safetensors file, or a torch checkpoint (weights
    only; `map_location` is accepted and ignored: lamina runs on the CPU)."""
    if weights_only is False:
        raise _ValueError(with_location(
            "lm.load: weights_only=False would unpickle arbitrary code; lamina loads weights "
            "only"))
    if isinstance(f, str | os.PathLike):
        with open(f, "rb") as file:
            data = file.read()
    else:
        data = f.read()
    if data[:4] == b"PK\x03\x04":
        return _load_torch_zip(data)
    if len(data) >= 9 and data[8:9] == b"{":
        return _load_safetensors(data)
    raise UnpicklingError(with_location(
        "lm.load: not a safetensors file or a torch zip checkpoint (torch's legacy "
        "pre-1.6 format is not read)"))
