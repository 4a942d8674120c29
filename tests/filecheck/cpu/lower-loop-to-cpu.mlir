// RUN: lamina-opt %s -p lower-loop-to-cpu --split-input-file | filecheck %s

// A row softmax: one parallel kernel, two reductions and a vector loop over
// row-major linear offsets; the buffers become the kernel's args.

// CHECK-LABEL: func.func @softmax
// CHECK:       cpu.kernel "softmax_0" parallel [64] (%i) omp args(%[[X:.*]] = %x, %[[O:.*]] = %out : memref<64x128xf32>, memref<64x128xf32>) {
// CHECK:         %[[C128:.*]] = arith.constant 128 : index
// CHECK:         %[[M:.*]] = cpu.reduce "max" [128] (%k) init(%{{.*}} : f32) -> f32 {
// CHECK-NEXT:      %[[R:.*]] = arith.muli %i, %[[C128]] : index
// CHECK-NEXT:      %[[OFF:.*]] = arith.addi %[[R]], %k : index
// CHECK-NEXT:      %[[V:.*]] = cpu.load %[[X]][%[[OFF]]] : memref<64x128xf32>
// CHECK-NEXT:      cpu.yield %[[V]] : f32
// CHECK:         cpu.reduce "add" [128] (%k_1) init(%{{.*}} : f32) -> f32 {
// CHECK:         cpu.for [128] (%k_2) simd {
// CHECK:           cpu.store %{{.*}}, %[[O]][%{{.*}}] : memref<64x128xf32>
// CHECK-NOT:   loop.
func.func @softmax(%x: memref<64x128xf32>, %out: memref<64x128xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  loop.kernel "softmax_0" parallel [64] (%i) {
    %m = loop.reduce "max" [128] (%k) init(%ninf) {
      %v = loop.load %x[%i, %k] : memref<64x128xf32>
      loop.yield %v : f32
    } : f32
    %s = loop.reduce "add" [128] (%k) init(%zero) {
      %v = loop.load %x[%i, %k] : memref<64x128xf32>
      %d = arith.subf %v, %m : f32
      %e = math.exp %d : f32
      loop.yield %e : f32
    } : f32
    loop.for [128] (%k) {
      %v = loop.load %x[%i, %k] : memref<64x128xf32>
      %d = arith.subf %v, %m : f32
      %e = math.exp %d : f32
      %r = arith.divf %e, %s : f32
      loop.store %r, %out[%i, %k] : memref<64x128xf32>
    }
  }
  func.return
}

// -----

// Small kernels run on one thread (no `omp`); seq_for keeps its order (no `simd`);
// masked loads keep their mask; dims of size 1 add nothing to the offset.

// CHECK-LABEL: func.func @small
// CHECK:       cpu.kernel "acc_0" parallel [4] (%i) args(%[[X:.*]] = %x, %[[T:.*]] = %t : memref<4x1x8xf32>, memref<4xf32>) {
// CHECK:         cpu.for [8] (%k) {
// CHECK:           %[[R:.*]] = arith.muli %i, %{{.*}} : index
// CHECK-NEXT:      %[[OFF:.*]] = arith.addi %[[R]], %k : index
// CHECK-NEXT:      %{{.*}} = cpu.load %[[X]][%[[OFF]]] if %{{.*}} else %{{.*}} : memref<4x1x8xf32>
func.func @small(%x: memref<4x1x8xf32>, %t: memref<4xf32>) {
  loop.kernel "acc_0" parallel [4] (%i) {
    loop.seq_for [8] (%k) {
      %c0 = arith.constant 0 : index
      %c4 = arith.constant 4 : index
      %z = arith.constant 0.0 : f32
      %m = arith.cmpi ult, %k, %c4 : index
      %v = loop.load %x[%i, %c0, %k] if %m else %z : memref<4x1x8xf32>
      %o = loop.load %t[%i] : memref<4xf32>
      %s = arith.addf %o, %v : f32
      loop.store %s, %t[%i] : memref<4xf32>
    }
  }
  func.return
}

// -----

// Buffer-level ops: matmul becomes a GEMM call, view a pointer view; allocations stay.

// CHECK-LABEL: func.func @gemm
// CHECK-NEXT:    %[[T:.*]] = memref.alloc() : memref<2x4x8xf32>
// CHECK-NEXT:    cpu.gemm %a, %b, %[[T]] batch=2 m=4 n=8 k=16 transpose_b : memref<2x4x16xf32>, memref<8x16xf32>, memref<2x4x8xf32>
// CHECK-NEXT:    %[[V:.*]] = cpu.view %[[T]] : memref<2x4x8xf32> -> memref<64xf32>
// CHECK-NEXT:    cpu.kernel "copy_0" parallel [64] (%i) args(%{{.*}} = %[[V]], %{{.*}} = %out : memref<64xf32>, memref<64xf32>)
// CHECK:         memref.dealloc %[[T]] : memref<2x4x8xf32>
func.func @gemm(%a: memref<2x4x16xf32>, %b: memref<8x16xf32>, %out: memref<64xf32>) {
  %t = memref.alloc() : memref<2x4x8xf32>
  loop.matmul %a, %b, %t batch=2 m=4 n=8 k=16 transpose_b : memref<2x4x16xf32>, memref<8x16xf32>, memref<2x4x8xf32>
  %v = loop.view %t : memref<2x4x8xf32> -> memref<64xf32>
  loop.kernel "copy_0" parallel [64] (%i) {
    %e = loop.load %v[%i] : memref<64xf32>
    loop.store %e, %out[%i] : memref<64xf32>
  }
  memref.dealloc %t : memref<2x4x8xf32>
  func.return
}
