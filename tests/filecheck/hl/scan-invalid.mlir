// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @scan_kind(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: scan-invalid.mlir:[[# @LINE + 1]]:3: error: hl.scan: kind must be one of add, mul, max, min, logaddexp, got 'sub'
  %r = hl.scan %x kind="sub" dim=1 reverse=false : tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

func.func @scan_dim(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: scan-invalid.mlir:[[# @LINE + 1]]:3: error: hl.scan: dim 2 out of range for rank 2
  %r = hl.scan %x kind="add" dim=2 reverse=false : tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}

// -----

func.func @logaddexp_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // CHECK: scan-invalid.mlir:[[# @LINE + 1]]:3: error: hl.scan: logaddexp scans floats
  %r = hl.scan %x kind="logaddexp" dim=0 reverse=false : tensor<4xi32>
  func.return %r : tensor<4xi32>
}

// -----

func.func @scatter_kind(%i: tensor<3xi64>, %u: tensor<3x4xf32>) -> tensor<10x4xf32> {
  // CHECK: scan-invalid.mlir:[[# @LINE + 1]]:3: error: hl.scatter_reduce: kind must be one of mul, max, min, got 'add'
  %r = hl.scatter_reduce %i, %u axis=0 kind="add" : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
  func.return %r : tensor<10x4xf32>
}
