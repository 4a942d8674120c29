// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @slice_rank(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.slice: start [0] must have one entry per dim (rank 2) (operand types: tensor<4x8xf32>)
  %r = hl.slice %x start=[0] stop=[4] step=[1] : tensor<4x8xf32> -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @slice_step(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.slice: step [1, 0] must be positive in every dim (operand types: tensor<4x8xf32>)
  %r = hl.slice %x start=[0, 0] stop=[4, 8] step=[1, 0] : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

func.func @slice_bounds(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.slice: dim 1: need 0 <= start <= stop <= 8, got start=2 stop=10 (operand types: tensor<4x8xf32>)
  %r = hl.slice %x start=[0, 2] stop=[4, 10] step=[1, 1] : tensor<4x8xf32> -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

func.func @slice_result(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.slice: result type tensor<4x3xf32> does not match the inferred tensor<4x4xf32> (operand types: tensor<4x8xf32>)
  %r = hl.slice %x start=[0, 1] stop=[4, 8] step=[1, 2] : tensor<4x8xf32> -> tensor<4x3xf32>
  func.return %r : tensor<4x3xf32>
}

// -----

func.func @pad_interior(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.pad: interior [-1] must be >= 0 (operand types: tensor<4xf32>)
  %r = hl.pad %x low=[0] high=[0] interior=[-1] value=0.0 : tensor<4xf32> -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @pad_crop(%x: tensor<4xf32>) -> tensor<0xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.pad: padding [-3]/[-2] crops more than the padded size of [4] (operand types: tensor<4xf32>)
  %r = hl.pad %x low=[-3] high=[-2] interior=[0] value=0.0 : tensor<4xf32> -> tensor<0xf32>
  func.return %r : tensor<0xf32>
}

// -----

func.func @pad_value(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.pad: value must be a number (operand types: tensor<4xf32>)
  %r = hl.pad %x low=[0] high=[0] interior=[0] value="zero" : tensor<4xf32> -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @concat_dim(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<4x3xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.concat: dim 2 out of range for rank 2 (operand types: tensor<2x3xf32>, tensor<2x3xf32>)
  %r = hl.concat %a, %b dim=2 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  func.return %r : tensor<4x3xf32>
}

// -----

func.func @concat_shapes(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) -> tensor<2x6xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.concat: shapes must agree except in dim 1, got tensor<2x3xf32>, tensor<3x3xf32> (operand types: tensor<2x3xf32>, tensor<3x3xf32>)
  %r = hl.concat %a, %b dim=1 : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  func.return %r : tensor<2x6xf32>
}

// -----

func.func @concat_dtypes(%a: tensor<2x3xf32>, %b: tensor<2x3xf64>) -> tensor<4x3xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.concat: operands must have one element type, got tensor<2x3xf32>, tensor<2x3xf64> (operand types: tensor<2x3xf32>, tensor<2x3xf64>)
  %r = hl.concat %a, %b dim=0 : (tensor<2x3xf32>, tensor<2x3xf64>) -> tensor<4x3xf32>
  func.return %r : tensor<4x3xf32>
}

// -----

func.func @reverse_dims(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.reverse: dims [1, 1] out of range or repeated for rank 2 (operand types: tensor<4x8xf32>)
  %r = hl.reverse %x dims=[1, 1] : tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

func.func @gather_axis(%t: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<3x4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.gather: axis 2 out of range for rank 2 (operand types: tensor<10x4xf32>, tensor<3xi64>)
  %r = hl.gather %t, %i axis=2 : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  func.return %r : tensor<3x4xf32>
}

// -----

func.func @gather_float_indices(%t: tensor<10x4xf32>, %i: tensor<3xf32>) -> tensor<3x4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.gather: indices must be int32 or int64, got tensor<3xf32> (operand types: tensor<10x4xf32>, tensor<3xf32>)
  %r = hl.gather %t, %i axis=0 : (tensor<10x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
  func.return %r : tensor<3x4xf32>
}

// -----

func.func @gather_result(%t: tensor<10x4xf32>, %i: tensor<3xi32>) -> tensor<4x3xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.gather: result type tensor<4x3xf32> does not match the inferred tensor<3x4xf32> (operand types: tensor<10x4xf32>, tensor<3xi32>)
  %r = hl.gather %t, %i axis=0 : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<4x3xf32>
  func.return %r : tensor<4x3xf32>
}

// -----

func.func @scatter_updates(%i: tensor<3xi64>, %u: tensor<3x5xf32>) -> tensor<10x4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.scatter_add: updates of shape [3, 5] do not fit a result of shape [10, 4]: expected [3, 4] (operand types: tensor<3xi64>, tensor<3x5xf32>)
  %r = hl.scatter_add %i, %u axis=0 : (tensor<3xi64>, tensor<3x5xf32>) -> tensor<10x4xf32>
  func.return %r : tensor<10x4xf32>
}

// -----

func.func @scatter_dtype(%i: tensor<3xi64>, %u: tensor<3x4xf32>) -> tensor<10x4xf64> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.scatter_add: updates and result must have one element type (operand types: tensor<3xi64>, tensor<3x4xf32>)
  %r = hl.scatter_add %i, %u axis=0 : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf64>
  func.return %r : tensor<10x4xf64>
}

// -----

func.func @random_seed(%s: tensor<i32>) -> tensor<4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.random: seed must be a 0-d int64 tensor, got tensor<i32> (operand types: tensor<i32>)
  %r = hl.random %s dist="uniform" : tensor<i32> -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @random_dist(%s: tensor<i64>) -> tensor<4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.random: dist 'cauchy' is not one of ['uniform', 'normal', 'bits'] (operand types: tensor<i64>)
  %r = hl.random %s dist="cauchy" : tensor<i64> -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @random_int_uniform(%s: tensor<i64>) -> tensor<4xi32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.random: dist 'uniform' needs a floating-point result, got tensor<4xi32> (operand types: tensor<i64>)
  %r = hl.random %s dist="uniform" : tensor<i64> -> tensor<4xi32>
  func.return %r : tensor<4xi32>
}

// -----

func.func @random_bits_float(%s: tensor<i64>) -> tensor<4xf32> {
  // CHECK: indexing-invalid.mlir:[[# @LINE + 1]]:3: error: hl.random: dist 'bits' needs an i64 result, got tensor<4xf32> (operand types: tensor<i64>)
  %r = hl.random %s dist="bits" : tensor<i64> -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}
