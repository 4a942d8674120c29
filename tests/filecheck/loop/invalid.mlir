// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @load_outside(%x: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  // CHECK: loop.load must be nested in a loop.kernel
  %v = loop.load %x[%c0] : memref<4xf32>
  func.return
}

// -----

func.func @wrong_rank(%x: memref<4x8xf32>) {
  loop.kernel "k" parallel [4] (%i) {
    // CHECK: loop.load: memref<4x8xf32> needs 2 indices, got 1
    %v = loop.load %x[%i] : memref<4x8xf32>
  }
  func.return
}

// -----

func.func @bad_kind(%x: memref<4xf32>) {
  loop.kernel "k" parallel [] () {
    %z = arith.constant 0.0 : f32
    // CHECK: loop.reduce: unknown kind 'sum'
    %s = loop.reduce "sum" [4] (%k) init(%z) {
      %v = loop.load %x[%k] : memref<4xf32>
      loop.yield %v : f32
    } : f32
  }
  func.return
}

// -----

func.func @bad_yield(%x: memref<4xf32>) {
  loop.kernel "k" parallel [] () {
    %z = arith.constant 0.0 : f64
    // CHECK: loop.reduce yields f32 but init is f64
    %s = loop.reduce "add" [4] (%k) init(%z) {
      %v = loop.load %x[%k] : memref<4xf32>
      loop.yield %v : f32
    } : f64
  }
  func.return
}

// -----

func.func @bad_store(%x: memref<4xf32>, %y: memref<4xf64>) {
  loop.kernel "k" parallel [4] (%i) {
    %v = loop.load %x[%i] : memref<4xf32>
    // CHECK: loop.store: value f32 does not match buffer memref<4xf64>
    "loop.store"(%v, %y, %i) : (f32, memref<4xf64>, index) -> ()
  }
  func.return
}

// -----

func.func @bad_matmul(%a: memref<4x16xf32>, %b: memref<16x8xf32>, %c: memref<4x4xf32>) {
  // CHECK: loop.matmul: output memref<4x4xf32> must have 32 elements (batch=1 m=4 n=8)
  loop.matmul %a, %b, %c batch=1 m=4 n=8 k=16 : memref<4x16xf32>, memref<16x8xf32>, memref<4x4xf32>
  func.return
}

// -----

func.func @bad_view(%a: memref<4x16xf32>) {
  // CHECK: loop.view: cannot view memref<4x16xf32> as memref<60xf32>
  %v = loop.view %a : memref<4x16xf32> -> memref<60xf32>
  func.return
}

// -----

func.func @nested_kernel() {
  loop.kernel "outer" parallel [2] (%i) {
    // CHECK: loop.kernel cannot be nested in another loop.kernel
    loop.kernel "inner" parallel [2] (%j) {
    }
  }
  func.return
}

// -----

func.func @for_outside() {
  // CHECK: loop.for must be nested in a loop.kernel
  loop.for [2] (%j) {
  }
  func.return
}
