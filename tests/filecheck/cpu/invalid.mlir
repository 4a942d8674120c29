// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @bad_yield(%x: memref<4xf32>) {
  cpu.kernel "k" parallel [4] (%i) args(%a = %x : memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    // CHECK: cpu.reduce: yields i64 but init is f32
    %s = cpu.reduce "add" [4] (%k) init(%z : f32) -> f32 {
      %n = arith.constant 1 : i64
      cpu.yield %n : i64
    }
  }
  func.return
}

// -----

func.func @bad_kind(%x: memref<4xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x : memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    // CHECK: cpu.reduce: unknown kind 'sum'
    %s = cpu.reduce "sum" [4] (%k) init(%z : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<4xf32>
      cpu.yield %v : f32
    }
  }
  func.return
}

// -----

func.func @bad_gemm(%a: memref<4x8xf32>, %b: memref<8x3xf32>, %c: memref<4x4xf32>) {
  // CHECK: cpu.gemm: c is memref<4x4xf32> but batch=1 m=4 n=3 k=8 needs 12 elements
  cpu.gemm %a, %b, %c batch=1 m=4 n=3 k=8 : memref<4x8xf32>, memref<8x3xf32>, memref<4x4xf32>
  func.return
}

// -----

func.func @bad_view(%a: memref<4x8xf32>) {
  // CHECK: cpu.view: memref<4x8xf32> and memref<30xf32> differ in element type or count
  %v = cpu.view %a : memref<4x8xf32> -> memref<30xf32>
  func.return
}

// -----

func.func @gemm_view_past_end(%a: memref<2x4x24xf32>, %c: memref<2x4x4x4xf32>) {
  // CHECK: cpu.gemm: b: the view reaches past the buffer's 192 elements
  cpu.gemm %a, %a, %c batch=8 m=4 n=4 k=2 transpose_b views [2, 4] a=[0, 24, 96, 2] b=[8, 24, 96, 9] c=[0, 4, 64, 16] : memref<2x4x24xf32>, memref<2x4x24xf32>, memref<2x4x4x4xf32>
  func.return
}

// -----

func.func @collapse_too_deep(%x: memref<4x8xf32>) {
  // CHECK: cpu.kernel: collapse(3) must be in [1, 2] for 2 parallel dims
  cpu.kernel "k" parallel [4, 8] (%i, %j) omp collapse(3) args(%a = %x : memref<4x8xf32>) {
  }
  func.return
}

// -----

func.func @collapse_without_omp(%x: memref<4x8xf32>) {
  // CHECK: cpu.kernel: collapse needs omp
  cpu.kernel "k" parallel [4, 8] (%i, %j) collapse(1) args(%a = %x : memref<4x8xf32>) {
  }
  func.return
}

// -----

func.func @simd_without_dims(%x: memref<4xf32>) {
  // CHECK: cpu.kernel: simd needs at least one parallel dim
  cpu.kernel "k" parallel [] () simd args(%a = %x : memref<4xf32>) {
  }
  func.return
}

// -----

func.func @reduce_simd_name(%x: memref<4xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x : memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    // CHECK: cpu.reduce: simd 'outer' is not one of ('nest', 'inner')
    %s = "cpu.reduce"(%z) <{kinds = ["add"], bounds = array<i64: 4>, simd = "outer"}> ({
    ^bb0(%k: index):
      %v = cpu.load %a[%k] : memref<4xf32>
      cpu.yield %v : f32
    }) : (f32) -> f32
  }
  func.return
}

// -----

func.func @simd_inner_one_loop(%x: memref<4xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x : memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    // CHECK: cpu.reduce: simd inner needs two or more loops
    %s = cpu.reduce "add" [4] (%k) simd inner init(%z : f32) -> f32 {
      %v = cpu.load %a[%k] : memref<4xf32>
      cpu.yield %v : f32
    }
  }
  func.return
}

// -----

func.func @simd_argmax(%x: memref<4xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x : memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    // CHECK: cpu.reduce 'argmax' over [4]: no simd loop
    %s, %i = cpu.reduce "argmax" [4] (%k) simd init(%z : f32) -> f32, i64 {
      %v = cpu.load %a[%k] : memref<4xf32>
      cpu.yield %v : f32
    }
  }
  func.return
}

// -----

func.func @argmax_in_company(%x: memref<4xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x : memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    // CHECK: cpu.reduce: argmax/argmin reduce alone, not with ['add', 'argmax']
    %s, %m, %i = cpu.reduce "add", "argmax" [4] (%k) init(%z, %z : f32, f32) -> f32, f32, i64 {
      %v = cpu.load %a[%k] : memref<4xf32>
      cpu.yield %v, %v : f32, f32
    }
  }
  func.return
}

// -----

func.func @yields_too_few(%x: memref<4xf32>) {
  cpu.kernel "k" parallel [] () args(%a = %x : memref<4xf32>) {
    %z = arith.constant 0.0 : f32
    // CHECK: cpu.reduce: the body must end with a `cpu.yield` of 2 value(s)
    %s, %m = cpu.reduce "add", "max" [4] (%k) init(%z, %z : f32, f32) -> f32, f32 {
      %v = cpu.load %a[%k] : memref<4xf32>
      cpu.yield %v : f32
    }
  }
  func.return
}
