// RUN: lamina-opt %s | lamina-opt | filecheck %s
// hl.scan, hl.argsort and hl.scatter_reduce print and parse back unchanged.

// CHECK-LABEL: func.func @scans
func.func @scans(%x: tensor<4x8xf32>, %n: tensor<5xi32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<5xi32>) {
  // CHECK-NEXT: %0 = hl.scan %x kind="add" dim=1 reverse=false : tensor<4x8xf32>
  %0 = hl.scan %x kind="add" dim=1 reverse=false : tensor<4x8xf32>
  // CHECK-NEXT: %1 = hl.scan %x kind="logaddexp" dim=0 reverse=true : tensor<4x8xf32>
  %1 = hl.scan %x kind="logaddexp" dim=0 reverse=true : tensor<4x8xf32>
  // CHECK-NEXT: %2 = hl.scan %n kind="max" dim=0 reverse=false : tensor<5xi32>
  %2 = hl.scan %n kind="max" dim=0 reverse=false : tensor<5xi32>
  // CHECK-NEXT: func.return %0, %1, %2
  func.return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<5xi32>
}

// CHECK-LABEL: func.func @sorting
func.func @sorting(%x: tensor<4x8xf32>, %i: tensor<3xi64>, %u: tensor<3x4xf32>) -> (tensor<4x8xi64>, tensor<10x4xf32>) {
  // CHECK-NEXT: %0 = hl.argsort %x dim=1 descending=true : tensor<4x8xf32> -> tensor<4x8xi64>
  %0 = hl.argsort %x dim=1 descending=true : tensor<4x8xf32> -> tensor<4x8xi64>
  // CHECK-NEXT: %1 = hl.scatter_reduce %i, %u axis=0 kind="mul" : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
  %1 = hl.scatter_reduce %i, %u axis=0 kind="mul" : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
  // CHECK-NEXT: func.return %0, %1
  func.return %0, %1 : tensor<4x8xi64>, tensor<10x4xf32>
}
