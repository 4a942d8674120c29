// RUN: lamina-opt %s -p lower-hl-to-loop --split-input-file | filecheck %s

// A row softmax is ONE kernel: parallel over rows, two reductions, one normalizing loop.
// The sum keeps exp(x - max) in the output row; the loop reads it back (exp once).
// CHECK-LABEL: func.func @softmax(%0: memref<4x8xf32>, %1: memref<4x8xf32>)
// CHECK-SAME:    attributes {lamina.dtypes = ["float32", "float32"]}
// CHECK-NEXT:    loop.kernel "div_0" parallel [4] (%[[I:.*]]) {
// CHECK:           %[[MAX:.*]] = loop.reduce "max" [8]
// CHECK:           %[[SUM:.*]] = loop.reduce "add" [8] (%[[K:.*]]) init
// CHECK:             arith.subf %{{.*}}, %[[MAX]] : f32
// CHECK-NEXT:        %[[E:.*]] = math.exp
// CHECK-NEXT:        loop.store %[[E]], %1[%[[I]], %[[K]]] : memref<4x8xf32>
// CHECK-NEXT:        loop.yield %[[E]] : f32
// CHECK:           loop.for [8] (%[[J:.*]]) {
// CHECK-NEXT:        %[[KEPT:.*]] = loop.load %1[%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK-NEXT:        arith.divf %[[KEPT]], %[[SUM]] : f32
// CHECK-NEXT:        loop.store %{{.*}}, %1[%[[I]], %[[J]]] : memref<4x8xf32>
// CHECK-NOT:     loop.kernel
// CHECK:         func.return
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = hl.reduce_max %x dims=[1] : tensor<4x8xf32> -> tensor<4xf32>
  %1 = hl.reshape %0 : tensor<4xf32> -> tensor<4x1xf32>
  %2 = hl.stop_gradient %1 : tensor<4x1xf32>
  %3 = hl.broadcast_in_dim %2 dims=[0, 1] : tensor<4x1xf32> -> tensor<4x8xf32>
  %4 = hl.sub %x, %3 : tensor<4x8xf32>
  %5 = hl.exp %4 : tensor<4x8xf32>
  %6 = hl.reduce_sum %5 dims=[1] : tensor<4x8xf32> -> tensor<4xf32>
  %7 = hl.reshape %6 : tensor<4xf32> -> tensor<4x1xf32>
  %8 = hl.broadcast_in_dim %7 dims=[0, 1] : tensor<4x1xf32> -> tensor<4x8xf32>
  %9 = hl.div %5, %8 : tensor<4x8xf32>
  func.return %9 : tensor<4x8xf32>
}

// -----

// Layer norm: one kernel; the mean is computed once per row and reused by the variance
// (two passes: a one-pass variance shifted by one element lost ~13 bits on rows
// whose first element is an outlier).
// CHECK-LABEL: func.func @layer_norm
// CHECK-COUNT-1: loop.kernel "add_0" parallel [4]
// CHECK:           %[[S:.*]] = loop.reduce "add" [8]
// CHECK:           %[[MEAN:.*]] = arith.divf %[[S]]
// CHECK:           loop.reduce "add" [8]
// CHECK:             arith.subf %{{.*}}, %[[MEAN]] : f32
// CHECK:           math.rsqrt
// CHECK:           loop.for [8]
// CHECK-NOT:     loop.kernel
func.func @layer_norm(%x: tensor<4x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = hl.reduce_sum %x dims=[1] : tensor<4x8xf32> -> tensor<4xf32>
  %1 = hl.reshape %0 : tensor<4xf32> -> tensor<4x1xf32>
  %2 = hl.splat value=8.0 : tensor<4x1xf32>
  %3 = hl.div %1, %2 : tensor<4x1xf32>
  %4 = hl.broadcast_in_dim %3 dims=[0, 1] : tensor<4x1xf32> -> tensor<4x8xf32>
  %5 = hl.sub %x, %4 : tensor<4x8xf32>
  %6 = hl.mul %5, %5 : tensor<4x8xf32>
  %7 = hl.reduce_sum %6 dims=[1] : tensor<4x8xf32> -> tensor<4xf32>
  %8 = hl.reshape %7 : tensor<4xf32> -> tensor<4x1xf32>
  %9 = hl.div %8, %2 : tensor<4x1xf32>
  %10 = hl.splat value=1.0e-05 : tensor<4x1xf32>
  %11 = hl.add %9, %10 : tensor<4x1xf32>
  %12 = hl.rsqrt %11 : tensor<4x1xf32>
  %13 = hl.broadcast_in_dim %12 dims=[0, 1] : tensor<4x1xf32> -> tensor<4x8xf32>
  %14 = hl.mul %5, %13 : tensor<4x8xf32>
  %15 = hl.broadcast_in_dim %w dims=[1] : tensor<8xf32> -> tensor<4x8xf32>
  %16 = hl.mul %14, %15 : tensor<4x8xf32>
  %17 = hl.broadcast_in_dim %b dims=[1] : tensor<8xf32> -> tensor<4x8xf32>
  %18 = hl.add %16, %17 : tensor<4x8xf32>
  func.return %18 : tensor<4x8xf32>
}

// -----

