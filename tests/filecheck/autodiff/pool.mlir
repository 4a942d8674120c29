// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// max pooling scatters the cotangent to the selected element of each window; sum
// pooling spreads it over the window (a sum window over the dilated cotangent).
// CHECK-LABEL: func.func @pool_vjp(%x: tensor<2x3x8x8xf32>, %d0: tensor<2x3x4x4xf32>, %d1: tensor<2x3x4x4xf32>)
// CHECK-NEXT:    %m = hl.reduce_window %x kind="max"
// CHECK-NEXT:    %s = hl.reduce_window %x kind="sum"
// CHECK-NEXT:    %[[DS:.*]] = hl.reduce_window %d1 kind="sum" window=[1, 1, 2, 2] strides=[1, 1, 1, 1] padding=[0, 0, 0, 0, 1, 1, 1, 1] input_dilation=[1, 1, 2, 2] : tensor<2x3x4x4xf32> -> tensor<2x3x8x8xf32>
// CHECK-NEXT:    %[[DM:.*]] = hl.select_and_scatter_add %x, %d0 window=[1, 1, 2, 2] strides=[1, 1, 2, 2] {{.*}} : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>) -> tensor<2x3x8x8xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.add %[[DS]], %[[DM]] : tensor<2x3x8x8xf32>
// CHECK-NEXT:    func.return %m, %s, %[[DX]]
func.func @pool(%x: tensor<2x3x8x8xf32>) -> (tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>) attributes {autodiff} {
  %m = hl.reduce_window %x kind="max" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  %s = hl.reduce_window %x kind="sum" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  func.return %m, %s : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>
}
