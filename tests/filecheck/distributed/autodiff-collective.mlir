// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s
// (here, not in autodiff/: tests/test_autodiff.py runs every function there by finite
// differences in one process, and collectives need ranks: tests/distributed_grads.py)

// all_reduce sum transposes to all_reduce sum of the cotangent; all_gather to
// reduce_scatter (sum); broadcast to reduce_to its source.
// CHECK-LABEL: func.func @comm_vjp(%x: tensor<2x3xf32>, %d0: tensor<2x3xf32>, %d1: tensor<4x3xf32>, %d2: tensor<2x3xf32>)
// CHECK-NEXT:    %s = hl.all_reduce %x op="sum" : tensor<2x3xf32>
// CHECK-NEXT:    %g = hl.all_gather %x dim=0 world_size=2 : tensor<2x3xf32> -> tensor<4x3xf32>
// CHECK-NEXT:    %b = hl.broadcast %x src=1 : tensor<2x3xf32>
// CHECK-NEXT:    %[[DB:.*]] = hl.reduce_to %d2 dst=1 op="sum" : tensor<2x3xf32>
// CHECK-NEXT:    %[[DG:.*]] = hl.reduce_scatter %d1 op="sum" dim=0 world_size=2 : tensor<4x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    %[[A:.*]] = hl.add %[[DB]], %[[DG]] : tensor<2x3xf32>
// CHECK-NEXT:    %[[DS:.*]] = hl.all_reduce %d0 op="sum" : tensor<2x3xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.add %[[A]], %[[DS]] : tensor<2x3xf32>
// CHECK-NEXT:    func.return %s, %g, %b, %[[DX]]
func.func @comm(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<4x3xf32>, tensor<2x3xf32>) attributes {autodiff} {
  %s = hl.all_reduce %x op="sum" : tensor<2x3xf32>
  %g = hl.all_gather %x dim=0 world_size=2 : tensor<2x3xf32> -> tensor<4x3xf32>
  %b = hl.broadcast %x src=1 : tensor<2x3xf32>
  func.return %s, %g, %b : tensor<2x3xf32>, tensor<4x3xf32>, tensor<2x3xf32>
}

// reduce_scatter avg: all_gather of the cotangent, divided by the world size.
// CHECK-LABEL: func.func @scatter_vjp(%x: tensor<4xf32>, %d0: tensor<2xf32>)
// CHECK-NEXT:    %r = hl.reduce_scatter %x op="avg" dim=0 world_size=2 : tensor<4xf32> -> tensor<2xf32>
// CHECK-NEXT:    %[[G:.*]] = hl.all_gather %d0 dim=0 world_size=2 : tensor<2xf32> -> tensor<4xf32>
// CHECK-NEXT:    %[[H:.*]] = hl.splat value=2.0 : tensor<4xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.div %[[G]], %[[H]] : tensor<4xf32>
// CHECK-NEXT:    func.return %r, %[[DX]]
func.func @scatter(%x: tensor<4xf32>) -> tensor<2xf32> attributes {autodiff} {
  %r = hl.reduce_scatter %x op="avg" dim=0 world_size=2 : tensor<4xf32> -> tensor<2xf32>
  func.return %r : tensor<2xf32>
}
