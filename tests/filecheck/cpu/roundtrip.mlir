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
