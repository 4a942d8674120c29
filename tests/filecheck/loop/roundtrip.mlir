// RUN: lamina-opt %s | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @softmax
func.func @softmax(%x: memref<4x8xf32>, %out0: memref<4x8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  // CHECK: loop.kernel "softmax_0" parallel [4] (%i) {
  loop.kernel "softmax_0" parallel [4] (%i) {
    %zero = arith.constant 0.000000e+00 : f32
    // CHECK: %m = loop.reduce "max" [8] (%k) init(%ninf) {
    %m = loop.reduce "max" [8] (%k) init(%ninf) {
      // CHECK-NEXT: %v = loop.load %x[%i, %k] : memref<4x8xf32>
      %v = loop.load %x[%i, %k] : memref<4x8xf32>
      // CHECK-NEXT: loop.yield %v : f32
      loop.yield %v : f32
    // CHECK-NEXT: } : f32
    } : f32
    %s = loop.reduce "add" [8] (%k) init(%zero) {
      %v = loop.load %x[%i, %k] : memref<4x8xf32>
      %d = arith.subf %v, %m : f32
      %e = math.exp %d : f32
      loop.yield %e : f32
    } : f32
    // CHECK: loop.for [8] (%{{.*}}) {
    loop.for [8] (%k) {
      %v = loop.load %x[%i, %k] : memref<4x8xf32>
      %d = arith.subf %v, %m : f32
      %e = math.exp %d : f32
      %r = arith.divf %e, %s : f32
      // CHECK: loop.store %r, %out0[%i, %{{.*}}] : memref<4x8xf32>
      loop.store %r, %out0[%i, %k] : memref<4x8xf32>
    }
  }
  func.return
}

// CHECK-LABEL: func.func @misc
func.func @misc(%a: memref<2x4x16xf16>, %b: memref<16x8xf16>, %idx: memref<3xi64>, %out0: memref<2x4x8xf16>, %out1: memref<4xi64>, %out2: memref<8xf32>) {
  // CHECK: loop.matmul %a, %b, %out0 batch=2 m=4 n=8 k=16 : memref<2x4x16xf16>, memref<16x8xf16>, memref<2x4x8xf16>
  loop.matmul %a, %b, %out0 batch=2 m=4 n=8 k=16 : memref<2x4x16xf16>, memref<16x8xf16>, memref<2x4x8xf16>
  // CHECK: loop.matmul %a, %b, %out0 batch=1 m=8 n=8 k=16 transpose_b accumulate : memref<2x4x16xf16>, memref<16x8xf16>, memref<2x4x8xf16>
  loop.matmul %a, %b, %out0 batch=1 m=8 n=8 k=16 transpose_b accumulate : memref<2x4x16xf16>, memref<16x8xf16>, memref<2x4x8xf16>
  // CHECK: %v = loop.view %a : memref<2x4x16xf16> -> memref<8x16xf16>
  %v = loop.view %a : memref<2x4x16xf16> -> memref<8x16xf16>
  %t = memref.alloc() : memref<8xf32>
  // CHECK: loop.kernel "argmax_1" parallel [4] (%i) {
  loop.kernel "argmax_1" parallel [4] (%i) {
    %ninf = arith.constant 0xFF800000 : f32
    // CHECK: %m, %p = loop.reduce "argmax" [2, 16] (%b0, %k) init(%ninf) {
    %m, %p = loop.reduce "argmax" [2, 16] (%b0, %k) init(%ninf) {
      %h = loop.load %a[%b0, %i, %k] : memref<2x4x16xf16>
      %f = arith.extf %h : f16 to f32
      loop.yield %f : f32
    // CHECK: } : f32, i64
    } : f32, i64
    loop.store %p, %out1[%i] : memref<4xi64>
  }
  // CHECK: loop.kernel "scalar_2" parallel [] () {
  loop.kernel "scalar_2" parallel [] () {
    %c0 = arith.constant 0 : index
    %c9 = arith.constant 9 : index
    %z = arith.constant 0.0 : f32
    // CHECK: loop.seq_for [3] (%{{.*}}) {
    loop.seq_for [3] (%k) {
      %j = loop.load %idx[%k] : memref<3xi64>
      %jj = arith.index_cast %j : i64 to index
      %inb = arith.cmpi ult, %jj, %c9 : index
      // CHECK: %old = loop.load %t[%jj] if %inb else %z : memref<8xf32>
      %old = loop.load %t[%jj] if %inb else %z : memref<8xf32>
      loop.store %old, %out2[%jj] : memref<8xf32>
    }
  }
  memref.dealloc %t : memref<8xf32>
  func.return
}
