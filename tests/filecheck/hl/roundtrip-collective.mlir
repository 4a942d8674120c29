// RUN: lamina-opt %s | lamina-opt | filecheck %s
// Every collective op prints and parses back unchanged.

// CHECK-LABEL: func.func @collectives
func.func @collectives(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  // CHECK-NEXT: %0 = hl.all_reduce %x op="avg" : tensor<4x8xf32>
  %0 = hl.all_reduce %x op="avg" : tensor<4x8xf32>
  // CHECK-NEXT: %1 = hl.all_gather %0 dim=0 world_size=2 : tensor<4x8xf32> -> tensor<8x8xf32>
  %1 = hl.all_gather %0 dim=0 world_size=2 : tensor<4x8xf32> -> tensor<8x8xf32>
  // CHECK-NEXT: %2 = hl.reduce_scatter %x op="sum" dim=0 world_size=2 : tensor<4x8xf32> -> tensor<2x8xf32>
  %2 = hl.reduce_scatter %x op="sum" dim=0 world_size=2 : tensor<4x8xf32> -> tensor<2x8xf32>
  // CHECK-NEXT: %3 = hl.broadcast %x src=1 : tensor<4x8xf32>
  %3 = hl.broadcast %x src=1 : tensor<4x8xf32>
  // CHECK-NEXT: %4 = hl.reduce_to %x dst=0 op="max" : tensor<4x8xf32>
  %4 = hl.reduce_to %x dst=0 op="max" : tensor<4x8xf32>
  // CHECK-NEXT: %5 = hl.all_reduce %x op="sum" bucket=3 : tensor<4x8xf32>
  %5 = hl.all_reduce %x op="sum" bucket=3 : tensor<4x8xf32>
  func.return %0, %1, %2, %3, %4 : tensor<4x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
