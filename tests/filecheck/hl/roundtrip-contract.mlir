// RUN: lamina-opt %s | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @matmul
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<2x3x5xf64>, %d: tensor<2x5x7xf64>) -> (tensor<4x16xf32>, tensor<2x3x7xf64>) {
  // CHECK-NEXT: %0 = hl.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %0 = hl.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  // CHECK-NEXT: %1 = hl.matmul %c, %d : (tensor<2x3x5xf64>, tensor<2x5x7xf64>) -> tensor<2x3x7xf64>
  %1 = hl.matmul %c, %d : (tensor<2x3x5xf64>, tensor<2x5x7xf64>) -> tensor<2x3x7xf64>
  func.return %0, %1 : tensor<4x16xf32>, tensor<2x3x7xf64>
}

// CHECK-LABEL: func.func @conv
func.func @conv(%x: tensor<2x4x8x8xf32>, %w: tensor<6x2x3x3xf32>, %v: tensor<1x3x9xf32>, %k: tensor<5x3x2xf32>) -> (tensor<2x6x4x4xf32>, tensor<1x5x14xf32>, tensor<2x6x6x6xf32>) {
  // CHECK-NEXT: %0 = hl.conv %x, %w stride=[2, 2] padding=[1, 1, 1, 1] dilation=[1, 1] groups=2 : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x4x4xf32>
  %0 = hl.conv %x, %w stride=[2, 2] padding=[1, 1, 1, 1] dilation=[1, 1] groups=2 : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x4x4xf32>
  // CHECK-NEXT: %1 = hl.conv %v, %k stride=[1] padding=[0, -1] dilation=[2] groups=1 input_dilation=[2] : (tensor<1x3x9xf32>, tensor<5x3x2xf32>) -> tensor<1x5x14xf32>
  %1 = hl.conv %v, %k stride=[1] padding=[0, -1] dilation=[2] groups=1 input_dilation=[2] : (tensor<1x3x9xf32>, tensor<5x3x2xf32>) -> tensor<1x5x14xf32>
  // CHECK-NEXT: %2 = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=2 : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x6x6xf32>
  %2 = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=2 : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x6x6xf32>
  func.return %0, %1, %2 : tensor<2x6x4x4xf32>, tensor<1x5x14xf32>, tensor<2x6x6x6xf32>
}

// CHECK-LABEL: func.func @pooling
func.func @pooling(%x: tensor<2x3x8x8xf32>) -> (tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<2x3x8x8xf32>) {
  // CHECK-NEXT: %0 = hl.reduce_window %x kind="max" window=[1, 1, 3, 3] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 1, 1, 1, 1] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  %0 = hl.reduce_window %x kind="max" window=[1, 1, 3, 3] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 1, 1, 1, 1] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  // CHECK-NEXT: %1 = hl.reduce_window %x kind="sum" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] dilation=[1, 1, 1, 1] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  %1 = hl.reduce_window %x kind="sum" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] dilation=[1, 1, 1, 1] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
  // CHECK-NEXT: %2 = hl.reduce_window %1 kind="sum" window=[1, 1, 2, 2] strides=[1, 1, 1, 1] padding=[0, 0, 0, 0, 1, 1, 1, 1] input_dilation=[1, 1, 2, 2] : tensor<2x3x4x4xf32> -> tensor<2x3x8x8xf32>
  %2 = hl.reduce_window %1 kind="sum" window=[1, 1, 2, 2] strides=[1, 1, 1, 1] padding=[0, 0, 0, 0, 1, 1, 1, 1] input_dilation=[1, 1, 2, 2] : tensor<2x3x4x4xf32> -> tensor<2x3x8x8xf32>
  func.return %0, %1, %2 : tensor<2x3x4x4xf32>, tensor<2x3x4x4xf32>, tensor<2x3x8x8xf32>
}

// CHECK-LABEL: func.func @max_pool_grad
func.func @max_pool_grad(%x: tensor<2x3x8x8xf32>, %ct: tensor<2x3x4x4xf32>) -> (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>) {
  // CHECK-NEXT: %0 = hl.select_and_scatter_add %x, %ct window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>) -> tensor<2x3x8x8xf32>
  %0 = hl.select_and_scatter_add %x, %ct window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>) -> tensor<2x3x8x8xf32>
  // CHECK-NEXT: %1 = hl.select_and_gather %x, %0 window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32>
  %1 = hl.select_and_gather %x, %0 window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32>
  func.return %0, %1 : tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>
}
