// RUN: lamina-opt %s -p lower-loop-to-cpu --split-input-file | filecheck %s
// RUN: lamina-opt %s --split-input-file | lamina-opt --split-input-file | filecheck %s --check-prefix=ROUND

// Attention's q @ k^T read in place from the fused QKV buffer [B=2, S=4, 3D=24]
// (4 heads of 2): rows 24 apart (lda = ldb = 3D), batch dims (B, H) at strides
// (S*3D, Dh), k starting at offset D = 8. The views clause carries over to cpu.gemm.

// CHECK-LABEL: func.func @heads
// CHECK-NEXT:    cpu.gemm %qkv, %qkv, %s batch=8 m=4 n=4 k=2 transpose_b views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, 2] c=[0, 4, 64, 16] : memref<2x4x24xf32>, memref<2x4x24xf32>, memref<2x4x4x4xf32>
// ROUND-LABEL: func.func @heads
// ROUND-NEXT:    loop.matmul %qkv, %qkv, %s batch=8 m=4 n=4 k=2 transpose_b views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, 2] c=[0, 4, 64, 16] : memref<2x4x24xf32>, memref<2x4x24xf32>, memref<2x4x4x4xf32>
func.func @heads(%qkv: memref<2x4x24xf32>, %s: memref<2x4x4x4xf32>) {
  loop.matmul %qkv, %qkv, %s batch=8 m=4 n=4 k=2 transpose_b views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, 2] c=[0, 4, 64, 16] : memref<2x4x24xf32>, memref<2x4x24xf32>, memref<2x4x4x4xf32>
  func.return
}

// -----

// A contiguous layout spelled out is the same op without the clause.

// CHECK-LABEL: func.func @plain
// CHECK-NEXT:    cpu.gemm %a, %b, %c batch=2 m=4 n=8 k=16 : memref<2x4x16xf32>, memref<16x8xf32>, memref<2x4x8xf32>
// ROUND-LABEL: func.func @plain
// ROUND-NEXT:    loop.matmul %a, %b, %c batch=2 m=4 n=8 k=16 : memref<2x4x16xf32>, memref<16x8xf32>, memref<2x4x8xf32>
func.func @plain(%a: memref<2x4x16xf32>, %b: memref<16x8xf32>, %c: memref<2x4x8xf32>) {
  loop.matmul %a, %b, %c batch=2 m=4 n=8 k=16 views [2] a=[0, 16, 64] b=[0, 8, 0] c=[0, 8, 32] : memref<2x4x16xf32>, memref<16x8xf32>, memref<2x4x8xf32>
  func.return
}