// An MLP forward: bias + relu are the epilogue of the first matmul, read by the second.
// CHECK-LABEL: func.func @mlp
// CHECK-NEXT:    %[[MM:.*]] = memref.alloc() : memref<4x16xf32>
// CHECK-NEXT:    loop.matmul %0, %1, %[[MM]] batch=1 m=4 n=16 k=8
// CHECK-NEXT:    %[[H:.*]] = memref.alloc() : memref<4x16xf32>
// CHECK-NEXT:    loop.kernel "max_1" parallel [4, 16]
// CHECK:           loop.load %[[MM]]
// CHECK:           loop.load %2
// CHECK:           arith.addf
// CHECK:           arith.maximumf
// CHECK:           loop.store %{{.*}}, %[[H]]
// CHECK:         memref.dealloc %[[MM]]
// CHECK-NEXT:    loop.matmul %[[H]], %3, %4 batch=1 m=4 n=3 k=16
// CHECK-NEXT:    memref.dealloc %[[H]]
// CHECK-NEXT:    func.return
func.func @mlp(%x: tensor<4x8xf32>, %w1: tensor<8x16xf32>, %b1: tensor<16xf32>, %w2: tensor<16x3xf32>) -> tensor<4x3xf32> {
  %0 = hl.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = hl.broadcast_in_dim %b1 dims=[1] : tensor<16xf32> -> tensor<4x16xf32>
  %2 = hl.add %0, %1 : tensor<4x16xf32>
  %3 = hl.splat value=0.0 : tensor<4x16xf32>
  %4 = hl.max %2, %3 : tensor<4x16xf32>
  %5 = hl.matmul %4, %w2 : (tensor<4x16xf32>, tensor<16x3xf32>) -> tensor<4x3xf32>
  func.return %5 : tensor<4x3xf32>
}

// -----

// An elementwise chain over broadcasts and a transpose is one kernel; a transposed
// matmul operand is read in place (transpose_a), a returned input is copied.
// CHECK-LABEL: func.func @chain
// CHECK:         loop.kernel "tanh_0" parallel [4, 8]
// CHECK-NOT:     loop.kernel "exp
// CHECK:         loop.matmul %0, %{{.*}}, %{{.*}} batch=1 m=8 n=8 k=4 transpose_a
// CHECK:         loop.kernel "copy_2" parallel [4, 8]
func.func @chain(%x: tensor<4x8xf32>, %y: tensor<8x4xf32>) -> (tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>) {
  %0 = hl.transpose %y perm=[1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
  %1 = hl.exp %x : tensor<4x8xf32>
  %2 = hl.mul %1, %0 : tensor<4x8xf32>
  %3 = hl.tanh %2 : tensor<4x8xf32>
  %4 = hl.transpose %x perm=[1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
  %5 = hl.matmul %4, %3 : (tensor<8x4xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  func.return %3, %5, %x : tensor<4x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>
}

// -----

// A non-uniform constant is a global buffer; a uniform one is a scalar.
// CHECK:       "memref.global"() <{sym_name = "__constant_0", type = memref<2x3xf32>
// CHECK-LABEL: func.func @consts
// CHECK-NEXT:    %[[G:.*]] = memref.get_global @__constant_0 : memref<2x3xf32>
// CHECK-NEXT:    loop.kernel "add_0" parallel [2, 3] (%[[I:.*]], %[[J:.*]]) {
// CHECK-NEXT:      %[[C:.*]] = arith.constant 2.500000e+00 : f32
// CHECK-NEXT:      %[[X:.*]] = loop.load %0[%[[I]], %[[J]]] : memref<2x3xf32>
// CHECK-NEXT:      %[[K:.*]] = loop.load %[[G]][%[[I]], %[[J]]] : memref<2x3xf32>
// CHECK-NEXT:      %[[M:.*]] = arith.mulf %[[X]], %[[K]] : f32
// CHECK-NEXT:      %[[A:.*]] = arith.addf %[[M]], %[[C]] : f32
// CHECK-NEXT:      loop.store %[[A]], %1[%[[I]], %[[J]]] : memref<2x3xf32>
func.func @consts(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = hl.constant value=dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32> : tensor<2x3xf32>
  %1 = hl.constant value=dense<2.5> : tensor<2x3xf32> : tensor<2x3xf32>
  %2 = hl.mul %x, %0 : tensor<2x3xf32>
  %3 = hl.add %2, %1 : tensor<2x3xf32>
  func.return %3 : tensor<2x3xf32>
}

// -----

// Bool and uint8 live in i8 buffers; the dtypes attribute keeps what they were.
// CHECK-LABEL: func.func @bytes(%0: memref<4xi8>, %1: memref<4xi8>, %2: memref<4xi8>)
// CHECK-SAME:    attributes {lamina.dtypes = ["uint8", "bool", "uint8"]}
// CHECK:         %[[B:.*]] = loop.load %1[%{{.*}}] : memref<4xi8>
// CHECK-NEXT:    arith.trunci %[[B]] : i8 to i1
// CHECK:         arith.divui
func.func @bytes(%u: tensor<4xui8>, %b: tensor<4xi1>) -> tensor<4xui8> {
  %0 = hl.splat value=3 : tensor<4xui8>
  %1 = hl.div %u, %0 : tensor<4xui8>
  %2 = hl.select %b, %1, %u : (tensor<4xi1>, tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  func.return %2 : tensor<4xui8>
}
