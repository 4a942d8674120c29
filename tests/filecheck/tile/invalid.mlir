// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s
// tile verifier errors.

%r = tile.arange 0, 12 : tensor<12xi32>
// CHECK: tile.arange: length 12 is not a power of two

// -----

%a = "test.op"() : () -> tensor<16xf32>
%b = "test.op"() : () -> tensor<16x1xf32>
%c = tile.broadcast %b : tensor<16x1xf32> -> tensor<8x4xf32>
// CHECK: tile.broadcast: cannot broadcast (16, 1) to (8, 4)

// -----

%a = "test.op"() : () -> tensor<8x8xf32>
%d = tile.dot %a, %a, %a "ieee" : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
// CHECK: tile.dot: every block dim must be at least 16

// -----

%p = "test.op"() : () -> !tile.ptr<f32>
%o = "test.op"() : () -> tensor<16xi32>
%m = "test.op"() : () -> tensor<8xi1>
%v = tile.load %p[%o] mask %m : !tile.ptr<f32>, tensor<16xi32> -> tensor<16xf32>, tensor<8xi1>
// CHECK: tile.load: operands have different block shapes

// -----

%a = "test.op"() : () -> tensor<16xf32>
%s = tile.reduce "mean" %a 0 : tensor<16xf32> -> f32
// CHECK: tile.reduce: kind must be one of

// -----

%a = "test.op"() : () -> tensor<16xf32>
%b = "test.op"() : () -> tensor<16xi1>
%w = tile.where %b, %a, %a : tensor<16xi1>, tensor<16xf32>
%c = tile.cast %a "zext" : tensor<16xf32> -> tensor<16xi32>
// CHECK: tile.cast: kind must be one of
