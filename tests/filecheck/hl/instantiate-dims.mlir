// RUN: lamina-opt %s --split-input-file -p 'instantiate-dims{size=5}' | filecheck %s
// RUN: not lamina-opt %s -p c-pipeline 2>&1 | filecheck %s --check-prefix=LOWER

// Every `?` becomes the given size: the probe of a symbolic program (lm.jit lowers
// it at two probe sizes and generalizes the C; docs/dynamic_shapes.md).

// CHECK-LABEL: func.func @mlp(%x: tensor<5x64xf32>, %w: tensor<64x10xf32>) -> tensor<5xf32>
// CHECK-NEXT: %y = hl.matmul %x, %w : (tensor<5x64xf32>, tensor<64x10xf32>) -> tensor<5x10xf32>
// CHECK-NEXT: %m = hl.reduce_max %y dims=[1] : tensor<5x10xf32> -> tensor<5xf32>
// CHECK-NEXT: func.return %m : tensor<5xf32>
// LOWER: error: lower-hl-to-loop: the program has dynamic dims (`?`); the levels below hl take static sizes: run instantiate-dims{size=N} first
func.func @mlp(%x: tensor<?x64xf32>, %w: tensor<64x10xf32>) -> tensor<?xf32> {
  %y = hl.matmul %x, %w : (tensor<?x64xf32>, tensor<64x10xf32>) -> tensor<?x10xf32>
  %m = hl.reduce_max %y dims=[1] : tensor<?x10xf32> -> tensor<?xf32>
  func.return %m : tensor<?xf32>
}
