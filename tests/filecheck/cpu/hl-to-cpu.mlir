// RUN: lamina-opt %s -p lower-hl-to-loop,lower-loop-to-cpu | filecheck %s

// The whole CPU pipeline below hl: a fused exp+add is one cpu.kernel over linear
// offsets; small programs run on one thread (no `omp`).

// CHECK-LABEL: func.func @main
// CHECK-SAME:  (%{{.*}}: memref<4x8xf32>, %{{.*}}: memref<4x8xf32>, %{{.*}}: memref<4x8xf32>)
// CHECK:       cpu.kernel "{{.*}}" parallel [4, 8] (%{{.*}}, %{{.*}}) args(
// CHECK:         cpu.load
// CHECK:         math.exp
// CHECK:         arith.addf
// CHECK:         cpu.store
// CHECK-NOT:   cpu.kernel
// CHECK-NOT:   loop.
func.func @main(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = hl.exp %x : tensor<4x8xf32>
  %s = hl.add %e, %y : tensor<4x8xf32>
  func.return %s : tensor<4x8xf32>
}
