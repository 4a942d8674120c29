// RUN: lamina-opt %s -p cpu-column-reduce --split-input-file | filecheck %s

// A column sum (stride 64 along the reduction, unit stride along the kernel's j):
// j is tiled by 32 lanes whose accumulators live in a stack buffer, and the rows
// are walked outermost.

// CHECK-LABEL: func.func @colsum
// CHECK:       cpu.kernel "colsum_0" parallel [2] (%{{.*}}) omp args(
// CHECK:         %[[ACC:.*]] = memref.alloca() : memref<32xf32>
// CHECK:         cpu.for [32] (%{{.*}}) simd {
// CHECK:           cpu.store %{{.*}}, %[[ACC]][%{{.*}}] : memref<32xf32>
// CHECK:         cpu.for [128] (%[[I:.*]]) {
// CHECK-NEXT:      cpu.for [32] (%[[L:.*]]) simd {
// CHECK:             %[[OLD:.*]] = cpu.load %[[ACC]][%[[L]]] : memref<32xf32>
// CHECK-NEXT:        %[[NEW:.*]] = arith.addf %[[OLD]], %{{.*}} : f32
// CHECK-NEXT:        cpu.store %[[NEW]], %[[ACC]][%[[L]]] : memref<32xf32>
// CHECK:         cpu.for [32] (%{{.*}}) simd {
// CHECK:           %[[S:.*]] = cpu.load %[[ACC]]
// CHECK:           cpu.store %[[S]], %{{.*}}[%{{.*}}] : memref<64xf32>
// CHECK-NOT:   cpu.reduce
func.func @colsum(%x: memref<128x64xf32>, %out: memref<64xf32>) {
  cpu.kernel "colsum_0" parallel [64] (%j) omp args(%a = %x, %o = %out : memref<128x64xf32>, memref<64xf32>) {
    %z = arith.constant 0.0 : f32
    %c64 = arith.constant 64 : index
    %s = cpu.reduce "add" [128] (%i) init(%z : f32) -> f32 {
      %r = arith.muli %i, %c64 : index
      %off = arith.addi %r, %j : index
      %v = cpu.load %a[%off] : memref<128x64xf32>
      cpu.yield %v : f32
    }
    cpu.store %s, %o[%j] : memref<64xf32>
  }
  func.return
}

// -----

// A row sum already reads contiguous memory: unchanged.

// CHECK-LABEL: func.func @rowsum
// CHECK:       cpu.kernel "rowsum_0" parallel [128] (%{{.*}})
// CHECK-NEXT:    arith.constant
// CHECK-NEXT:    arith.constant
// CHECK-NEXT:    cpu.reduce "add" [64]
func.func @rowsum(%x: memref<128x64xf32>, %out: memref<128xf32>) {
  cpu.kernel "rowsum_0" parallel [128] (%i) omp args(%a = %x, %o = %out : memref<128x64xf32>, memref<128xf32>) {
    %z = arith.constant 0.0 : f32
    %c64 = arith.constant 64 : index
    %s = cpu.reduce "add" [64] (%j) init(%z : f32) -> f32 {
      %r = arith.muli %i, %c64 : index
      %off = arith.addi %r, %j : index
      %v = cpu.load %a[%off] : memref<128x64xf32>
      cpu.yield %v : f32
    }
    cpu.store %s, %o[%i] : memref<128xf32>
  }
  func.return
}
