// RUN: lamina-opt %s | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK-NEXT: %0 = hl.neg %x : tensor<4x8xf32>
  %0 = hl.neg %x : tensor<4x8xf32>
  // CHECK-NEXT: %1 = hl.exp %0 : tensor<4x8xf32>
  %1 = hl.exp %0 : tensor<4x8xf32>
  // CHECK-NEXT: %2 = hl.tanh %1 : tensor<4x8xf32>
  %2 = hl.tanh %1 : tensor<4x8xf32>
  func.return %2 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @binary
func.func @binary(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xi1> {
  // CHECK-NEXT: %0 = hl.add %a, %b : tensor<4xf32>
  %0 = hl.add %a, %b : tensor<4xf32>
  // CHECK-NEXT: %1 = hl.lt %0, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %1 = hl.lt %0, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  func.return %1 : tensor<4xi1>
}
