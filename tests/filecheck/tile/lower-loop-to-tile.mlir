// RUN: lamina-opt %s -p lower-loop-to-tile --split-input-file | filecheck %s
// lower-loop-to-tile: loop kernels become tile kernels plus host launches.

// An elementwise kernel: the parallel space is linearized and blocked (21 -> 32 lanes,
// masked), indices come back by div/mod.
func.func @main(%x: memref<3x7xf32>, %out: memref<3x7xf32>) {
  loop.kernel "exp_0" parallel [3, 7] (%i, %j) {
    %v = loop.load %x[%i, %j] : memref<3x7xf32>
    %e = math.exp %v : f32
    loop.store %e, %out[%i, %j] : memref<3x7xf32>
  }
  func.return
}

// CHECK-LABEL: tile.kernel @exp_0(%{{.*}}: !tile.ptr<f32>, %{{.*}}: !tile.ptr<f32>) {
// CHECK:         %[[PID:.*]] = tile.program_id 0
// CHECK:         %[[R:.*]] = tile.arange 0, 32 : tensor<32xi32>
// CHECK:         %[[M:.*]] = tile.cmp "slt", %{{.*}}, %{{.*}} : tensor<32xi32>
// CHECK:         arith.divsi
// CHECK:         arith.remsi
// CHECK:         %[[V:.*]] = tile.load %{{.*}}[%{{.*}}] mask %[[M]] : !tile.ptr<f32>, tensor<32xi32> -> tensor<32xf32>, tensor<32xi1>
// CHECK-NEXT:    %[[E:.*]] = math.exp %[[V]] : tensor<32xf32>
// CHECK:         tile.store %[[E]], %{{.*}}[%{{.*}}] mask %[[M]]
// CHECK-NEXT:    tile.return
// CHECK:       func.func @main(%x: memref<3x7xf32>, %out: memref<3x7xf32>) {
// CHECK-NEXT:    tile.launch @exp_0 grid array<i64: 1, 1, 1> warps 4 stages 1(%x, %out) : memref<3x7xf32>, memref<3x7xf32>
// CHECK-NEXT:    func.return

// -----

// A row reduction: one program per row, the row blocked (100 -> 128 lanes) and
// reduced with tile.reduce; the init is the identity of masked lanes.
func.func @main(%x: memref<4x100xf32>, %out: memref<4xf32>) {
  loop.kernel "sum_0" parallel [4] (%i) {
    %z = arith.constant 0.0 : f32
    %s = loop.reduce "add" [100] (%k) init(%z) {
      %v = loop.load %x[%i, %k] : memref<4x100xf32>
      loop.yield %v : f32
    } : f32
    loop.store %s, %out[%i] : memref<4xf32>
  }
  func.return
}

// CHECK-LABEL: tile.kernel @sum_0
// CHECK:         %[[PID:.*]] = tile.program_id 0
// CHECK:         %[[ACC:.*]] = tile.splat %{{.*}} : f32 -> tensor<128xf32>
// CHECK:         tile.arange 0, 128 : tensor<128xi32>
// CHECK:         %[[V:.*]] = tile.load
// CHECK:         %[[W:.*]] = tile.where %{{.*}}, %[[V]], %{{.*}} : tensor<128xi1>, tensor<128xf32>
// CHECK-NEXT:    %[[A:.*]] = arith.addf %[[ACC]], %[[W]] : tensor<128xf32>
// CHECK-NEXT:    %[[S:.*]] = tile.reduce "sum" %[[A]] 0 : tensor<128xf32> -> f32
// CHECK:         tile.store %[[S]], %{{.*}}[%{{.*}}] : f32, !tile.ptr<f32>, i32
// CHECK:       tile.launch @sum_0 grid array<i64: 4, 1, 1>

// -----

// A matmul: one tiled kernel with tl.dot in a loop over K, fp32 accumulation; only
// the sides that do not divide into blocks (n = 48 in blocks of 64) are masked.
func.func @main(%a: memref<32x64xf16>, %b: memref<64x48xf16>, %c: memref<32x48xf16>) {
  loop.matmul %a, %b, %c batch=1 m=32 n=48 k=64 : memref<32x64xf16>, memref<64x48xf16>, memref<32x48xf16>
  func.return
}

// CHECK-LABEL: tile.kernel @matmul
// CHECK:         tile.program_id 0
// CHECK:         tile.program_id 1
// CHECK:         tile.splat %{{.*}} : f32 -> tensor<32x64xf32>
// CHECK:         scf.for
// CHECK:           tile.load %a[%{{.*}}] : !tile.ptr<f16>, tensor<32x64xi32> -> tensor<32x64xf16>
// CHECK:           tile.load %b[%{{.*}}] mask %{{.*}} : !tile.ptr<f16>, tensor<64x64xi32> -> tensor<64x64xf16>, tensor<64x64xi1>
// CHECK:           tile.dot %{{.*}}, %{{.*}}, %{{.*}} "ieee" : tensor<32x64xf16>, tensor<64x64xf16> -> tensor<32x64xf32>
// CHECK:         tile.cast %{{.*}} "signed" : tensor<32x64xf32> -> tensor<32x64xf16>
// CHECK:         tile.store
// CHECK:       tile.launch @matmul grid array<i64: 1, 1, 1>
