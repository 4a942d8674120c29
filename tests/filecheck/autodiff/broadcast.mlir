// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// The transpose of broadcast_in_dim sums the cotangent over the broadcast dims.
// CHECK-LABEL: func.func @bcast_vjp(%x: tensor<3xf32>, %y: tensor<2x3xf32>, %d0: tensor<2x3xf32>)
// CHECK-NEXT:    %b = hl.broadcast_in_dim %x dims=[1] : tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    %m = hl.mul %b, %y : tensor<2x3xf32>
// CHECK-NEXT:    %[[DB:.*]] = hl.mul %d0, %y : tensor<2x3xf32>
// CHECK-NEXT:    %[[DY:.*]] = hl.mul %d0, %b : tensor<2x3xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.reduce_sum %[[DB]] dims=[0] : tensor<2x3xf32> -> tensor<3xf32>
// CHECK-NEXT:    func.return %m, %[[DX]], %[[DY]]
func.func @bcast(%x: tensor<3xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> attributes {autodiff} {
  %b = hl.broadcast_in_dim %x dims=[1] : tensor<3xf32> -> tensor<2x3xf32>
  %m = hl.mul %b, %y : tensor<2x3xf32>
  func.return %m : tensor<2x3xf32>
}

// Stretched size-1 operand dims are summed too and kept as size 1.
// CHECK-LABEL: func.func @bcast_unit_vjp(%x: tensor<2x1xf32>, %d0: tensor<4x2x3xf32>)
// CHECK-NEXT:    %b = hl.broadcast_in_dim %x dims=[1, 2] : tensor<2x1xf32> -> tensor<4x2x3xf32>
// CHECK-NEXT:    %[[S:.*]] = hl.reduce_sum %d0 dims=[0, 2] : tensor<4x2x3xf32> -> tensor<2xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.reshape %[[S]] : tensor<2xf32> -> tensor<2x1xf32>
// CHECK-NEXT:    func.return %b, %[[DX]]
func.func @bcast_unit(%x: tensor<2x1xf32>) -> tensor<4x2x3xf32> attributes {autodiff} {
  %b = hl.broadcast_in_dim %x dims=[1, 2] : tensor<2x1xf32> -> tensor<4x2x3xf32>
  func.return %b : tensor<4x2x3xf32>
}
