// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// reshape and transpose transpose to the inverse reshape and the inverse permutation.
// CHECK-LABEL: func.func @shapes_vjp(%x: tensor<2x3x4xf32>, %d0: tensor<12x2xf32>)
// CHECK-NEXT:    %t = hl.transpose %x perm=[1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
// CHECK-NEXT:    %r = hl.reshape %t : tensor<3x4x2xf32> -> tensor<12x2xf32>
// CHECK-NEXT:    %[[R:.*]] = hl.reshape %d0 : tensor<12x2xf32> -> tensor<3x4x2xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.transpose %[[R]] perm=[2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
// CHECK-NEXT:    func.return %r, %[[DX]]
func.func @shapes(%x: tensor<2x3x4xf32>) -> tensor<12x2xf32> attributes {autodiff} {
  %t = hl.transpose %x perm=[1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %r = hl.reshape %t : tensor<3x4x2xf32> -> tensor<12x2xf32>
  func.return %r : tensor<12x2xf32>
}

// A transpose and its inverse: the backward is the identity on the cotangent.
// CHECK-LABEL: func.func @round_trip_vjp(%x: tensor<2x3xf32>, %d0: tensor<2x3xf32>)
// CHECK-NEXT:    func.return %x, %d0
func.func @round_trip(%x: tensor<2x3xf32>) -> tensor<2x3xf32> attributes {autodiff} {
  %t = hl.transpose %x perm=[1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %u = hl.transpose %t perm=[1, 0] : tensor<3x2xf32> -> tensor<2x3xf32>
  func.return %u : tensor<2x3xf32>
}
