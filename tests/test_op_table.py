"""Every op-table row, on every backend, against its numpy oracle."""

import numpy as np
import pytest
from opcases import NEEDS_RANKS, all_cases

import lamina as lm
from lamina.dialects import hl

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_forward_matches_numpy(case, backend):
    inputs = case.make_inputs()
    got = lm.jit(case.fn, backend=backend)(*inputs)
    want = case.oracle(*inputs)
    got_np = np.asarray(got)
    assert got_np.shape == np.shape(want), (got_np.shape, np.shape(want))
    if got_np.dtype == np.bool_ or np.issubdtype(got_np.dtype, np.integer):
        np.testing.assert_array_equal(got_np, want)
    else:
        np.testing.assert_allclose(got_np, want, rtol=case.rtol, atol=case.atol)


def test_every_hl_op_has_a_row():
    covered = {op for c in CASES for op in c.ops}
    missing = sorted(set(hl.OPS_BY_NAME) - covered - NEEDS_RANKS)
    assert not missing, f"hl ops without an op-table row: {missing}"
    assert NEEDS_RANKS <= set(hl.OPS_BY_NAME) and not NEEDS_RANKS & covered


def test_every_hl_op_has_a_reference_and_docstring():
    for op in hl.OPS:
        assert "reference" in vars(op) or any("reference" in vars(b) for b in op.__mro__[1:-1]
                                              if b is not hl.HlOp), op.name
        assert op.__doc__ and "hl." in op.__doc__, f"{op.name} needs a docstring with sample IR"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_traced_ir_round_trips_through_text(case):
    """Every row's traced hl program prints, parses back and prints identically."""
    from xdsl.parser import Parser

    from lamina.passes.pipeline import context

    module = lm.jit(case.fn).trace(*case.make_inputs())
    module.verify()
    text = str(module)
    reparsed = Parser(context(), text).parse_module()
    reparsed.verify()
    assert str(reparsed) == text


def _docstring_sample(op) -> str:
    """The op's one line of sample IR from its docstring, wrapped in a function whose
    arguments are the sample's operands (typed from the sample's trailing type)."""
    import re

    sample = re.search(r"`(%\w+ = hl\.[^`]*)`", " ".join(op.__doc__.split())).group(1)
    result, rest = sample.split(" = ", 1)
    head, _, types = rest.rpartition(" : ")
    operands = re.findall(r"(%\w+)(?=[ ,]|$)", head.split(" ", 1)[1] if " " in head else "")
    operands = [o for o in operands if "=" not in o]
    if "->" in types:
        ins, out = (t.strip() for t in types.rsplit("->", 1))
        ins = [t.strip() for t in ins.strip("()").split(", ")] if ins.startswith("(") else [ins]
    else:
        ins, out = [types] * len(operands), types
    args = ", ".join(f"{o}: {t}" for o, t in zip(operands, ins, strict=True))
    return (f"func.func @sample({args}) -> {out} {{\n  {sample}\n"
            f"  func.return {result} : {out}\n}}\n")


@pytest.mark.parametrize("op", hl.OPS, ids=[op.name for op in hl.OPS])
def test_docstring_sample_parses_verifies_and_round_trips(op):
    """Each op's declaration carries a line of sample IR: it parses, verifies, and prints
    back to text that parses to the same module."""
    from xdsl.parser import Parser

    from lamina.passes.pipeline import context

    module = Parser(context(), _docstring_sample(op)).parse_module()
    module.verify()
    again = Parser(context(), str(module)).parse_module()
    assert str(again) == str(module)
    assert any(o.name == op.name for o in module.walk())
