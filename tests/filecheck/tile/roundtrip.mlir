// RUN: lamina-opt %s | lamina-opt | filecheck %s
// Every tile op prints and parses back.

// CHECK-LABEL: tile.kernel @k(%x: !tile.ptr<f32>, %i: !tile.ptr<i64>, %out: !tile.ptr<f32>) {
tile.kernel @k(%x: !tile.ptr<f32>, %i: !tile.ptr<i64>, %out: !tile.ptr<f32>) {
  // CHECK-NEXT: %pid = tile.program_id 0
  %pid = tile.program_id 0
  // CHECK-NEXT: %r = tile.arange 0, 16 : tensor<16xi32>
  %r = tile.arange 0, 16 : tensor<16xi32>
  %c = arith.constant 10 : i32
  // CHECK: %cs = tile.splat %c : i32 -> tensor<16xi32>
  %cs = tile.splat %c : i32 -> tensor<16xi32>
  // CHECK-NEXT: %m = tile.cmp "slt", %r, %cs : tensor<16xi32>
  %m = tile.cmp "slt", %r, %cs : tensor<16xi32>
  // CHECK-NEXT: %v = tile.load %x[%r] mask %m : !tile.ptr<f32>, tensor<16xi32> -> tensor<16xf32>, tensor<16xi1>
  %v = tile.load %x[%r] mask %m : !tile.ptr<f32>, tensor<16xi32> -> tensor<16xf32>, tensor<16xi1>
  // CHECK-NEXT: %s = tile.reduce "max" %v 0 : tensor<16xf32> -> f32
  %s = tile.reduce "max" %v 0 : tensor<16xf32> -> f32
  // CHECK-NEXT: %f = tile.cast %r "signed" : tensor<16xi32> -> tensor<16xf32>
  %f = tile.cast %r "signed" : tensor<16xi32> -> tensor<16xf32>
  // CHECK-NEXT: %w = tile.where %m, %f, %v : tensor<16xi1>, tensor<16xf32>
  %w = tile.where %m, %f, %v : tensor<16xi1>, tensor<16xf32>
  // CHECK-NEXT: %ri = tile.cast %r "signed" : tensor<16xi32> -> tensor<16xi64>
  %ri = tile.cast %r "signed" : tensor<16xi32> -> tensor<16xi64>
  // CHECK-NEXT: %av, %ai = tile.argreduce "argmax" %w, %ri 0 : tensor<16xf32>, tensor<16xi64> -> f32, i64
  %av, %ai = tile.argreduce "argmax" %w, %ri 0 : tensor<16xf32>, tensor<16xi64> -> f32, i64
  // CHECK-NEXT: %e = tile.expand_dims %r 1 : tensor<16xi32> -> tensor<16x1xi32>
  %e = tile.expand_dims %r 1 : tensor<16xi32> -> tensor<16x1xi32>
  // CHECK-NEXT: %b = tile.broadcast %e : tensor<16x1xi32> -> tensor<16x16xi32>
  %b = tile.broadcast %e : tensor<16x1xi32> -> tensor<16x16xi32>
  // CHECK-NEXT: %tr = tile.trans %b : tensor<16x16xi32> -> tensor<16x16xi32>
  %tr = tile.trans %b : tensor<16x16xi32> -> tensor<16x16xi32>
  // CHECK-NEXT: %bl = tile.load %x[%b] : !tile.ptr<f32>, tensor<16x16xi32> -> tensor<16x16xf32>
  %bl = tile.load %x[%b] : !tile.ptr<f32>, tensor<16x16xi32> -> tensor<16x16xf32>
  // CHECK-NEXT: %d = tile.dot %bl, %bl, %bl "tf32" : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
  %d = tile.dot %bl, %bl, %bl "tf32" : tensor<16x16xf32>, tensor<16x16xf32> -> tensor<16x16xf32>
  // CHECK-NEXT: tile.store %w, %out[%r] mask %m : tensor<16xf32>, !tile.ptr<f32>, tensor<16xi32>, tensor<16xi1>
  tile.store %w, %out[%r] mask %m : tensor<16xf32>, !tile.ptr<f32>, tensor<16xi32>, tensor<16xi1>
  // CHECK-NEXT: tile.return
  tile.return
}
// CHECK: tile.launch @k grid array<i64: 2, 1, 1> warps 4 stages 1(%a, %b, %c) : memref<16xf32>, memref<16xi64>, memref<16xf32>
func.func @main(%a: memref<16xf32>, %b: memref<16xi64>, %c: memref<16xf32>) {
  tile.launch @k grid array<i64: 2, 1, 1> warps 4 stages 1 (%a, %b, %c) : memref<16xf32>, memref<16xi64>, memref<16xf32>
  func.return
}
