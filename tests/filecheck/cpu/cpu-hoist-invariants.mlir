// RUN: lamina-opt %s -p cpu-hoist-invariants --split-input-file | filecheck %s

// A scale loaded from a 0-d buffer and multiplied by a constant: the load and the
// product run before the kernel, the product is a scalar arg; the constant the kernel
// no longer uses goes with them, the per-element load stays.

// CHECK-LABEL: func.func @scaled
// CHECK-NEXT:    %[[Z:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[S:.*]] = cpu.load %ct[%[[Z]]] : memref<f32>
// CHECK-NEXT:    %[[K:.*]] = arith.constant 1.000000e+02 : f32
// CHECK-NEXT:    %[[M:.*]] = arith.mulf %[[S]], %[[K]] : f32
// CHECK-NEXT:    cpu.kernel "scale" parallel [4] (%i) args(%c = %ct, %a = %w, %o = %out, %[[P:.*]] = %[[M]] : memref<f32>, memref<4xf32>, memref<4xf32>, f32) {
// CHECK-NEXT:      %x = cpu.load %a[%i] : memref<4xf32>
// CHECK-NEXT:      %y = arith.mulf %x, %[[P]] : f32
// CHECK-NEXT:      cpu.store %y, %o[%i] : memref<4xf32>
// CHECK-NEXT:    }
func.func @scaled(%ct: memref<f32>, %w: memref<4xf32>, %out: memref<4xf32>) {
  cpu.kernel "scale" parallel [4] (%i) args(%c = %ct, %a = %w, %o = %out : memref<f32>, memref<4xf32>, memref<4xf32>) {
    %z = arith.constant 0 : index
    %k = arith.constant 100.0 : f32
    %s = cpu.load %c[%z] : memref<f32>
    %m = arith.mulf %s, %k : f32
    %x = cpu.load %a[%i] : memref<4xf32>
    %y = arith.mulf %x, %m : f32
    cpu.store %y, %o[%i] : memref<4xf32>
  }
  func.return
}

// -----

// A buffer the kernel writes may change between iterations: its loads stay, and so
// does what is computed from them.

// CHECK-LABEL: func.func @in_place
// CHECK-NEXT:    cpu.kernel "shift" parallel [4] (%i) args(%a = %buf : memref<4xf32>) {
// CHECK-NEXT:      %z = arith.constant 0 : index
// CHECK-NEXT:      %first = cpu.load %a[%z] : memref<4xf32>
// CHECK-NEXT:      %twice = arith.addf %first, %first : f32
// CHECK-NEXT:      cpu.store %twice, %a[%i] : memref<4xf32>
func.func @in_place(%buf: memref<4xf32>) {
  cpu.kernel "shift" parallel [4] (%i) args(%a = %buf : memref<4xf32>) {
    %z = arith.constant 0 : index
    %first = cpu.load %a[%z] : memref<4xf32>
    %twice = arith.addf %first, %first : f32
    cpu.store %twice, %a[%i] : memref<4xf32>
  }
  func.return
}

// -----

// An empty kernel runs no iteration, so it reads nothing: nothing moves.

// CHECK-LABEL: func.func @empty
// CHECK-NEXT:    cpu.kernel "none" parallel [0] (%i) args(%c = %ct, %o = %out : memref<f32>, memref<0xf32>) {
// CHECK-NEXT:      %z = arith.constant 0 : index
// CHECK-NEXT:      %s = cpu.load %c[%z] : memref<f32>
func.func @empty(%ct: memref<f32>, %out: memref<0xf32>) {
  cpu.kernel "none" parallel [0] (%i) args(%c = %ct, %o = %out : memref<f32>, memref<0xf32>) {
    %z = arith.constant 0 : index
    %s = cpu.load %c[%z] : memref<f32>
    cpu.store %s, %o[%i] : memref<0xf32>
  }
  func.return
}
