// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s

// A dynamic dim is the symbolic size s: it does not match a static size.
func.func @add_dynamic_static(%a: tensor<?x4xf32>, %b: tensor<3x4xf32>) -> tensor<?x4xf32> {
  // CHECK: dynamic-invalid.mlir:[[# @LINE + 1]]:3: error: hl.add: operands must have the same type, got tensor<?x4xf32>, tensor<3x4xf32>
  %c = hl.add %a, %b : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>
  func.return %c : tensor<?x4xf32>
}

// -----

func.func @matmul_dynamic_contraction(%a: tensor<4x?xf32>, %b: tensor<8x2xf32>) -> tensor<4x2xf32> {
  // CHECK: dynamic-invalid.mlir:[[# @LINE + 1]]:3: error: hl.matmul: contraction dims differ
  %c = hl.matmul %a, %b : (tensor<4x?xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  func.return %c : tensor<4x2xf32>
}
