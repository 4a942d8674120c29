// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.reshape: cannot reshape [2, 3] (6 elements) into [7] (7 elements)
  %r = hl.reshape %a : tensor<2x3xf32> -> tensor<7xf32>
  func.return %r : tensor<7xf32>
}

// -----

func.func @reshape_dtype(%a: tensor<2x3xf32>) -> tensor<6xf64> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.reshape: element type must not change
  %r = hl.reshape %a : tensor<2x3xf32> -> tensor<6xf64>
  func.return %r : tensor<6xf64>
}

// -----

func.func @perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.transpose: perm [1, 1] is not a permutation of 2 dims
  %r = hl.transpose %a perm=[1, 1] : tensor<2x3xf32> -> tensor<3x2xf32>
  func.return %r : tensor<3x2xf32>
}

// -----

func.func @perm_result(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.transpose: result type tensor<2x3xf32> does not match the inferred tensor<3x2xf32>
  %r = hl.transpose %a perm=[1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

func.func @broadcast_size(%a: tensor<3xf32>) -> tensor<4x5xf32> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.broadcast_in_dim: cannot broadcast dim 0 of size 3 to size 5
  %r = hl.broadcast_in_dim %a dims=[1] : tensor<3xf32> -> tensor<4x5xf32>
  func.return %r : tensor<4x5xf32>
}

// -----

func.func @broadcast_dims(%a: tensor<1x5xf32>) -> tensor<4x5xf32> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.broadcast_in_dim: dims [1, 0] must be increasing and within the result rank 2
  %r = hl.broadcast_in_dim %a dims=[1, 0] : tensor<1x5xf32> -> tensor<4x5xf32>
  func.return %r : tensor<4x5xf32>
}

// -----

func.func @broadcast_rank(%a: tensor<5xf32>) -> tensor<4x5xf32> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.broadcast_in_dim: dims [0, 1] must name one result dim per operand dim (operand rank 1)
  %r = hl.broadcast_in_dim %a dims=[0, 1] : tensor<5xf32> -> tensor<4x5xf32>
  func.return %r : tensor<4x5xf32>
}

// -----

func.func @iota_dim() -> tensor<4xi64> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.iota: dim 1 out of range for rank 1
  %r = hl.iota dim=1 : tensor<4xi64>
  func.return %r : tensor<4xi64>
}

// -----

func.func @splat_value() -> tensor<4xf32> {
  // CHECK: shape-invalid.mlir:[[# @LINE + 1]]:3: error: hl.splat: value must be a number
  %r = hl.splat value="one" : tensor<4xf32>
  func.return %r : tensor<4xf32>
}
