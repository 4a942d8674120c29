// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// The transpose of a prefix sum is a suffix sum: the same scan, reversed.
// CHECK-LABEL: func.func @cumsum_vjp(%x: tensor<4x8xf32>, %d0: tensor<4x8xf32>)
// CHECK-NEXT:    %0 = hl.scan %x kind="add" dim=1 reverse=false : tensor<4x8xf32>
// CHECK-NEXT:    %1 = hl.scan %d0 kind="add" dim=1 reverse=true : tensor<4x8xf32>
// CHECK-NEXT:    func.return %0, %1
func.func @cumsum(%x: tensor<4x8xf32>) -> tensor<4x8xf32> attributes {autodiff} {
  %0 = hl.scan %x kind="add" dim=1 reverse=false : tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}

// cumprod's rule scans again (no division by a zero): counts of zeros, a product with
// the first zero made 1, suffix sums.
// CHECK-LABEL: func.func @cumprod_vjp
// CHECK:         hl.scan %{{.*}} kind="add" dim=0 reverse=false : tensor<5xi64>
// CHECK:         hl.scan %{{.*}} kind="mul" dim=0 reverse=false : tensor<5xf32>
// CHECK:         hl.scan %{{.*}} kind="add" dim=0 reverse=true : tensor<5xf32>
func.func @cumprod(%x: tensor<5xf32>) -> tensor<5xf32> attributes {autodiff} {
  %0 = hl.scan %x kind="mul" dim=0 reverse=false : tensor<5xf32>
  func.return %0 : tensor<5xf32>
}
