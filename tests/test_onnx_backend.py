"""ONNX's own node tests (onnx/backend/test/data/node) run on lamina.

Every node test of an op lamina imports is included; the exclusion list below
says why each excluded test is excluded. The default set runs on the "interp"
backend (fast); a subset also runs on the compiled "c" backend when it is
registered, and all of them on "c" under `-m slow`. Node tests compare
against ONNX's stored outputs (rtol 1e-3, atol 1e-7, dtype and shape exact).
"""

from __future__ import annotations

import re
import unittest

import onnx.backend.test
import pytest

from lamina.onnx.backend import backend_for
from lamina.runtime import backends

# node-test name prefixes of the ops lamina imports
OPS = [
    "abs", "add", "and", "argmax", "argmin", "averagepool", "batchnorm", "cast", "castlike", "ceil", "clip",
    "concat", "constant", "constant_pad", "constantofshape", "conv", "cos", "div", "dropout",
    "edge_pad", "equal", "erf", "exp", "expand", "flatten", "floor", "gather", "gelu", "gemm",
    "globalaveragepool", "globalmaxpool", "greater", "greater_equal", "identity",
    "layer_normalization", "leakyrelu", "less", "less_equal", "log", "logsoftmax", "matmul",
    "max", "maxpool", "mean", "min", "mod", "mul", "neg", "not", "or", "pow", "reciprocal",
    "reduce_l1", "reduce_l2", "reduce_log_sum", "reduce_log_sum_exp", "reduce_max", "reduce_mean", "reduce_min",
    "reduce_prod", "reduce_sum", "reduce_sum_square", "reflect_pad", "relu", "reshape",
    "shape", "sigmoid", "sign", "sin", "size", "slice", "softmax", "sqrt", "squeeze", "sub",
    "sum", "tanh", "transpose", "unsqueeze", "where", "wrap_pad", "xor",
    # the converters for exported models (lamina/onnx/ops_tensor, ops_rnn, ops_control)
    "split", "lrn", "gathernd", "einsum", "instancenorm", "convtranspose", "resize", "upsample",
    "lstm", "gru", "rnn", "trilu", "if", "loop11", "scan9", "scan", "attention",
]

EXCLUDED = {
    r"^test_cast(like)?_.*(FLOAT8|FLOAT4|INT4|INT2|UINT4|UINT2|e8m0)":
        "float8/float4/int4/int2 element types: lamina has no such dtype",
    r"^test_(cast|castlike)_.*(STRING|string)": "strings: lamina has no string dtype",
    r"^test_equal_string": "strings: lamina has no string dtype",
    r"^test_split_to_sequence|^test_if_(opt|seq)|^test_loop1[36]_seq":
        "optional and sequence types: tensors only",
    r"^test_attention_.*_expanded": "Attention's function expansion computes shapes with "
        "Range/Expand on values lamina needs at import time",
    r"^test_attention_.*qk_matmul": "Attention's qk_matmul output: not imported",
    r"^test_attention_4d_diff_heads_mask4d_padded_kv": "Attention-24's nonpad_kv_seqlen "
        "input: not imported",
    r"^test_resize_.*antialias": "Resize antialias=1: not imported",
    r"^test_resize_tf_crop_and_resize": "Resize tf_crop_and_resize: not imported",
    r"^test_resize_downsample_scales_(linear|cubic)_align_corners":
        "align_corners with fractional output lengths: ONNX's reference divides by "
        "input*scale - 1, onnxruntime (which lamina follows) by the integer output length - 1",
    r"^test_scan_sum": "Scan-8 (batch axis, sequence_lens): opset 9+ Scan is imported",
    r"^test_einsum_(batch_diagonal|scalar)": "Einsum: repeated indices (diagonals) and "
        "0-d operands are not handled by lm.einsum",
    r"^test_identity_opt|^test_identity_sequence": "optional and sequence types: tensors only",
    r"^test_batchnorm_.*training_mode": "BatchNormalization in training mode: inference only",
    r"^test_maxpool_with_argmax": "MaxPool's Indices output: not imported",
}

# ops the compiled C backend runs in this file (a bounded, representative subset)
C_SUBSET = ["add", "relu", "softmax", "reduce_sum", "gemm", "matmul", "transpose", "reshape",
            "where", "conv", "gather", "concat"]
# failures of the C backend itself, not of the import (the interp runs these tests)
C_EXCLUDED = {
    r"^test_constantofshape_int_shape_zero|^test_shape_start_greater_than_end":
        "c backend: zero-size constants fail in lower-hl-to-loop",
}


def _test_class(name: str, backend_name: str, ops: list[str],
                excluded: dict[str, str]) -> type[unittest.TestCase]:
    """A TestCase holding the included node tests (CPU device) for one lamina backend."""
    include = rf"^test_({'|'.join(ops)})(_.*)?_cpu$"
    suite = onnx.backend.test.BackendTest(backend_for(backend_name), __name__)
    suite.include(include)
    for pattern in excluded:
        suite.exclude(pattern)  # kept, skipped with the pattern as the reason
    node_tests = suite.test_cases["OnnxBackendNodeModelTest"]
    keep = {test_name: fn for test_name, fn in vars(node_tests).items()
            if re.search(include, test_name)}
    cls = type(name, (unittest.TestCase,), keep)
    cls.__module__ = __name__
    return cls


TestOnnxNodeInterp = _test_class("TestOnnxNodeInterp", "interp", OPS, EXCLUDED)

if "c" in backends.available():
    TestOnnxNodeC = _test_class("TestOnnxNodeC", "c", C_SUBSET, EXCLUDED | C_EXCLUDED)
    # every included node test on C: minutes of C compiles, so only with -m slow
    TestOnnxNodeCAll = pytest.mark.slow(
        _test_class("TestOnnxNodeCAll", "c", OPS, EXCLUDED | C_EXCLUDED))
