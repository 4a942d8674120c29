"""The mapping of the OpInfo test: which lamina callable answers each torch OpInfo, and
the op's family (for the counts).

`resolve(op)` follows one naming rule, so an op lamina adds is tested the day it lands:

- `nn.functional.X` -> `lamina.nn.functional.X`, else `lm.X` (noted: "F.X missing");
- `__rop__`, and names torch only has as methods or properties (`contiguous`, `T`) ->
  the `lm.Tensor` method or property;
- `X` or `linalg.X` -> `lm.X` / `lm.linalg.X` (a function, not a dtype like `lm.float`),
  else the `lm.Tensor` method (noted: "lm.X missing");
- otherwise the op is missing.

`OVERRIDES` holds the OpInfos whose torch callable is not `torch.X(input, *args,
**kwargs)` (a wrapper lambda that reorders arguments) and torch names lamina spells
differently. `RANDOM` holds the samples whose values are random: only their shape and
dtype are compared, and no gradient.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lamina as lm
import lamina.nn.functional as F

FAMILIES = ("elementwise", "reduction", "indexing", "shape", "linalg-basic", "nn.functional",
            "other")
DAILY = FAMILIES[:-1]  # the families torch users reach for every day (issue 14's target)

# --- families ---------------------------------------------------------------------------

_REDUCTION = {
    "max.reduction_with_dim", "max.reduction_no_dim", "min.reduction_with_dim",
    "min.reduction_no_dim", "logsumexp", "std_mean", "var_mean", "aminmax", "median",
    "nanmedian", "mode", "kthvalue", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp",
    "quantile", "nanquantile", "topk", "sort", "argsort", "msort"}
_ELEMENTWISE = {
    "clamp", "where", "lerp", "addcmul", "addcdiv", "isclose", "nan_to_num", "logit", "polar",
    "frexp", "ldexp", "float_power", "heaviside", "xlogy", "mvlgamma", "polygamma", "isin",
    "positive", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "signbit", "to",
    "bfloat16", "bool", "byte", "char", "double", "float", "half", "int", "long", "short",
    "clone", "fill", "zero_", "copysign", "nextafter", "fmod", "rsub"}
_INDEXING = {
    "__getitem__", "gather", "scatter", "scatter_add", "scatter_reduce", "index_select",
    "index_add", "index_copy", "index_fill", "index_put", "index_reduce", "take",
    "take_along_dim", "put", "masked_fill", "masked_scatter", "masked_select", "nonzero",
    "nonzero_static", "argwhere", "select", "select_scatter", "slice", "slice_scatter",
    "narrow", "narrow_copy", "diagonal_scatter", "searchsorted", "bucketize", "unravel_index"}
_SHAPE = {
    "reshape", "reshape_as", "view", "view_as", "view_copy", "permute", "permute_copy",
    "transpose", "transpose_copy", "t", "t_copy", "T", "mT", "H", "mH", "squeeze",
    "squeeze.multiple", "squeeze_copy", "unsqueeze", "unsqueeze_copy", "flatten", "unflatten",
    "ravel", "expand", "expand_as", "expand_copy", "broadcast_to", "broadcast_tensors",
    "broadcast_shapes", "cat", "stack", "hstack", "vstack", "dstack", "column_stack", "split",
    "split.list_args", "split_with_sizes", "split_with_sizes_copy", "tensor_split", "chunk",
    "unsafe_chunk", "unsafe_split", "unbind", "unbind_copy", "hsplit", "vsplit", "dsplit",
    "flip", "fliplr", "flipud", "roll", "rot90", "movedim", "tile", "repeat",
    "repeat_interleave", "tril", "triu", "contiguous", "atleast_1d", "atleast_2d",
    "atleast_3d", "unfold", "unfold_copy", "diagonal", "diagonal_copy", "diag", "diag_embed",
    "diagflat", "block_diag", "alias_copy", "as_strided", "as_strided_copy", "sum_to_size",
    "constant_pad_nd", "meshgrid.variadic_tensors", "meshgrid.list_of_tensors",
    "linalg.diagonal"}
_LINALG_BASIC = {
    "matmul", "__rmatmul__", "mm", "bmm", "bmm.triton_optimized", "mv", "dot", "vdot", "outer",
    "inner", "einsum", "addmm", "addmm.decomposed", "addmv", "addr", "baddbmm", "addbmm",
    "tensordot", "kron", "trace", "cross", "linalg.cross", "linalg.vecdot", "linalg.multi_dot",
    "linalg.vector_norm", "linalg.matrix_norm", "linalg.norm", "norm", "dist", "cdist"}
_FUNCTIONAL_TORCH_NAMES = {"softmax", "log_softmax"}  # torch.softmax is F.softmax


def family(op) -> str:
    from opinfo_torch import op_key

    key, name = op_key(op), op.name
    for names, fam in ((_REDUCTION, "reduction"), (_INDEXING, "indexing"), (_SHAPE, "shape"),
                       (_LINALG_BASIC, "linalg-basic"), (_ELEMENTWISE, "elementwise")):
        if key in names or name in names:
            return fam
    if name.startswith("nn.functional.") or name in _FUNCTIONAL_TORCH_NAMES:
        return "nn.functional"
    kind = type(op).__name__
    if kind == "ReductionOpInfo" and not name.startswith("masked."):
        return "reduction"
    if kind in ("UnaryUfuncInfo", "BinaryUfuncInfo") and "." not in name \
            and not name.startswith(("jiterator", "_")):
        return "elementwise"
    return "other"


# --- the lamina callable ------------------------------------------------------------------

Call = Callable[..., Any]  # call(input, *args, **kwargs) -> lamina result


@dataclass(frozen=True)
class Target:
    key: str  # the OpInfo's name[.variant]
    label: str  # what is called: "lm.add", "Tensor.index_fill (lm.index_fill missing)"
    call: Call | None  # None: lamina lacks the op


def _lookup(root: Any, dotted: str) -> Any:
    obj = root
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return None
    return obj


def _is_function(obj: Any) -> bool:
    return callable(obj) and not isinstance(obj, lm.DType | type | types.ModuleType)


def _method(name: str) -> Call:
    return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)


def _property(name: str) -> Call:
    return lambda x: getattr(x, name)


def _tensor_attr(name: str) -> tuple[str, Call] | None:
    attr = getattr(lm.Tensor, name, None)
    if isinstance(attr, property):
        return f"Tensor.{name}", _property(name)
    if callable(attr):
        return f"Tensor.{name}", _method(name)
    return None


def _fn(dotted: str, call: Callable[[Call], Call] | None = None):
    """An override calling `lm.<dotted>` (rearranged by call(fn)), if lamina has it."""

    def make() -> tuple[str, Call] | None:
        fn = _lookup(lm, dotted)
        if not _is_function(fn):
            return None
        label = dotted.replace("nn.functional.", "F.")
        return f"lm.{label}" if not label.startswith("F.") else label, (call(fn) if call else fn)

    return make


def _meth(name: str, call: Call | None = None):
    def make() -> tuple[str, Call] | None:
        found = _tensor_attr(name)
        return None if found is None else (found[0] + (" via a clone" if call else ""),
                                           call or found[1])

    return make


OVERRIDES: dict[str, Callable[[], tuple[str, Call] | None]] = {
    # torch's OpInfo wraps these in a lambda that reorders or copies the arguments
    "where": _fn("where", lambda fn: lambda x, cond, other, **kw: fn(cond, x, other, **kw)),
    "nn.functional.embedding": _fn("nn.functional.embedding",
                                   lambda fn: lambda weight, idx, **kw: fn(idx, weight, **kw)),
    "einsum": _fn("einsum", lambda fn: lambda tensors, equation: fn(equation, *tensors)),
    "zero_": _meth("zero_", lambda x: x.clone().zero_()),
    "normal.number_mean": _fn("normal", lambda fn: lambda std, mean, *a, **kw: fn(mean, std, *a,
                                                                                    **kw)),
    "normal.in_place": _meth("normal_"),  # (torch's op: Tensor.normal_ on the input itself)
    "uniform": _meth("uniform_"),
    # torch's OpInfo calls polygamma(x, n) for torch.polygamma(n, x)
    "polygamma": _fn("polygamma", lambda fn: lambda x, n, **kw: fn(n, x, **kw)),
    "special.polygamma": _fn("special.polygamma", lambda fn: lambda x, n, **kw: fn(n, x, **kw)),
    # names lamina spells differently
    "__rdiv__": _meth("__rtruediv__"),
}


def resolve(op) -> Target:
    from opinfo_torch import op_key

    key, name = op_key(op), op.name
    made = None
    if key in OVERRIDES or name in OVERRIDES:
        made = OVERRIDES.get(key, OVERRIDES.get(name))()
    elif name.startswith("nn.functional."):
        short = name.removeprefix("nn.functional.")
        if _is_function(getattr(F, short, None)):
            made = f"F.{short}", getattr(F, short)
        elif _is_function(_lookup(lm, short)):
            made = f"lm.{short} (F.{short} missing)", _lookup(lm, short)
    elif name.startswith("__"):
        made = _tensor_attr(name)
    else:
        fn = _lookup(lm, name)
        if _is_function(fn):
            made = f"lm.{name}", fn
        elif "." not in name and (found := _tensor_attr(name)) is not None:
            torch_has_function = _is_function(getattr(__import__("torch"), name, None))
            made = (found[0] + (f" (lm.{name} missing)" if torch_has_function else ""), found[1])
    if made is None:
        return Target(key, "missing", None)
    return Target(key, made[0], made[1])


# --- samples whose values are random ------------------------------------------------------


def _kw(name: str, default: Any) -> Callable[[Any], Any]:
    return lambda s: s.kwargs.get(name, default)


RANDOM: dict[str, Callable[[Any], bool]] = {
    **{n: (lambda s: True) for n in (
        "randn", "randn_like", "rand_like", "randint", "randint_like", "bernoulli", "normal",
        "normal.number_mean", "normal.in_place", "uniform", "multinomial", "empty", "empty_like",
        "empty_strided", "empty_permuted", "new_empty", "new_empty_strided", "cauchy",
        "exponential", "geometric", "log_normal", "nn.functional.rrelu",
        "nn.functional.fractional_max_pool2d", "nn.functional.fractional_max_pool3d")},
    # dropout samples with p > 0 in training mode (F.dropout's default) are random
    **{f"nn.functional.{n}": (lambda s: _drop_p(s) > 0 and _kw("training", True)(s))
       for n in ("dropout", "dropout2d", "dropout3d", "alpha_dropout",
                 "feature_alpha_dropout.with_train")},
    "nn.functional.scaled_dot_product_attention": lambda s: _kw("dropout_p", 0.0)(s) > 0,
}


def _drop_p(s) -> float:
    return s.kwargs.get("p", s.args[0] if s.args else 0.5)


def is_random(op, sample) -> bool:
    from opinfo_torch import op_key

    rule = RANDOM.get(op_key(op)) or RANDOM.get(op.name)
    return bool(rule and rule(sample))
