// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// Batched matmul: dA = dC @ B^T, dB = A^T @ dC, transposing the last two dims.
// CHECK-LABEL: func.func @bmm_vjp(%a: tensor<5x2x3xf32>, %b: tensor<5x3x4xf32>, %d0: tensor<5x2x4xf32>)
// CHECK-NEXT:    %r = hl.matmul %a, %b : (tensor<5x2x3xf32>, tensor<5x3x4xf32>) -> tensor<5x2x4xf32>
// CHECK-NEXT:    %[[BT:.*]] = hl.transpose %b perm=[0, 2, 1] : tensor<5x3x4xf32> -> tensor<5x4x3xf32>
// CHECK-NEXT:    %[[DA:.*]] = hl.matmul %d0, %[[BT]] : (tensor<5x2x4xf32>, tensor<5x4x3xf32>) -> tensor<5x2x3xf32>
// CHECK-NEXT:    %[[AT:.*]] = hl.transpose %a perm=[0, 2, 1] : tensor<5x2x3xf32> -> tensor<5x3x2xf32>
// CHECK-NEXT:    %[[DB:.*]] = hl.matmul %[[AT]], %d0 : (tensor<5x3x2xf32>, tensor<5x2x4xf32>) -> tensor<5x3x4xf32>
// CHECK-NEXT:    func.return %r, %[[DA]], %[[DB]]
func.func @bmm(%a: tensor<5x2x3xf32>, %b: tensor<5x3x4xf32>) -> tensor<5x2x4xf32> attributes {autodiff} {
  %r = hl.matmul %a, %b : (tensor<5x2x3xf32>, tensor<5x3x4xf32>) -> tensor<5x2x4xf32>
  func.return %r : tensor<5x2x4xf32>
}

// x @ x: the two contributions are added.
// CHECK-LABEL: func.func @square_vjp(%x: tensor<3x3xf32>, %d0: tensor<3x3xf32>)
// CHECK:         %[[L:.*]] = hl.matmul %d0, %{{.*}}
// CHECK:         %[[R:.*]] = hl.matmul %{{.*}}, %d0
// CHECK-NEXT:    %[[DX:.*]] = hl.add %[[L]], %[[R]] : tensor<3x3xf32>
// CHECK-NEXT:    func.return %{{.*}}, %[[DX]]
func.func @square(%x: tensor<3x3xf32>) -> tensor<3x3xf32> attributes {autodiff} {
  %r = hl.matmul %x, %x : (tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<3x3xf32>
  func.return %r : tensor<3x3xf32>
}
