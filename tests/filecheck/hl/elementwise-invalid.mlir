// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @add_shapes(%a: tensor<4xf32>, %b: tensor<5xf32>) -> tensor<4xf32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.add: operands must have the same type, got tensor<4xf32>, tensor<5xf32>
  %r = hl.add %a, %b : (tensor<4xf32>, tensor<5xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @add_dtypes(%a: tensor<4xf32>, %b: tensor<4xf64>) -> tensor<4xf32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.add: operands must have the same type, got tensor<4xf32>, tensor<4xf64>
  %r = hl.add %a, %b : (tensor<4xf32>, tensor<4xf64>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @exp_int(%a: tensor<4xi32>) -> tensor<4xi32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.exp: needs a floating-point tensor, got tensor<4xi32>
  %r = hl.exp %a : tensor<4xi32>
  func.return %r : tensor<4xi32>
}

// -----

func.func @result_type(%a: tensor<4xf32>) -> tensor<4xf64> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.tanh: result type tensor<4xf64> does not match the inferred tensor<4xf32>
  %r = hl.tanh %a : tensor<4xf32> -> tensor<4xf64>
  func.return %r : tensor<4xf64>
}

// -----

func.func @compare_result(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.lt: result type tensor<4xf32> does not match the inferred tensor<4xi1>
  %r = hl.lt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @not_float(%a: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.not: needs a bool tensor, got tensor<4xf32>
  %r = hl.not %a : tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @select_cond(%c: tensor<4xf32>, %a: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.select: condition must be a bool tensor, got tensor<4xf32>
  %r = hl.select %c, %a, %a : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @select_shape(%c: tensor<3xi1>, %a: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.select: condition shape (3,) differs from value shape (4,)
  %r = hl.select %c, %a, %a : (tensor<3xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @cast_shape(%a: tensor<4xf32>) -> tensor<5xi32> {
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: hl.cast: cannot change the shape (4,) to (5,)
  %r = hl.cast %a : tensor<4xf32> -> tensor<5xi32>
  func.return %r : tensor<5xi32>
}

// -----

func.func @return_type(%a: tensor<4xf32>) -> tensor<4xf64> {
  %r = hl.neg %a : tensor<4xf32>
  // CHECK: elementwise-invalid.mlir:[[# @LINE + 1]]:3: error: Expected arguments to have the same types as the function output types
  func.return %r : tensor<4xf32>
}
