// RUN: lamina-opt %s -p donate-buffers --split-input-file | filecheck %s

// p <- p - lr * g, elementwise: the output %new_p is written into %p's buffer.

// CHECK-LABEL: func.func @sgd
// CHECK-SAME:  lamina.donated = array<i64: 0>
// CHECK:       loop.load %p[%i] : memref<8xf32>
// CHECK:       loop.store %n, %p[%i] : memref<8xf32>
// CHECK-NOT:   %new_p[
func.func @sgd(%p: memref<8xf32>, %g: memref<8xf32>, %new_p: memref<8xf32>) attributes {lamina.donate = array<i64: 0>} {
  loop.kernel "sub_0" parallel [8] (%i) {
    %lr = arith.constant 0.1 : f32
    %v = loop.load %p[%i] : memref<8xf32>
    %d = loop.load %g[%i] : memref<8xf32>
    %s = arith.mulf %d, %lr : f32
    %n = arith.subf %v, %s : f32
    loop.store %n, %new_p[%i] : memref<8xf32>
  }
  func.return
}

// -----

// p <- p + p[::-1] reads p at another element than it writes: not donated.

// CHECK-LABEL: func.func @flip
// CHECK-SAME:  lamina.donated = array<i64: -1>
// CHECK:       loop.store %n, %new_p[%i] : memref<8xf32>
func.func @flip(%p: memref<8xf32>, %new_p: memref<8xf32>) attributes {lamina.donate = array<i64: 0>} {
  loop.kernel "add_0" parallel [8] (%i) {
    %c7 = arith.constant 7 : index
    %j = arith.subi %c7, %i : index
    %a = loop.load %p[%i] : memref<8xf32>
    %b = loop.load %p[%j] : memref<8xf32>
    %n = arith.addf %a, %b : f32
    loop.store %n, %new_p[%i] : memref<8xf32>
  }
  func.return
}

// -----

// A later kernel reads the old value of p (returned as output 1): not donated.

// CHECK-LABEL: func.func @read_after
// CHECK-SAME:  lamina.donated = array<i64: -1, -1>
func.func @read_after(%p: memref<4xf32>, %new_p: memref<4xf32>, %old: memref<4xf32>) attributes {lamina.donate = array<i64: 0, -1>} {
  loop.kernel "mul_0" parallel [4] (%i) {
    %c = arith.constant 2.0 : f32
    %v = loop.load %p[%i] : memref<4xf32>
    %n = arith.mulf %v, %c : f32
    loop.store %n, %new_p[%i] : memref<4xf32>
  }
  loop.kernel "copy_1" parallel [4] (%i) {
    %v = loop.load %p[%i] : memref<4xf32>
    loop.store %v, %old[%i] : memref<4xf32>
  }
  func.return
}

// -----

// A store inside an inner loop that does not index by its variable writes one
// element several times: not donated.

// CHECK-LABEL: func.func @repeated
// CHECK-SAME:  lamina.donated = array<i64: -1>
func.func @repeated(%p: memref<4xf32>, %new_p: memref<4xf32>) attributes {lamina.donate = array<i64: 0>} {
  loop.kernel "acc_0" parallel [4] (%i) {
    loop.for [3] (%k) {
      %v = loop.load %p[%i] : memref<4xf32>
      %n = arith.addf %v, %v : f32
      loop.store %n, %new_p[%i] : memref<4xf32>
    }
  }
  func.return
}

// -----

// The update reads a gather checked at run time: a fault raises after the call, so the
// parameter must still hold its old value then: not donated.

// CHECK-LABEL: func.func @checked
// CHECK-SAME:  lamina.donated = array<i64: -1>
// CHECK:       loop.store %n, %new_p[%i] : memref<8xf32>
func.func @checked(%p: memref<8xf32>, %ix: memref<8xi64>, %g: memref<8xf32>, %new_p: memref<8xf32>) attributes {lamina.donate = array<i64: 0>} {
  loop.kernel "sub_0" parallel [8] (%i) {
    %k = loop.load %ix[%i] : memref<8xi64>
    %j = arith.index_cast %k : i64 to index
    %c = "check.index"(%j) <{size = 8 : i64, what = "hl.gather"}> : (index) -> index
    %v = loop.load %p[%i] : memref<8xf32>
    %d = loop.load %g[%c] : memref<8xf32>
    %n = arith.subf %v, %d : f32
    loop.store %n, %new_p[%i] : memref<8xf32>
  }
  func.return
}
