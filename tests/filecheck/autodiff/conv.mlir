// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// conv: the input gradient is a conv of the cotangent with the flipped, channel-
// swapped kernel; the weight gradient a conv of the input with the cotangent (batch
// and channels swapped). With groups=1 the group reshapes fold to plain transposes.
// CHECK-LABEL: func.func @conv_vjp(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %d0: tensor<2x4x8x8xf32>)
// CHECK-NEXT:    %r = hl.conv %x, %w stride=[1, 1] padding=[1, 1, 1, 1] dilation=[1, 1] groups=1
// CHECK-NEXT:    %[[WT:.*]] = hl.transpose %w perm=[1, 0, 2, 3] : tensor<4x3x3x3xf32> -> tensor<3x4x3x3xf32>
// CHECK-NEXT:    %[[WF:.*]] = hl.reverse %[[WT]] dims=[2, 3] : tensor<3x4x3x3xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.conv %d0, %[[WF]] {{.*}} : (tensor<2x4x8x8xf32>, tensor<3x4x3x3xf32>) -> tensor<2x3x8x8xf32>
// CHECK-NEXT:    %[[XT:.*]] = hl.transpose %x perm=[1, 0, 2, 3] : tensor<2x3x8x8xf32> -> tensor<3x2x8x8xf32>
// CHECK-NEXT:    %[[DT:.*]] = hl.transpose %d0 perm=[1, 0, 2, 3] : tensor<2x4x8x8xf32> -> tensor<4x2x8x8xf32>
// CHECK-NEXT:    %[[G:.*]] = hl.conv %[[XT]], %[[DT]] {{.*}} : (tensor<3x2x8x8xf32>, tensor<4x2x8x8xf32>) -> tensor<3x4x3x3xf32>
// CHECK-NEXT:    %[[DW:.*]] = hl.transpose %[[G]] perm=[1, 0, 2, 3] : tensor<3x4x3x3xf32> -> tensor<4x3x3x3xf32>
// CHECK-NEXT:    func.return %r, %[[DX]], %[[DW]]
func.func @conv(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32> attributes {autodiff} {
  %r = hl.conv %x, %w stride=[1, 1] padding=[1, 1, 1, 1] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x8x8xf32>
  func.return %r : tensor<2x4x8x8xf32>
}
