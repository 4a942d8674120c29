// RUN: lamina-opt %s | lamina-opt | filecheck %s
// Every indexing and random op prints and parses back unchanged.

// CHECK-LABEL: func.func @slice_pad
func.func @slice_pad(%x: tensor<4x8xf32>) -> tensor<5x7xf32> {
  // CHECK-NEXT: %0 = hl.slice %x start=[0, 1] stop=[4, 8] step=[1, 2] : tensor<4x8xf32> -> tensor<4x4xf32>
  %0 = hl.slice %x start=[0, 1] stop=[4, 8] step=[1, 2] : tensor<4x8xf32> -> tensor<4x4xf32>
  // CHECK-NEXT: %1 = hl.pad %0 low=[1, 0] high=[0, -1] interior=[0, 1] value=0.5 : tensor<4x4xf32> -> tensor<5x6xf32>
  %1 = hl.pad %0 low=[1, 0] high=[0, -1] interior=[0, 1] value=0.5 : tensor<4x4xf32> -> tensor<5x6xf32>
  // CHECK-NEXT: %2 = hl.pad %1 low=[0, 0] high=[0, 1] interior=[0, 0] value=0.0 : tensor<5x6xf32> -> tensor<5x7xf32>
  %2 = hl.pad %1 low=[0, 0] high=[0, 1] interior=[0, 0] value=0.0 : tensor<5x6xf32> -> tensor<5x7xf32>
  // CHECK-NEXT: func.return %2 : tensor<5x7xf32>
  func.return %2 : tensor<5x7xf32>
}

// CHECK-LABEL: func.func @concat_reverse
func.func @concat_reverse(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x11xf32> {
  // CHECK-NEXT: %0 = hl.concat %a, %b, %a dim=1 : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x11xf32>
  %0 = hl.concat %a, %b, %a dim=1 : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x11xf32>
  // CHECK-NEXT: %1 = hl.reverse %0 dims=[0, 1] : tensor<2x11xf32>
  %1 = hl.reverse %0 dims=[0, 1] : tensor<2x11xf32>
  // CHECK-NEXT: func.return %1 : tensor<2x11xf32>
  func.return %1 : tensor<2x11xf32>
}

// CHECK-LABEL: func.func @gather_scatter
func.func @gather_scatter(%t: tensor<10x4xf32>, %i: tensor<2x3xi64>) -> tensor<10x4xf32> {
  // CHECK-NEXT: %0 = hl.gather %t, %i axis=0 : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  %0 = hl.gather %t, %i axis=0 : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: %1 = hl.scatter_add %i, %0 axis=0 : (tensor<2x3xi64>, tensor<2x3x4xf32>) -> tensor<10x4xf32>
  %1 = hl.scatter_add %i, %0 axis=0 : (tensor<2x3xi64>, tensor<2x3x4xf32>) -> tensor<10x4xf32>
  // CHECK-NEXT: func.return %1 : tensor<10x4xf32>
  func.return %1 : tensor<10x4xf32>
}

// CHECK-LABEL: func.func @random
func.func @random(%seed: tensor<i64>) -> (tensor<4x8xf32>, tensor<3xf16>, tensor<5xi64>) {
  // CHECK-NEXT: %0 = hl.random %seed dist="uniform" : tensor<i64> -> tensor<4x8xf32>
  %0 = hl.random %seed dist="uniform" : tensor<i64> -> tensor<4x8xf32>
  // CHECK-NEXT: %1 = hl.random %seed dist="normal" : tensor<i64> -> tensor<3xf16>
  %1 = hl.random %seed dist="normal" : tensor<i64> -> tensor<3xf16>
  // CHECK-NEXT: %2 = hl.random %seed dist="bits" : tensor<i64> -> tensor<5xi64>
  %2 = hl.random %seed dist="bits" : tensor<i64> -> tensor<5xi64>
  // CHECK-NEXT: func.return %0, %1, %2 : tensor<4x8xf32>, tensor<3xf16>, tensor<5xi64>
  func.return %0, %1, %2 : tensor<4x8xf32>, tensor<3xf16>, tensor<5xi64>
}
