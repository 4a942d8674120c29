// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// sum: the cotangent broadcast back; max: shared evenly among the tied maxima.
// CHECK-LABEL: func.func @reduce_vjp(%x: tensor<2x3xf32>, %d0: tensor<3xf32>, %d1: tensor<2xf32>)
// CHECK-NEXT:    %s = hl.reduce_sum %x dims=[0] : tensor<2x3xf32> -> tensor<3xf32>
// CHECK-NEXT:    %m = hl.reduce_max %x dims=[1] : tensor<2x3xf32> -> tensor<2xf32>
// CHECK-NEXT:    %[[MB:.*]] = hl.broadcast_in_dim %m dims=[0] : tensor<2xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    %[[HIT:.*]] = hl.eq %x, %[[MB]] : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
// CHECK-NEXT:    %[[HITF:.*]] = hl.cast %[[HIT]] : tensor<2x3xi1> -> tensor<2x3xf32>
// CHECK-NEXT:    %[[CNT:.*]] = hl.reduce_sum %[[HITF]] dims=[1] : tensor<2x3xf32> -> tensor<2xf32>
// CHECK-NEXT:    %[[CNTB:.*]] = hl.broadcast_in_dim %[[CNT]] dims=[0] : tensor<2xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    %[[CTB:.*]] = hl.broadcast_in_dim %d1 dims=[0] : tensor<2xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    %[[P:.*]] = hl.mul %[[CTB]], %[[HITF]] : tensor<2x3xf32>
// CHECK-NEXT:    %[[DMAX:.*]] = hl.div %[[P]], %[[CNTB]] : tensor<2x3xf32>
// CHECK-NEXT:    %[[DSUM:.*]] = hl.broadcast_in_dim %d0 dims=[1] : tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.add %[[DMAX]], %[[DSUM]] : tensor<2x3xf32>
// CHECK-NEXT:    func.return %s, %m, %[[DX]]
func.func @reduce(%x: tensor<2x3xf32>) -> (tensor<3xf32>, tensor<2xf32>) attributes {autodiff} {
  %s = hl.reduce_sum %x dims=[0] : tensor<2x3xf32> -> tensor<3xf32>
  %m = hl.reduce_max %x dims=[1] : tensor<2x3xf32> -> tensor<2xf32>
  func.return %s, %m : tensor<3xf32>, tensor<2xf32>
}

// A full reduction of a scalar loss: the scalar cotangent is broadcast directly
// (the reshape to 1x1 that the rule makes folds into the broadcast).
// CHECK-LABEL: func.func @total_vjp(%x: tensor<2x3xf32>, %d0: tensor<f32>)
// CHECK-NEXT:    %s = hl.reduce_sum %x dims=[0, 1] : tensor<2x3xf32> -> tensor<f32>
// CHECK-NEXT:    %[[DX:.*]] = hl.broadcast_in_dim %d0 dims=[] : tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %s, %[[DX]]
func.func @total(%x: tensor<2x3xf32>) -> tensor<f32> attributes {autodiff} {
  %s = hl.reduce_sum %x dims=[0, 1] : tensor<2x3xf32> -> tensor<f32>
  func.return %s : tensor<f32>
}

// argmax has no gradient: the input's cotangent is zeros.
// CHECK-LABEL: func.func @arg_vjp(%x: tensor<2x3xf32>, %d0: tensor<2xi64>)
// CHECK-NEXT:    %a = hl.argmax %x dim=1 : tensor<2x3xf32> -> tensor<2xi64>
// CHECK-NEXT:    %[[Z:.*]] = hl.splat value=0.0 : tensor<2x3xf32>
// CHECK-NEXT:    func.return %a, %[[Z]]
func.func @arg(%x: tensor<2x3xf32>) -> tensor<2xi64> attributes {autodiff} {
  %a = hl.argmax %x dim=1 : tensor<2x3xf32> -> tensor<2xi64>
  func.return %a : tensor<2xi64>
}
