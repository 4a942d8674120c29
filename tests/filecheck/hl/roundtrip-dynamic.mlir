// RUN: lamina-opt %s | lamina-opt | filecheck %s

// A dynamic dim `?` prints and parses back; every `?` of a program is the one
// symbolic size s, so the shape rules check `?` against `?` (docs/dynamic_shapes.md).

// CHECK-LABEL: func.func @mlp(%x: tensor<?x64xf32>, %w: tensor<64x10xf32>, %b: tensor<10xf32>) -> tensor<?x10xf32>
func.func @mlp(%x: tensor<?x64xf32>, %w: tensor<64x10xf32>, %b: tensor<10xf32>) -> tensor<?x10xf32> {
  // CHECK-NEXT: %y = hl.matmul %x, %w : (tensor<?x64xf32>, tensor<64x10xf32>) -> tensor<?x10xf32>
  // CHECK-NEXT: %bb = hl.broadcast_in_dim %b dims=[1] : tensor<10xf32> -> tensor<?x10xf32>
  // CHECK-NEXT: %z = hl.add %y, %bb : tensor<?x10xf32>
  // CHECK-NEXT: %m = hl.reduce_max %z dims=[1] : tensor<?x10xf32> -> tensor<?xf32>
  // CHECK-NEXT: %s = hl.reduce_sum %z dims=[0] : tensor<?x10xf32> -> tensor<10xf32>
  // CHECK-NEXT: func.return %z : tensor<?x10xf32>
  %y = hl.matmul %x, %w : (tensor<?x64xf32>, tensor<64x10xf32>) -> tensor<?x10xf32>
  %bb = hl.broadcast_in_dim %b dims=[1] : tensor<10xf32> -> tensor<?x10xf32>
  %z = hl.add %y, %bb : tensor<?x10xf32>
  %m = hl.reduce_max %z dims=[1] : tensor<?x10xf32> -> tensor<?xf32>
  %s = hl.reduce_sum %z dims=[0] : tensor<?x10xf32> -> tensor<10xf32>
  func.return %z : tensor<?x10xf32>
}
