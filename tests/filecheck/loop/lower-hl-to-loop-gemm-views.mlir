// RUN: lamina-opt %s -p lower-hl-to-loop --split-input-file | filecheck %s
// RUN: lamina-opt %s -p 'lower-hl-to-loop{gemm_views=false}' --split-input-file | filecheck %s --check-prefix=PLAIN

// Attention's head split of a fused QKV tensor [B=2, S=4, 3D=12] (2 heads of 2):
// q @ k^T reads both heads in place (lda = ldb = 3D, batch strides (S*3D, Dh), k at
// offset D); without views (the Triton path) q and k are copied first.

// CHECK-LABEL: func.func @heads
// CHECK-NOT:     loop.kernel
// CHECK:         loop.matmul %0, %0, %1 batch=4 m=4 n=4 k=2 transpose_b views [2, 2] a=[0, 12, 48, 2] b=[4, 12, 48, 2] c=[0, 4, 32, 16]
// CHECK-NOT:     loop.kernel
// PLAIN-LABEL: func.func @heads
// PLAIN:         loop.kernel
// PLAIN:         loop.matmul %{{.*}}, %{{.*}}, %1 batch=4 m=4 n=4 k=2 :
func.func @heads(%qkv: tensor<2x4x12xf32>) -> tensor<2x2x4x4xf32> {
  %q0 = hl.slice %qkv start=[0, 0, 0] stop=[2, 4, 4] step=[1, 1, 1] : tensor<2x4x12xf32> -> tensor<2x4x4xf32>
  %q1 = hl.reshape %q0 : tensor<2x4x4xf32> -> tensor<2x4x2x2xf32>
  %q = hl.transpose %q1 perm=[0, 2, 1, 3] : tensor<2x4x2x2xf32> -> tensor<2x2x4x2xf32>
  %k0 = hl.slice %qkv start=[0, 0, 4] stop=[2, 4, 8] step=[1, 1, 1] : tensor<2x4x12xf32> -> tensor<2x4x4xf32>
  %k1 = hl.reshape %k0 : tensor<2x4x4xf32> -> tensor<2x4x2x2xf32>
  %kt = hl.transpose %k1 perm=[0, 2, 3, 1] : tensor<2x4x2x2xf32> -> tensor<2x2x2x4xf32>
  %s = hl.matmul %q, %kt : (tensor<2x2x4x2xf32>, tensor<2x2x2x4xf32>) -> tensor<2x2x4x4xf32>
  func.return %s : tensor<2x2x4x4xf32>
}

// -----

// A permuted product is written where the permutation puts it: straight into the
// output buffer, no transpose kernel.

// CHECK-LABEL: func.func @permuted
// CHECK-NEXT:    loop.matmul %0, %1, %2 batch=2 m=4 n=3 k=6 views [2] a=[0, 6, 24] b=[0, 3, 18] c=[0, 6, 3]
// CHECK-NEXT:    func.return
// PLAIN-LABEL: func.func @permuted
// PLAIN:         loop.matmul %0, %1, %3 batch=2 m=4 n=3 k=6 :
// PLAIN:         loop.kernel "transpose_1"
func.func @permuted(%x: tensor<2x4x6xf32>, %y: tensor<2x6x3xf32>) -> tensor<4x2x3xf32> {
  %0 = hl.matmul %x, %y : (tensor<2x4x6xf32>, tensor<2x6x3xf32>) -> tensor<2x4x3xf32>
  %1 = hl.transpose %0 perm=[1, 0, 2] : tensor<2x4x3xf32> -> tensor<4x2x3xf32>
  func.return %1 : tensor<4x2x3xf32>
}
