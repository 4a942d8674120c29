// RUN: lamina-opt %s -p autodiff,canonicalize,cse,dce | filecheck %s

// The gradient of a two-layer tanh MLP, pinned exactly: after canonicalize, cse and
// dce there are no zero-adds, no multiplications by a broadcast 1, no duplicated
// forward ops, no identity reshapes and no dead values. The forward is computed
// once and reused by the backward (%a feeds both tanh' and the w2 gradient).

func.func @mlp(%x: tensor<8x4xf32>, %w1: tensor<4x16xf32>, %b1: tensor<16xf32>, %w2: tensor<16x2xf32>) -> tensor<f32> attributes {autodiff} {
  %h = hl.matmul %x, %w1 : (tensor<8x4xf32>, tensor<4x16xf32>) -> tensor<8x16xf32>
  %bb = hl.broadcast_in_dim %b1 dims=[1] : tensor<16xf32> -> tensor<8x16xf32>
  %hb = hl.add %h, %bb : tensor<8x16xf32>
  %a = hl.tanh %hb : tensor<8x16xf32>
  %y = hl.matmul %a, %w2 : (tensor<8x16xf32>, tensor<16x2xf32>) -> tensor<8x2xf32>
  %sq = hl.mul %y, %y : tensor<8x2xf32>
  %l = hl.reduce_sum %sq dims=[0, 1] : tensor<8x2xf32> -> tensor<f32>
  func.return %l : tensor<f32>
}

// CHECK-LABEL: func.func @mlp(
// CHECK:         func.return %l : tensor<f32>

// CHECK-LABEL: func.func @mlp_vjp(%x: tensor<8x4xf32>, %w1: tensor<4x16xf32>, %b1: tensor<16xf32>, %w2: tensor<16x2xf32>, %d0: tensor<f32>) -> (tensor<f32>, tensor<8x4xf32>, tensor<4x16xf32>, tensor<16xf32>, tensor<16x2xf32>) {
// CHECK-NEXT:    %h = hl.matmul %x, %w1 : (tensor<8x4xf32>, tensor<4x16xf32>) -> tensor<8x16xf32>
// CHECK-NEXT:    %bb = hl.broadcast_in_dim %b1 dims=[1] : tensor<16xf32> -> tensor<8x16xf32>
// CHECK-NEXT:    %hb = hl.add %h, %bb : tensor<8x16xf32>
// CHECK-NEXT:    %a = hl.tanh %hb : tensor<8x16xf32>
// CHECK-NEXT:    %y = hl.matmul %a, %w2 : (tensor<8x16xf32>, tensor<16x2xf32>) -> tensor<8x2xf32>
// CHECK-NEXT:    %sq = hl.mul %y, %y : tensor<8x2xf32>
// CHECK-NEXT:    %l = hl.reduce_sum %sq dims=[0, 1] : tensor<8x2xf32> -> tensor<f32>
// CHECK-NEXT:    %[[CT:.*]] = hl.broadcast_in_dim %d0 dims=[] : tensor<f32> -> tensor<8x2xf32>
// CHECK-NEXT:    %[[DY1:.*]] = hl.mul %[[CT]], %y : tensor<8x2xf32>
// CHECK-NEXT:    %[[DY:.*]] = hl.add %[[DY1]], %[[DY1]] : tensor<8x2xf32>
// CHECK-NEXT:    %[[W2T:.*]] = hl.transpose %w2 perm=[1, 0] : tensor<16x2xf32> -> tensor<2x16xf32>
// CHECK-NEXT:    %[[DA:.*]] = hl.matmul %[[DY]], %[[W2T]] : (tensor<8x2xf32>, tensor<2x16xf32>) -> tensor<8x16xf32>
// CHECK-NEXT:    %[[AT:.*]] = hl.transpose %a perm=[1, 0] : tensor<8x16xf32> -> tensor<16x8xf32>
// CHECK-NEXT:    %[[DW2:.*]] = hl.matmul %[[AT]], %[[DY]] : (tensor<16x8xf32>, tensor<8x2xf32>) -> tensor<16x2xf32>
// CHECK-NEXT:    %[[A2:.*]] = hl.mul %a, %a : tensor<8x16xf32>
// CHECK-NEXT:    %[[ONE:.*]] = hl.splat value=1.0 : tensor<8x16xf32>
// CHECK-NEXT:    %[[D:.*]] = hl.sub %[[ONE]], %[[A2]] : tensor<8x16xf32>
// CHECK-NEXT:    %[[DH:.*]] = hl.mul %[[DA]], %[[D]] : tensor<8x16xf32>
// CHECK-NEXT:    %[[DB1:.*]] = hl.reduce_sum %[[DH]] dims=[0] : tensor<8x16xf32> -> tensor<16xf32>
// CHECK-NEXT:    %[[W1T:.*]] = hl.transpose %w1 perm=[1, 0] : tensor<4x16xf32> -> tensor<16x4xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.matmul %[[DH]], %[[W1T]] : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
// CHECK-NEXT:    %[[XT:.*]] = hl.transpose %x perm=[1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
// CHECK-NEXT:    %[[DW1:.*]] = hl.matmul %[[XT]], %[[DH]] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT:    func.return %l, %[[DX]], %[[DW1]], %[[DB1]], %[[DW2]] : tensor<f32>, tensor<8x4xf32>, tensor<4x16xf32>, tensor<16xf32>, tensor<16x2xf32>
// CHECK-NEXT:  }
