// RUN: lamina-opt %s | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @all_ops
// CHECK:       cpu.kernel "k_0" parallel [4, 8] (%i, %j) omp args(%a = %x, %b = %y : memref<4x8xf32>, memref<4xi64>) {
// CHECK:         %s, %idx = cpu.reduce "argmax" [2, 4] (%k, %l) init(%z : f32) -> f32, i64 {
// CHECK:           %v = cpu.load %a[%o] if %t else %z : memref<4x8xf32>
// CHECK-NEXT:      cpu.yield %v : f32
// CHECK:         cpu.for [8] (%m) simd {
// CHECK:         cpu.store %idx, %b[%i] : memref<4xi64>
// CHECK:       %w = cpu.view %x : memref<4x8xf32> -> memref<32xf32>
// CHECK-NEXT:  cpu.gemm %x, %g, %mm batch=1 m=4 n=3 k=8 transpose_a accumulate : memref<4x8xf32>, memref<8x3xf32>, memref<4x3xf32>
func.func @all_ops(%x: memref<4x8xf32>, %y: memref<4xi64>, %g: memref<8x3xf32>, %mm: memref<4x3xf32>) {
  cpu.kernel "k_0" parallel [4, 8] (%i, %j) omp args(%a = %x, %b = %y : memref<4x8xf32>, memref<4xi64>) {
    %z = arith.constant 0.0 : f32
    %t = arith.constant true
    %s, %idx = cpu.reduce "argmax" [2, 4] (%k, %l) init(%z : f32) -> f32, i64 {
      %o = arith.addi %k, %l : index
      %v = cpu.load %a[%o] if %t else %z : memref<4x8xf32>
      cpu.yield %v : f32
    }
    cpu.for [8] (%m) simd {
      %e = cpu.load %a[%m] : memref<4x8xf32>
    }
    cpu.store %idx, %b[%i] : memref<4xi64>
  }
  %w = cpu.view %x : memref<4x8xf32> -> memref<32xf32>
  cpu.gemm %x, %g, %mm batch=1 m=4 n=3 k=8 transpose_a accumulate : memref<4x8xf32>, memref<8x3xf32>, memref<4x3xf32>
  func.return
}

// The decisions of the cpu -> cpu passes: threaded dims and simd on kernels, simd and
// several kinds on reductions, a versioned loop.

// CHECK-LABEL: func.func @decisions
// CHECK:       cpu.kernel "k_1" parallel [64, 8] (%p, %q) omp collapse(1) simd args(%pa = %x : memref<4x8xf32>) {
// CHECK:       cpu.kernel "k_2" parallel [4] (%r) simd args(%ra = %x : memref<4x8xf32>) {
// CHECK:         %rs, %rm = cpu.reduce "add", "max" [8] (%r0) simd init(%rz, %rz : f32, f32) -> f32, f32 {
// CHECK:           cpu.yield %rv, %rv : f32, f32
// CHECK:         %rt = cpu.reduce "mul" [2, 16] (%r1, %r2) simd inner init(%rs : f32) -> f32 {
// CHECK:         cpu.if %ok {
// CHECK-NEXT:      cpu.for [8] (%r3) simd {
// CHECK:         } else {
// CHECK-NEXT:      cpu.for [8] (%r4) {
// CHECK:         cpu.if %ok {
// CHECK-NEXT:      cpu.store
// CHECK-NEXT:    }
// CHECK-NEXT:  }
func.func @decisions(%x: memref<4x8xf32>) {
  cpu.kernel "k_1" parallel [64, 8] (%p, %q) omp collapse(1) simd args(%pa = %x : memref<4x8xf32>) {
    %pv = cpu.load %pa[%q] : memref<4x8xf32>
    cpu.store %pv, %pa[%q] : memref<4x8xf32>
  }
  cpu.kernel "k_2" parallel [4] (%r) simd args(%ra = %x : memref<4x8xf32>) {
    %rz = arith.constant 0.0 : f32
    %rs, %rm = cpu.reduce "add", "max" [8] (%r0) simd init(%rz, %rz : f32, f32) -> f32, f32 {
      %rv = cpu.load %ra[%r0] : memref<4x8xf32>
      cpu.yield %rv, %rv : f32, f32
    }
    %rt = cpu.reduce "mul" [2, 16] (%r1, %r2) simd inner init(%rs : f32) -> f32 {
      %rw = cpu.load %ra[%r2] : memref<4x8xf32>
      cpu.yield %rw : f32
    }
    %ok = arith.cmpf olt, %rt, %rm : f32
    cpu.if %ok {
      cpu.for [8] (%r3) simd {
        cpu.store %rt, %ra[%r3] : memref<4x8xf32>
      }
    } else {
      cpu.for [8] (%r4) {
        cpu.store %rm, %ra[%r4] : memref<4x8xf32>
      }
    }
    cpu.if %ok {
      cpu.store %rm, %ra[%r] : memref<4x8xf32>
    }
  }
  func.return
}
