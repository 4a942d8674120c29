"""`python -m lamina.tools.coverage`: which public names of torch, torch.nn,
torch.nn.functional, torch.optim (and lr_scheduler) and torch.utils.data lamina has,
and which it lacks: the "what is not supported yet" list of the README's porting
section, computed rather than written by hand (torch must be installed)."""

from __future__ import annotations

import argparse
import importlib
import sys

PAIRS = [("torch.nn", "lamina.nn"), ("torch.nn.functional", "lamina.nn.functional"),
         ("torch.optim", "lamina.optim"), ("torch.optim.lr_scheduler",
                                           "lamina.optim.lr_scheduler"),
         ("torch.utils.data", "lamina.utils.data"), ("torch.nn.init", "lamina.nn.init"),
         ("torch.nn.utils", "lamina.nn.utils")]


_NOT_API = {"boolean_dispatch", "handle_torch_function", "has_torch_function",
            "has_torch_function_unary", "has_torch_function_variadic", "assert_int_or_pair",
            "grad"}


def _public(module: object) -> set[str]:
    """The names a user calls: public, callable, not a module or a typing helper."""
    import types

    names = getattr(module, "__all__", None) or dir(module)
    out = set()
    for n in names:
        value = getattr(module, n, None)
        if n.startswith("_") or n in _NOT_API or isinstance(value, types.ModuleType):
            continue
        if value is not None and not callable(value):
            continue
        if n[:1].isupper() and not isinstance(value, type):
            continue  # typing aliases (Callable, Optional, ...)
        if n in ("Tensor", "DType") or getattr(value, "__module__", "").startswith("typing"):
            continue
        out.add(n)
    return out


def coverage() -> list[tuple[str, str, list[str], list[str]]]:
    """(torch module, lamina module, names both have, names only torch has)."""
    rows = []
    for torch_name, lamina_name in PAIRS:
        theirs = _public(importlib.import_module(torch_name))
        try:
            ours = _public(importlib.import_module(lamina_name))
        except ImportError:
            ours = set()
        if torch_name in ("torch.nn", "torch.optim", "torch.utils.data"):
            theirs = {n for n in theirs if n[:1].isupper()}  # classes, not submodules
        rows.append((torch_name, lamina_name, sorted(theirs & ours), sorted(theirs - ours)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lamina.tools.coverage",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--missing", action="store_true", help="list the missing names")
    args = parser.parse_args(argv)
    try:
        rows = coverage()
    except ImportError as err:
        print(f"coverage: torch is needed to compare with ({err})", file=sys.stderr)
        return 2
    for torch_name, lamina_name, have, missing in rows:
        total = len(have) + len(missing)
        print(f"{torch_name:28} {len(have):4} of {total:4} in {lamina_name}")
        if args.missing and missing:
            print("    missing: " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
