// RUN: lamina-opt %s -p cpu-hoist-reciprocals --split-input-file | filecheck %s

// Two divisions by a row's value in the column loop: one reciprocal before the loop,
// products in the copy taken when 1/d is a normal number, the original loop otherwise.

// CHECK-LABEL: func.func @row_scale
// CHECK:         %[[DEN:.*]] = cpu.load %d[%i] : memref<64xf32>
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[RCP:.*]] = arith.divf %[[ONE]], %[[DEN]] : f32
// CHECK-NEXT:    %[[ABS:.*]] = math.absf %[[DEN]] : f32
// CHECK-NEXT:    %[[LO:.*]] = arith.constant 1.17549435e-38 : f32
// CHECK-NEXT:    %[[GE:.*]] = arith.cmpf oge, %[[ABS]], %[[LO]] : f32
// CHECK-NEXT:    %[[HI:.*]] = arith.constant 8.50705917e+37 : f32
// CHECK-NEXT:    %[[LE:.*]] = arith.cmpf ole, %[[ABS]], %[[HI]] : f32
// CHECK-NEXT:    %[[OK:.*]] = arith.andi %[[GE]], %[[LE]] : i1
// CHECK-NEXT:    cpu.if %[[OK]] {
// CHECK-NEXT:      cpu.for [128] (%k) simd {
// CHECK:             %[[V:.*]] = cpu.load %a
// CHECK-NEXT:        %[[Q:.*]] = arith.mulf %[[V]], %[[RCP]] : f32
// CHECK-NEXT:        %[[W:.*]] = arith.mulf %[[Q]], %[[RCP]] : f32
// CHECK-NEXT:        cpu.store %[[W]]
// CHECK-NEXT:      }
// CHECK-NEXT:    } else {
// CHECK-NEXT:      cpu.for [128] (%{{.*}}) simd {
// CHECK:             %[[V2:.*]] = cpu.load %a
// CHECK-NEXT:        %[[Q2:.*]] = arith.divf %[[V2]], %[[DEN]] : f32
// CHECK-NEXT:        %{{.*}} = arith.divf %[[Q2]], %[[DEN]] : f32
// CHECK:           }
// CHECK-NEXT:    }
func.func @row_scale(%x: memref<64x128xf32>, %s: memref<64xf32>, %out: memref<64x128xf32>) {
  cpu.kernel "scale_0" parallel [64] (%i) omp args(%a = %x, %d = %s, %o = %out : memref<64x128xf32>, memref<64xf32>, memref<64x128xf32>) {
    %c128 = arith.constant 128 : index
    %den = cpu.load %d[%i] : memref<64xf32>
    cpu.for [128] (%k) simd {
      %r = arith.muli %i, %c128 : index
      %off = arith.addi %r, %k : index
      %v = cpu.load %a[%off] : memref<64x128xf32>
      %q = arith.divf %v, %den : f32
      %w = arith.divf %q, %den : f32
      cpu.store %w, %o[%off] : memref<64x128xf32>
    }
  }
  func.return
}

// -----

// A divisor computed inside the loop: nothing to hoist.

// CHECK-LABEL: func.func @variant
// CHECK:         cpu.for [128] (%k) simd {
// CHECK:           arith.divf %v, %v : f32
// CHECK-NOT:     cpu.if
func.func @variant(%x: memref<128xf32>, %out: memref<128xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x, %o = %out : memref<128xf32>, memref<128xf32>) {
    cpu.for [128] (%k) simd {
      %v = cpu.load %a[%k] : memref<128xf32>
      %q = arith.divf %v, %v : f32
      cpu.store %q, %o[%k] : memref<128xf32>
    }
  }
  func.return
}

// -----

// f16 lives in float in C: the reciprocal is an f32 and the product is rounded back.

// CHECK-LABEL: func.func @half
// CHECK:         %[[WIDE:.*]] = arith.extf %s : f16 to f32
// CHECK-NEXT:    %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[RCP:.*]] = arith.divf %[[ONE]], %[[WIDE]] : f32
// CHECK:         cpu.if
// CHECK:           %[[X:.*]] = arith.extf %v : f16 to f32
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[X]], %[[RCP]] : f32
// CHECK-NEXT:      %[[Q:.*]] = arith.truncf %[[P]] : f32 to f16
// CHECK-NEXT:      cpu.store %[[Q]]
// CHECK:         } else {
func.func @half(%x: memref<16xf16>, %y: f16, %out: memref<16xf16>) {
  cpu.kernel "k" parallel [] () args(%a = %x, %s = %y, %o = %out : memref<16xf16>, f16, memref<16xf16>) {
    cpu.for [16] (%k) simd {
      %v = cpu.load %a[%k] : memref<16xf16>
      %q = arith.divf %v, %s : f16
      cpu.store %q, %o[%k] : memref<16xf16>
    }
  }
  func.return
}

// -----

// f64: 1/d is normal for |d| in [2^-1022, 2^1022].

// CHECK-LABEL: func.func @double
// CHECK:         arith.constant 2.2250738585072014e-308 : f64
// CHECK:         arith.constant 4.4942328371557898e+307 : f64
func.func @double(%x: memref<16xf64>, %y: f64, %out: memref<16xf64>) {
  cpu.kernel "k" parallel [] () args(%a = %x, %s = %y, %o = %out : memref<16xf64>, f64, memref<16xf64>) {
    cpu.for [16] (%k) simd {
      %v = cpu.load %a[%k] : memref<16xf64>
      %q = arith.divf %v, %s : f64
      cpu.store %q, %o[%k] : memref<16xf64>
    }
  }
  func.return
}

// -----

// Nested loops: the inner loop divides by a value of the outer one's iteration, so it
// is versioned inside the outer loop, whose own body divides by nothing invariant.

// CHECK-LABEL: func.func @nested
// CHECK:         cpu.for [4] (%r) {
// CHECK-NEXT:      %[[D:.*]] = cpu.load %a[%r]
// CHECK:           %[[RCP:.*]] = arith.divf %{{.*}}, %[[D]] : f32
// CHECK:           cpu.if %{{.*}} {
// CHECK-NEXT:        cpu.for [8] (%c) simd {
// CHECK-NEXT:          %[[V:.*]] = cpu.load %a[%c]
// CHECK-NEXT:          arith.mulf %[[V]], %[[RCP]] : f32
// CHECK:           } else {
// CHECK-NEXT:        cpu.for [8] (%{{.*}}) simd {
// CHECK-NEXT:          %[[V2:.*]] = cpu.load %a
// CHECK-NEXT:          arith.divf %[[V2]], %[[D]] : f32
func.func @nested(%x: memref<8xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x : memref<8xf32>) {
    cpu.for [4] (%r) {
      %d = cpu.load %a[%r] : memref<8xf32>
      cpu.for [8] (%c) simd {
        %v = cpu.load %a[%c] : memref<8xf32>
        %q = arith.divf %v, %d : f32
        cpu.store %q, %a[%c] : memref<8xf32>
      }
    }
  }
  func.return
}
