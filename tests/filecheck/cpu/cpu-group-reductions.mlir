// RUN: lamina-opt %s -p cpu-group-reductions --split-input-file | filecheck %s

// sum(x) + 2 * max(x) per row: the element rules give reduce, mulf, reduce; the two
// reductions share one loop (one read of the row) and the mulf moves after it.

// CHECK-LABEL: func.func @sum_and_max
// CHECK:         %[[S:.*]], %[[M:.*]] = cpu.reduce "add", "max" [128] (%k) init(%zero, %ninf : f32, f32) -> f32, f32 {
// CHECK-NEXT:      %[[R:.*]] = arith.muli %i, %c128 : index
// CHECK-NEXT:      %[[O:.*]] = arith.addi %[[R]], %k : index
// CHECK-NEXT:      %[[V:.*]] = cpu.load %a[%[[O]]] : memref<64x128xf32>
// CHECK-NEXT:      %[[R2:.*]] = arith.muli %i, %c128 : index
// CHECK-NEXT:      %[[O2:.*]] = arith.addi %[[R2]], %k : index
// CHECK-NEXT:      %[[W:.*]] = cpu.load %a[%[[O2]]] : memref<64x128xf32>
// CHECK-NEXT:      cpu.yield %[[V]], %[[W]] : f32, f32
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[T:.*]] = arith.mulf %[[S]], %two : f32
// CHECK-NEXT:    %{{.*}} = arith.addf %[[T]], %[[M]] : f32
func.func @sum_and_max(%x: memref<64x128xf32>, %out: memref<64xf32>) {
  cpu.kernel "k" parallel [64] (%i) args(%a = %x, %o = %out : memref<64x128xf32>, memref<64xf32>) {
    %zero = arith.constant 0.000000e+00 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %two = arith.constant 2.000000e+00 : f32
    %c128 = arith.constant 128 : index
    %s = cpu.reduce "add" [128] (%k) init(%zero : f32) -> f32 {
      %r = arith.muli %i, %c128 : index
      %off = arith.addi %r, %k : index
      %v = cpu.load %a[%off] : memref<64x128xf32>
      cpu.yield %v : f32
    }
    %t = arith.mulf %s, %two : f32
    %m = cpu.reduce "max" [128] (%l) init(%ninf : f32) -> f32 {
      %r2 = arith.muli %i, %c128 : index
      %off2 = arith.addi %r2, %l : index
      %w = cpu.load %a[%off2] : memref<64x128xf32>
      cpu.yield %w : f32
    }
    %y = arith.addf %t, %m : f32
    cpu.store %y, %o[%i] : memref<64xf32>
  }
  func.return
}

// -----

// softmax's sum reads the max: two loops.

// CHECK-LABEL: func.func @sum_reads_max
// CHECK:         %m = cpu.reduce "max" [128]
// CHECK:         %s = cpu.reduce "add" [128]
func.func @sum_reads_max(%x: memref<128xf32>, %out: memref<1xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x, %o = %out : memref<128xf32>, memref<1xf32>) {
    %zero = arith.constant 0.000000e+00 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %c0 = arith.constant 0 : index
    %m = cpu.reduce "max" [128] (%k) init(%ninf : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    %s = cpu.reduce "add" [128] (%l) init(%zero : f32) -> f32 {
      %w = cpu.load %a[%l] : memref<128xf32>
      %d = arith.subf %w, %m : f32
      %e = math.exp %d : f32
      cpu.yield %e : f32
    }
    cpu.store %s, %o[%c0] : memref<1xf32>
  }
  func.return
}

// -----

// A scalar op between them that the second reduction reads, reductions over other
// spaces, and an argmax (which reduces alone): nothing is grouped.

// CHECK-LABEL: func.func @apart
// CHECK:         %s = cpu.reduce "add" [128]
// CHECK:         %p = cpu.reduce "mul" [128]
// CHECK:         %q = cpu.reduce "add" [64]
// CHECK:         %am, %ai = cpu.reduce "argmax" [64]
// CHECK:         %r = cpu.reduce "add" [64]
func.func @apart(%x: memref<128xf32>, %out: memref<4xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x, %o = %out : memref<128xf32>, memref<4xf32>) {
    %zero = arith.constant 0.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %s = cpu.reduce "add" [128] (%k) init(%zero : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    %one = arith.addf %zero, %zero : f32
    %p = cpu.reduce "mul" [128] (%k) init(%one : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    %q = cpu.reduce "add" [64] (%k) init(%zero : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    %am, %ai = cpu.reduce "argmax" [64] (%k) init(%zero : f32) -> f32, i64 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    %r = cpu.reduce "add" [64] (%k) init(%am : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<128xf32>
      cpu.yield %v : f32
    }
    cpu.store %s, %o[%c0] : memref<4xf32>
    cpu.store %p, %o[%c0] : memref<4xf32>
    cpu.store %q, %o[%c0] : memref<4xf32>
    cpu.store %r, %o[%c0] : memref<4xf32>
  }
  func.return
}
