// RUN: lamina-opt %s -p lower-hl-to-loop --split-input-file | filecheck %s

// A scan is ONE kernel parallel over the other dims: the first element is stored, then a
// seq_for walks the line combining what it stored one step before with the next input.
// CHECK-LABEL: func.func @cumsum(%0: memref<4x8xf32>, %1: memref<4x8xf32>)
// CHECK-NEXT:    loop.kernel "scan_0" parallel [4] (%2) {
// CHECK-NEXT:      %3 = arith.constant 0 : index
// CHECK-NEXT:      %4 = arith.constant 1 : index
// CHECK-NEXT:      %5 = loop.load %0[%2, %3] : memref<4x8xf32>
// CHECK-NEXT:      loop.store %5, %1[%2, %3] : memref<4x8xf32>
// CHECK-NEXT:      loop.seq_for [7] (%6) {
// CHECK-NEXT:        %7 = arith.addi %6, %4 : index
// CHECK-NEXT:        %8 = loop.load %1[%2, %6] : memref<4x8xf32>
// CHECK-NEXT:        %9 = loop.load %0[%2, %7] : memref<4x8xf32>
// CHECK-NEXT:        %10 = arith.addf %8, %9 : f32
// CHECK-NEXT:        loop.store %10, %1[%2, %7] : memref<4x8xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:    }
func.func @cumsum(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = hl.scan %x kind="add" dim=1 reverse=false : tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}

// -----

// Reversed, along dim 0: the walk starts at the last row and reads n-1-k, writes n-2-k.
// CHECK-LABEL: func.func @suffix_max(%0: memref<4x8xf32>, %1: memref<4x8xf32>)
// CHECK:         loop.kernel "scan_0" parallel [8] (%2) {
// CHECK:           loop.seq_for [3] (%[[K:.*]]) {
// CHECK-NEXT:        %[[P:.*]] = arith.subi %{{.*}}, %[[K]] : index
// CHECK-NEXT:        %[[C:.*]] = arith.subi %{{.*}}, %[[K]] : index
// CHECK-NEXT:        %[[A:.*]] = loop.load %1[%[[P]], %2] : memref<4x8xf32>
// CHECK-NEXT:        %[[X:.*]] = loop.load %0[%[[C]], %2] : memref<4x8xf32>
// CHECK-NEXT:        %[[M:.*]] = arith.maximumf %[[A]], %[[X]] : f32
// CHECK-NEXT:        loop.store %[[M]], %1[%[[C]], %2] : memref<4x8xf32>
func.func @suffix_max(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = hl.scan %x kind="max" dim=0 reverse=true : tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}

// -----

// argsort is a rank sort: each element counts the elements sorting before it (smaller,
// NaN last, or equal at a smaller index) in a reduction, and stores its index there.
// CHECK-LABEL: func.func @argsort(%0: memref<4x8xf32>, %1: memref<4x8xi64>)
// CHECK-NEXT:    loop.kernel "argsort_0" parallel [4, 8] (%2, %3) {
// CHECK:           %[[I:.*]] = arith.index_cast %3 : index to i64
// CHECK:           %[[R:.*]] = loop.reduce "add" [8] (%{{.*}}) init(%{{.*}}) {
// CHECK:             arith.cmpf olt
// CHECK:             loop.yield %{{.*}} : i64
// CHECK-NEXT:      } : i64
// CHECK-NEXT:      %[[AT:.*]] = arith.index_cast %[[R]] : i64 to index
// CHECK-NEXT:      loop.store %[[I]], %1[%2, %[[AT]]] : memref<4x8xi64>
func.func @argsort(%x: tensor<4x8xf32>) -> tensor<4x8xi64> {
  %0 = hl.argsort %x dim=1 descending=false : tensor<4x8xf32> -> tensor<4x8xi64>
  func.return %0 : tensor<4x8xi64>
}

// -----

// scatter_reduce is lowered as scatter_add: the column filled with the identity (-inf
// for max), then a checked read-modify-write per update, in index order.
// CHECK-LABEL: func.func @scatter_max(%0: memref<3xi64>, %1: memref<3x4xf32>, %2: memref<10x4xf32>)
// CHECK-NEXT:    loop.kernel "scatter_reduce_0" parallel [4] (%3) {
// CHECK-NEXT:      %4 = arith.constant 0xff800000 : f32
// CHECK-NEXT:      loop.for [10] (%5) {
// CHECK-NEXT:        loop.store %4, %2[%5, %3] : memref<10x4xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      loop.seq_for [3] (%6) {
// CHECK-NEXT:        %7 = loop.load %0[%6] : memref<3xi64>
// CHECK-NEXT:        %8 = arith.index_cast %7 : i64 to index
// CHECK-NEXT:        %9 = "check.index"(%8)
// CHECK-NEXT:        %10 = loop.load %2[%9, %3] : memref<10x4xf32>
// CHECK-NEXT:        %11 = loop.load %1[%6, %3] : memref<3x4xf32>
// CHECK-NEXT:        %12 = arith.maximumf %10, %11 : f32
// CHECK-NEXT:        loop.store %12, %2[%9, %3] : memref<10x4xf32>
func.func @scatter_max(%i: tensor<3xi64>, %u: tensor<3x4xf32>) -> tensor<10x4xf32> {
  %0 = hl.scatter_reduce %i, %u axis=0 kind="max" : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
  func.return %0 : tensor<10x4xf32>
}
