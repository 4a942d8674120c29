// RUN: lamina-opt %s --split-input-file -p fold-batch-matmul | filecheck %s

// The weight gradient of a batched x @ w: the batch is folded into the contraction,
// one [M, B*K] x [B*K, N] GEMM that reads x transposed in place, instead of B GEMMs
// and a reduction kernel. (The transpose left dead is dce's to erase.)
// CHECK-LABEL: func.func @weight_grad(%x: tensor<2x3x4xf32>, %g: tensor<2x3x5xf32>) -> tensor<4x5xf32> {
// CHECK-NEXT:    %xt = hl.transpose %x perm=[0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
// CHECK-NEXT:    %[[X:.*]] = hl.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
// CHECK-NEXT:    %[[XT:.*]] = hl.transpose %[[X]] perm=[1, 0] : tensor<6x4xf32> -> tensor<4x6xf32>
// CHECK-NEXT:    %[[G:.*]] = hl.reshape %g : tensor<2x3x5xf32> -> tensor<6x5xf32>
// CHECK-NEXT:    %r = hl.matmul %[[XT]], %[[G]] : (tensor<4x6xf32>, tensor<6x5xf32>) -> tensor<4x5xf32>
// CHECK-NEXT:    func.return %r : tensor<4x5xf32>
func.func @weight_grad(%x: tensor<2x3x4xf32>, %g: tensor<2x3x5xf32>) -> tensor<4x5xf32> {
  %xt = hl.transpose %x perm=[0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %m = hl.matmul %xt, %g : (tensor<2x4x3xf32>, tensor<2x3x5xf32>) -> tensor<2x4x5xf32>
  %r = hl.reduce_sum %m dims=[0] : tensor<2x4x5xf32> -> tensor<4x5xf32>
  func.return %r : tensor<4x5xf32>
}

// -----

// Several batch dims fold together.
// CHECK-LABEL: func.func @two_batch_dims
// CHECK-NEXT:    %xt = hl.transpose
// CHECK-NEXT:    %[[X:.*]] = hl.reshape %x : tensor<2x6x3x4xf32> -> tensor<36x4xf32>
// CHECK-NEXT:    %[[XT:.*]] = hl.transpose %[[X]] perm=[1, 0] : tensor<36x4xf32> -> tensor<4x36xf32>
// CHECK-NEXT:    %[[G:.*]] = hl.reshape %g : tensor<2x6x3x5xf32> -> tensor<36x5xf32>
// CHECK-NEXT:    %r = hl.matmul %[[XT]], %[[G]] : (tensor<4x36xf32>, tensor<36x5xf32>) -> tensor<4x5xf32>
// CHECK-NEXT:    func.return %r : tensor<4x5xf32>
func.func @two_batch_dims(%x: tensor<2x6x3x4xf32>, %g: tensor<2x6x3x5xf32>) -> tensor<4x5xf32> {
  %xt = hl.transpose %x perm=[0, 1, 3, 2] : tensor<2x6x3x4xf32> -> tensor<2x6x4x3xf32>
  %m = hl.matmul %xt, %g : (tensor<2x6x4x3xf32>, tensor<2x6x3x5xf32>) -> tensor<2x6x4x5xf32>
  %r = hl.reduce_sum %m dims=[0, 1] : tensor<2x6x4x5xf32> -> tensor<4x5xf32>
  func.return %r : tensor<4x5xf32>
}

// -----

// Left alone: a product read by another op too, a reduction over other dims than
// the batch, a left operand that is not a transpose.
// CHECK-LABEL: func.func @product_used_twice
// CHECK-NEXT:    %xt = hl.transpose %x perm=[0, 2, 1]
// CHECK-NEXT:    %m = hl.matmul %xt, %g
// CHECK-NEXT:    %r = hl.reduce_sum %m dims=[0]
// CHECK-LABEL: func.func @not_over_the_batch
// CHECK-NEXT:    %xt = hl.transpose %x perm=[0, 2, 1]
// CHECK-NEXT:    %m = hl.matmul %xt, %g
// CHECK-NEXT:    %r = hl.reduce_sum %m dims=[1]
// CHECK-LABEL: func.func @lhs_not_transposed
// CHECK-NEXT:    %m = hl.matmul %x, %g
// CHECK-NEXT:    %r = hl.reduce_sum %m dims=[0]
func.func @product_used_twice(%x: tensor<2x3x4xf32>, %g: tensor<2x3x5xf32>) -> (tensor<4x5xf32>, tensor<2x4x5xf32>) {
  %xt = hl.transpose %x perm=[0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %m = hl.matmul %xt, %g : (tensor<2x4x3xf32>, tensor<2x3x5xf32>) -> tensor<2x4x5xf32>
  %r = hl.reduce_sum %m dims=[0] : tensor<2x4x5xf32> -> tensor<4x5xf32>
  func.return %r, %m : tensor<4x5xf32>, tensor<2x4x5xf32>
}
func.func @not_over_the_batch(%x: tensor<2x3x4xf32>, %g: tensor<2x3x5xf32>) -> tensor<2x5xf32> {
  %xt = hl.transpose %x perm=[0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %m = hl.matmul %xt, %g : (tensor<2x4x3xf32>, tensor<2x3x5xf32>) -> tensor<2x4x5xf32>
  %r = hl.reduce_sum %m dims=[1] : tensor<2x4x5xf32> -> tensor<2x5xf32>
  func.return %r : tensor<2x5xf32>
}
func.func @lhs_not_transposed(%x: tensor<2x4x3xf32>, %g: tensor<2x3x5xf32>) -> tensor<4x5xf32> {
  %m = hl.matmul %x, %g : (tensor<2x4x3xf32>, tensor<2x3x5xf32>) -> tensor<2x4x5xf32>
  %r = hl.reduce_sum %m dims=[0] : tensor<2x4x5xf32> -> tensor<4x5xf32>
  func.return %r : tensor<4x5xf32>
}
