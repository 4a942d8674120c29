// RUN: lamina-opt %s -p cpu-stack-gemm-rows --split-input-file | filecheck %s

// x @ W over a batch: B is shared and the batches of A and C follow one another, so
// the batch is 32 rows of one product. With views, offsets and row strides are kept.

// CHECK-LABEL: func.func @shared_b
// CHECK-NEXT:    cpu.gemm %a, %b, %c batch=1 m=32 n=3 k=2 : memref<8x4x2xf32>, memref<2x3xf32>, memref<8x4x3xf32>
// CHECK-NEXT:    cpu.gemm %q, %b, %c batch=1 m=32 n=3 k=2 views [] a=[1, 6] b=[0, 3] c=[0, 3] : memref<8x4x6xf32>, memref<2x3xf32>, memref<8x4x3xf32>
func.func @shared_b(%a: memref<8x4x2xf32>, %b: memref<2x3xf32>, %c: memref<8x4x3xf32>, %q: memref<8x4x6xf32>) {
  cpu.gemm %a, %b, %c batch=8 m=4 n=3 k=2 : memref<8x4x2xf32>, memref<2x3xf32>, memref<8x4x3xf32>
  cpu.gemm %q, %b, %c batch=8 m=4 n=3 k=2 views [8] a=[1, 6, 24] b=[0, 3, 0] c=[0, 3, 12] : memref<8x4x6xf32>, memref<2x3xf32>, memref<8x4x3xf32>
  func.return
}

// -----

// A batched B, a transposed A (its rows are columns), or gaps between the batches of
// C: batches stay batches.

// CHECK-LABEL: func.func @apart
// CHECK-NEXT:    cpu.gemm %a, %bb, %c batch=8 m=4 n=3 k=2 :
// CHECK-NEXT:    cpu.gemm %a, %b, %c batch=8 m=4 n=3 k=2 transpose_a :
// CHECK-NEXT:    cpu.gemm %a, %b, %w batch=8 m=4 n=3 k=2 views [8]
func.func @apart(%a: memref<8x4x2xf32>, %b: memref<2x3xf32>, %bb: memref<8x2x3xf32>, %c: memref<8x4x3xf32>, %w: memref<8x5x3xf32>) {
  cpu.gemm %a, %bb, %c batch=8 m=4 n=3 k=2 : memref<8x4x2xf32>, memref<8x2x3xf32>, memref<8x4x3xf32>
  cpu.gemm %a, %b, %c batch=8 m=4 n=3 k=2 transpose_a : memref<8x4x2xf32>, memref<2x3xf32>, memref<8x4x3xf32>
  cpu.gemm %a, %b, %w batch=8 m=4 n=3 k=2 views [8] a=[0, 2, 8] b=[0, 3, 0] c=[0, 3, 15] : memref<8x4x2xf32>, memref<2x3xf32>, memref<8x5x3xf32>
  func.return
}
