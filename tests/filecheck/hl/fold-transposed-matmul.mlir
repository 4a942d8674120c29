// RUN: lamina-opt %s --split-input-file -p fold-transposed-matmul | filecheck %s

// transpose(a @ b) = transpose(b) @ transpose(a): the GEMM reads both operands
// transposed in place and writes its result as it lies (a linear layer's weight
// gradient (x^T g)^T: one GEMM instead of a GEMM and a transpose kernel). The
// transpose of a transpose is canonicalize's to fold.
// CHECK-LABEL: func.func @linear_weight_grad(%x: tensor<8x3xf32>, %g: tensor<8x5xf32>) -> tensor<5x3xf32> {
// CHECK-NEXT:    %xt = hl.transpose %x perm=[1, 0] : tensor<8x3xf32> -> tensor<3x8xf32>
// CHECK-NEXT:    %[[GT:.*]] = hl.transpose %g perm=[1, 0] : tensor<8x5xf32> -> tensor<5x8xf32>
// CHECK-NEXT:    %[[XTT:.*]] = hl.transpose %xt perm=[1, 0] : tensor<3x8xf32> -> tensor<8x3xf32>
// CHECK-NEXT:    %t = hl.matmul %[[GT]], %[[XTT]] : (tensor<5x8xf32>, tensor<8x3xf32>) -> tensor<5x3xf32>
// CHECK-NEXT:    func.return %t : tensor<5x3xf32>
func.func @linear_weight_grad(%x: tensor<8x3xf32>, %g: tensor<8x5xf32>) -> tensor<5x3xf32> {
  %xt = hl.transpose %x perm=[1, 0] : tensor<8x3xf32> -> tensor<3x8xf32>
  %m = hl.matmul %xt, %g : (tensor<3x8xf32>, tensor<8x5xf32>) -> tensor<3x5xf32>
  %t = hl.transpose %m perm=[1, 0] : tensor<3x5xf32> -> tensor<5x3xf32>
  func.return %t : tensor<5x3xf32>
}

// -----

// Batched: the last two dims swap, the batch stays.
// CHECK-LABEL: func.func @batched
// CHECK-NEXT:    %[[BT:.*]] = hl.transpose %b perm=[0, 2, 1] : tensor<2x3x5xf32> -> tensor<2x5x3xf32>
// CHECK-NEXT:    %[[AT:.*]] = hl.transpose %a perm=[0, 2, 1] : tensor<2x4x3xf32> -> tensor<2x3x4xf32>
// CHECK-NEXT:    %t = hl.matmul %[[BT]], %[[AT]] : (tensor<2x5x3xf32>, tensor<2x3x4xf32>) -> tensor<2x5x4xf32>
// CHECK-NEXT:    func.return %t : tensor<2x5x4xf32>
func.func @batched(%a: tensor<2x4x3xf32>, %b: tensor<2x3x5xf32>) -> tensor<2x5x4xf32> {
  %m = hl.matmul %a, %b : (tensor<2x4x3xf32>, tensor<2x3x5xf32>) -> tensor<2x4x5xf32>
  %t = hl.transpose %m perm=[0, 2, 1] : tensor<2x4x5xf32> -> tensor<2x5x4xf32>
  func.return %t : tensor<2x5x4xf32>
}

// -----

// Left alone: a product read by another op too, a transpose that moves the batch.
// CHECK-LABEL: func.func @product_used_twice
// CHECK-NEXT:    %m = hl.matmul %a, %b
// CHECK-NEXT:    %t = hl.transpose %m perm=[1, 0]
// CHECK-LABEL: func.func @batch_permuted
// CHECK-NEXT:    %m = hl.matmul %a, %b
// CHECK-NEXT:    %t = hl.transpose %m perm=[1, 0, 2]
func.func @product_used_twice(%a: tensor<4x3xf32>, %b: tensor<3x5xf32>) -> (tensor<5x4xf32>, tensor<4x5xf32>) {
  %m = hl.matmul %a, %b : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  %t = hl.transpose %m perm=[1, 0] : tensor<4x5xf32> -> tensor<5x4xf32>
  func.return %t, %m : tensor<5x4xf32>, tensor<4x5xf32>
}
func.func @batch_permuted(%a: tensor<2x4x3xf32>, %b: tensor<2x3x5xf32>) -> tensor<4x2x5xf32> {
  %m = hl.matmul %a, %b : (tensor<2x4x3xf32>, tensor<2x3x5xf32>) -> tensor<2x4x5xf32>
  %t = hl.transpose %m perm=[1, 0, 2] : tensor<2x4x5xf32> -> tensor<4x2x5xf32>
  func.return %t : tensor<4x2x5xf32>
}
