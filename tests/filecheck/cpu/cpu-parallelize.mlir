// RUN: lamina-opt %s -p cpu-parallelize --split-input-file | filecheck %s

// Straight-line kernels: the innermost dim is a vector loop; the threads split one dim
// (`parallel for simd`), the fewest outer dims giving 64 iterations, or all of them
// when the outer dims give fewer.

// CHECK-LABEL: func.func @elementwise
// CHECK:       cpu.kernel "flat" parallel [4096] (%i) omp collapse(1) simd args(
// CHECK:       cpu.kernel "rows" parallel [64, 128] (%i, %j) omp collapse(1) simd args(
// CHECK:       cpu.kernel "deep" parallel [8, 16, 4, 32] (%i, %j, %k, %l) omp collapse(2) simd args(
// CHECK:       cpu.kernel "short" parallel [4, 1024] (%i, %j) omp collapse(2) args(
// CHECK:       cpu.kernel "one_thread" parallel [4, 8] (%i, %j) simd args(
func.func @elementwise(%x: memref<4096xf32>, %y: memref<64x128xf32>, %z: memref<8x16x4x32xf32>) {
  cpu.kernel "flat" parallel [4096] (%i) omp args(%a = %x : memref<4096xf32>) {
    %v = cpu.load %a[%i] : memref<4096xf32>
    cpu.store %v, %a[%i] : memref<4096xf32>
  }
  cpu.kernel "rows" parallel [64, 128] (%i, %j) omp args(%a = %y : memref<64x128xf32>) {
    %v = cpu.load %a[%j] : memref<64x128xf32>
    cpu.store %v, %a[%j] : memref<64x128xf32>
  }
  cpu.kernel "deep" parallel [8, 16, 4, 32] (%i, %j, %k, %l) omp args(%a = %z : memref<8x16x4x32xf32>) {
    %v = cpu.load %a[%l] : memref<8x16x4x32xf32>
    cpu.store %v, %a[%l] : memref<8x16x4x32xf32>
  }
  cpu.kernel "short" parallel [4, 1024] (%i, %j) omp args(%a = %x : memref<4096xf32>) {
    %v = cpu.load %a[%j] : memref<4096xf32>
    cpu.store %v, %a[%j] : memref<4096xf32>
  }
  cpu.kernel "one_thread" parallel [4, 8] (%i, %j) args(%a = %y : memref<64x128xf32>) {
    %v = cpu.load %a[%j] : memref<64x128xf32>
    cpu.store %v, %a[%j] : memref<64x128xf32>
  }
  func.return
}

// -----

// A kernel holding loops: the threads split every dim, nothing is simd at its level.
// Its reductions are vector loops: the whole nest, or only the innermost loop of a
// nest whose innermost runs 16 times or more; an argmax runs in order.

// CHECK-LABEL: func.func @reductions
// CHECK:       cpu.kernel "k" parallel [32, 8] (%c, %d) omp collapse(2) args(
// CHECK:         cpu.reduce "add" [128] (%k) simd init(
// CHECK:         cpu.reduce "add" [4, 28, 28] (%{{.*}}) simd inner init(
// CHECK:         cpu.reduce "max" [4, 8] (%{{.*}}) simd init(
// CHECK:         cpu.reduce "argmax" [128] (%{{.*}}) init(
func.func @reductions(%x: memref<128xf32>, %out: memref<32x8xf32>) {
  cpu.kernel "k" parallel [32, 8] (%c, %d) omp args(%a = %x, %o = %out : memref<128xf32>, memref<32x8xf32>) {
    %zero = arith.constant 0.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %s = cpu.reduce "add" [128] (%k) init(%zero : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    %t = cpu.reduce "add" [4, 28, 28] (%k, %l, %m) init(%s : f32) -> f32 {
      %v = cpu.load %a[%m] : memref<128xf32>
      cpu.yield %v : f32
    }
    %u = cpu.reduce "max" [4, 8] (%k, %l) init(%t : f32) -> f32 {
      %v = cpu.load %a[%l] : memref<128xf32>
      cpu.yield %v : f32
    }
    %w, %wi = cpu.reduce "argmax" [128] (%k) init(%u : f32) -> f32, i64 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    cpu.store %w, %o[%c0] : memref<32x8xf32>
  }
  func.return
}
