// RUN: lamina-opt %s --split-input-file --verify-diagnostics
// mlir-opt style: each expected-error must be produced on its line, and nothing else.

func.func @dims_range(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error@+1 {{hl.reduce_sum: dims [2] out of range or repeated for rank 2}}
  %r = hl.reduce_sum %a dims=[2] : tensor<2x3xf32> -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}

// -----

func.func @dims_repeated(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  %r = hl.reduce_max %a dims=[1, 1] : tensor<2x3xf32> -> tensor<2xf32>  // expected-error {{hl.reduce_max: dims [1, 1] out of range or repeated for rank 2}}
  func.return %r : tensor<2xf32>
}

// -----

func.func @result_shape(%a: tensor<2x3xf32>) -> tensor<3xf32> {
  %r = hl.reduce_sum %a dims=[1] : tensor<2x3xf32> -> tensor<3xf32>
  // expected-error@above {{hl.reduce_sum: result type tensor<3xf32> does not match the inferred tensor<2xf32>}}
  func.return %r : tensor<3xf32>
}

// -----

func.func @argmax_dim(%a: tensor<2x3xf32>) -> tensor<2xi64> {
  // expected-error@below {{hl.argmax: dim 2 out of range for rank 2}}
  %r = hl.argmax %a dim=2 : tensor<2x3xf32> -> tensor<2xi64>
  func.return %r : tensor<2xi64>
}

// -----

func.func @argmax_type(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error@+1 {{hl.argmax: result type tensor<2xf32> does not match the inferred tensor<2xi64>}}
  %r = hl.argmax %a dim=1 : tensor<2x3xf32> -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}

// -----

func.func @argmin_empty(%a: tensor<2x0xf32>) -> tensor<2xi64> {
  // expected-error@+1 {{hl.argmin: cannot take hl.argmin of an empty dim}}
  %r = hl.argmin %a dim=1 : tensor<2x0xf32> -> tensor<2xi64>
  func.return %r : tensor<2xi64>
}

// -----

// A valid chunk produces no diagnostic.
func.func @valid(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  %r = hl.reduce_min %a dims=[1] : tensor<2x3xf32> -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}
