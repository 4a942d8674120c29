// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// gather and scatter_add are each other's transposes; integer indices get zeros.
// CHECK-LABEL: func.func @gather_vjp(%t: tensor<10x4xf32>, %i: tensor<3xi64>, %d0: tensor<3x4xf32>)
// CHECK-NEXT:    %r = hl.gather %t, %i axis=0 : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
// CHECK-NEXT:    %[[DT:.*]] = hl.scatter_add %i, %d0 axis=0 : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
// CHECK-NEXT:    %[[DI:.*]] = hl.splat value=0 : tensor<3xi64>
// CHECK-NEXT:    func.return %r, %[[DT]], %[[DI]]
func.func @gather(%t: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<3x4xf32> attributes {autodiff} {
  %r = hl.gather %t, %i axis=0 : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
  func.return %r : tensor<3x4xf32>
}

// CHECK-LABEL: func.func @scatter_vjp(%i: tensor<3xi64>, %u: tensor<3x4xf32>, %d0: tensor<10x4xf32>)
// CHECK-NEXT:    %r = hl.scatter_add %i, %u axis=0 : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
// CHECK-NEXT:    %[[DU:.*]] = hl.gather %d0, %i axis=0 : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
// CHECK-NEXT:    %[[DI:.*]] = hl.splat value=0 : tensor<3xi64>
// CHECK-NEXT:    func.return %r, %[[DI]], %[[DU]]
func.func @scatter(%i: tensor<3xi64>, %u: tensor<3x4xf32>) -> tensor<10x4xf32> attributes {autodiff} {
  %r = hl.scatter_add %i, %u axis=0 : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
  func.return %r : tensor<10x4xf32>
}

// slice transposes to a pad with zeros (interior padding for the step); concat to slices.
// CHECK-LABEL: func.func @slicing_vjp(%x: tensor<4x8xf32>, %y: tensor<4x2xf32>, %d0: tensor<4x6xf32>)
// CHECK-NEXT:    %s = hl.slice %x start=[0, 1] stop=[4, 8] step=[1, 2] : tensor<4x8xf32> -> tensor<4x4xf32>
// CHECK-NEXT:    %c = hl.concat %s, %y dim=1 : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x6xf32>
// CHECK-NEXT:    %[[L:.*]] = hl.slice %d0 start=[0, 0] stop=[4, 4] step=[1, 1] : tensor<4x6xf32> -> tensor<4x4xf32>
// CHECK-NEXT:    %[[DY:.*]] = hl.slice %d0 start=[0, 4] stop=[4, 6] step=[1, 1] : tensor<4x6xf32> -> tensor<4x2xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.pad %[[L]] low=[0, 1] high=[0, 0] interior=[0, 1] value=0.0 : tensor<4x4xf32> -> tensor<4x8xf32>
// CHECK-NEXT:    func.return %c, %[[DX]], %[[DY]]
func.func @slicing(%x: tensor<4x8xf32>, %y: tensor<4x2xf32>) -> tensor<4x6xf32> attributes {autodiff} {
  %s = hl.slice %x start=[0, 1] stop=[4, 8] step=[1, 2] : tensor<4x8xf32> -> tensor<4x4xf32>
  %c = hl.concat %s, %y dim=1 : (tensor<4x4xf32>, tensor<4x2xf32>) -> tensor<4x6xf32>
  func.return %c : tensor<4x6xf32>
}
