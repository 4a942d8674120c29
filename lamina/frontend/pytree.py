"""Flatten nested tuples, lists and dicts (pytrees) into leaves and back."""

from __future__ import annotations

from typing import Any

__all__ = ["flatten", "tree_map", "unflatten"]

# A tree definition: ("leaf",) | ("none",) | ("tuple"|"list", children) | ("dict", keys, children)
# | ("named", a RETURN_TYPE tuple class, children)
TreeDef = tuple


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if tree is None:
        return ("none",)
    if isinstance(tree, tuple) and getattr(type(tree), "RETURN_TYPE", False):
        # torch.return_types-like results ((values, indices)) keep their type
        return ("named", type(tree), tuple(_flatten(x, leaves) for x in tree))
    if isinstance(tree, tuple) and not hasattr(tree, "_fields") or isinstance(tree, list):
        kind = "tuple" if isinstance(tree, tuple) else "list"
        return (kind, tuple(_flatten(x, leaves) for x in tree))
    if isinstance(tree, dict):
        keys = tuple(tree.keys())
        return ("dict", keys, tuple(_flatten(tree[k], leaves) for k in keys))
    leaves.append(tree)
    return ("leaf",)


def unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    it = iter(leaves)
    out = _unflatten(treedef, it)
    return out


def _unflatten(treedef: TreeDef, it) -> Any:
    kind = treedef[0]
    if kind == "leaf":
        return next(it)
    if kind == "none":
        return None
    if kind == "tuple":
        return tuple(_unflatten(c, it) for c in treedef[1])
    if kind == "list":
        return [_unflatten(c, it) for c in treedef[1]]
    if kind == "named":
        return treedef[1](*(_unflatten(c, it) for c in treedef[2]))
    keys, children = treedef[1], treedef[2]
    return {k: _unflatten(c, it) for k, c in zip(keys, children, strict=True)}


def tree_map(fn, tree: Any) -> Any:
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(x) for x in leaves])
