// RUN: lamina-opt %s | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK-NEXT: %0 = hl.neg %x : tensor<4x8xf32>
  // CHECK-NEXT: %1 = hl.abs %0 : tensor<4x8xf32>
  // CHECK-NEXT: %2 = hl.sign %1 : tensor<4x8xf32>
  // CHECK-NEXT: %3 = hl.exp %2 : tensor<4x8xf32>
  // CHECK-NEXT: %4 = hl.log %3 : tensor<4x8xf32>
  // CHECK-NEXT: %5 = hl.sqrt %4 : tensor<4x8xf32>
  // CHECK-NEXT: %6 = hl.rsqrt %5 : tensor<4x8xf32>
  // CHECK-NEXT: %7 = hl.tanh %6 : tensor<4x8xf32>
  // CHECK-NEXT: %8 = hl.sigmoid %7 : tensor<4x8xf32>
  // CHECK-NEXT: %9 = hl.erf %8 : tensor<4x8xf32>
  // CHECK-NEXT: %10 = hl.sin %9 : tensor<4x8xf32>
  // CHECK-NEXT: %11 = hl.cos %10 : tensor<4x8xf32>
  // CHECK-NEXT: %12 = hl.floor %11 : tensor<4x8xf32>
  // CHECK-NEXT: %13 = hl.ceil %12 : tensor<4x8xf32>
  // CHECK-NEXT: %14 = hl.round %13 : tensor<4x8xf32>
  // CHECK-NEXT: %15 = hl.stop_gradient %14 : tensor<4x8xf32>
  %0 = hl.neg %x : tensor<4x8xf32>
  %1 = hl.abs %0 : tensor<4x8xf32>
  %2 = hl.sign %1 : tensor<4x8xf32>
  %3 = hl.exp %2 : tensor<4x8xf32>
  %4 = hl.log %3 : tensor<4x8xf32>
  %5 = hl.sqrt %4 : tensor<4x8xf32>
  %6 = hl.rsqrt %5 : tensor<4x8xf32>
  %7 = hl.tanh %6 : tensor<4x8xf32>
  %8 = hl.sigmoid %7 : tensor<4x8xf32>
  %9 = hl.erf %8 : tensor<4x8xf32>
  %10 = hl.sin %9 : tensor<4x8xf32>
  %11 = hl.cos %10 : tensor<4x8xf32>
  %12 = hl.floor %11 : tensor<4x8xf32>
  %13 = hl.ceil %12 : tensor<4x8xf32>
  %14 = hl.round %13 : tensor<4x8xf32>
  %15 = hl.stop_gradient %14 : tensor<4x8xf32>
  func.return %15 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @binary
func.func @binary(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NEXT: %0 = hl.add %a, %b : tensor<4xf32>
  // CHECK-NEXT: %1 = hl.sub %0, %b : tensor<4xf32>
  // CHECK-NEXT: %2 = hl.mul %1, %b : tensor<4xf32>
  // CHECK-NEXT: %3 = hl.div %2, %b : tensor<4xf32>
  // CHECK-NEXT: %4 = hl.rem %3, %b : tensor<4xf32>
  // CHECK-NEXT: %5 = hl.pow %4, %b : tensor<4xf32>
  // CHECK-NEXT: %6 = hl.max %5, %b : tensor<4xf32>
  // CHECK-NEXT: %7 = hl.min %6, %b : tensor<4xf32>
  %0 = hl.add %a, %b : tensor<4xf32>
  %1 = hl.sub %0, %b : tensor<4xf32>
  %2 = hl.mul %1, %b : tensor<4xf32>
  %3 = hl.div %2, %b : tensor<4xf32>
  %4 = hl.rem %3, %b : tensor<4xf32>
  %5 = hl.pow %4, %b : tensor<4xf32>
  %6 = hl.max %5, %b : tensor<4xf32>
  %7 = hl.min %6, %b : tensor<4xf32>
  func.return %7 : tensor<4xf32>
}

// CHECK-LABEL: func.func @compare_and_logic
func.func @compare_and_logic(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NEXT: %0 = hl.eq %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK-NEXT: %1 = hl.ne %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK-NEXT: %2 = hl.lt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK-NEXT: %3 = hl.le %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK-NEXT: %4 = hl.gt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK-NEXT: %5 = hl.ge %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK-NEXT: %6 = hl.and %0, %1 : tensor<4xi1>
  // CHECK-NEXT: %7 = hl.or %6, %2 : tensor<4xi1>
  // CHECK-NEXT: %8 = hl.xor %7, %3 : tensor<4xi1>
  // CHECK-NEXT: %9 = hl.not %8 : tensor<4xi1>
  // CHECK-NEXT: %10 = hl.and %9, %4 : tensor<4xi1>
  // CHECK-NEXT: %11 = hl.or %10, %5 : tensor<4xi1>
  // CHECK-NEXT: %12 = hl.select %11, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %0 = hl.eq %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %1 = hl.ne %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %2 = hl.lt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %3 = hl.le %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %4 = hl.gt %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %5 = hl.ge %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %6 = hl.and %0, %1 : tensor<4xi1>
  %7 = hl.or %6, %2 : tensor<4xi1>
  %8 = hl.xor %7, %3 : tensor<4xi1>
  %9 = hl.not %8 : tensor<4xi1>
  %10 = hl.and %9, %4 : tensor<4xi1>
  %11 = hl.or %10, %5 : tensor<4xi1>
  %12 = hl.select %11, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %12 : tensor<4xf32>
}

// CHECK-LABEL: func.func @shape_and_creation
func.func @shape_and_creation(%x: tensor<8xf32>) -> tensor<8x4xi32> {
  // CHECK-NEXT: %0 = hl.broadcast_in_dim %x dims=[1] : tensor<8xf32> -> tensor<4x8xf32>
  // CHECK-NEXT: %1 = hl.transpose %0 perm=[1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
  // CHECK-NEXT: %2 = hl.reshape %1 : tensor<8x4xf32> -> tensor<32xf32>
  // CHECK-NEXT: %3 = hl.splat value=-1.5e-07 : tensor<32xf32>
  // CHECK-NEXT: %4 = hl.add %2, %3 : tensor<32xf32>
  // CHECK-NEXT: %5 = hl.reshape %4 : tensor<32xf32> -> tensor<8x4xf32>
  // CHECK-NEXT: %6 = hl.cast %5 : tensor<8x4xf32> -> tensor<8x4xi32>
  // CHECK-NEXT: %7 = hl.iota dim=1 : tensor<8x4xi32>
  // CHECK-NEXT: %8 = hl.constant value=dense<[1, 2, 3, 4]> : tensor<4xi32> : tensor<4xi32>
  // CHECK-NEXT: %9 = hl.broadcast_in_dim %8 dims=[1] : tensor<4xi32> -> tensor<8x4xi32>
  // CHECK-NEXT: %10 = hl.add %6, %7 : tensor<8x4xi32>
  // CHECK-NEXT: %11 = hl.mul %10, %9 : tensor<8x4xi32>
  %0 = hl.broadcast_in_dim %x dims=[1] : tensor<8xf32> -> tensor<4x8xf32>
  %1 = hl.transpose %0 perm=[1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
  %2 = hl.reshape %1 : tensor<8x4xf32> -> tensor<32xf32>
  %3 = hl.splat value=-1.5e-07 : tensor<32xf32>
  %4 = hl.add %2, %3 : tensor<32xf32>
  %5 = hl.reshape %4 : tensor<32xf32> -> tensor<8x4xf32>
  %6 = hl.cast %5 : tensor<8x4xf32> -> tensor<8x4xi32>
  %7 = hl.iota dim=1 : tensor<8x4xi32>
  %8 = hl.constant value=dense<[1, 2, 3, 4]> : tensor<4xi32> : tensor<4xi32>
  %9 = hl.broadcast_in_dim %8 dims=[1] : tensor<4xi32> -> tensor<8x4xi32>
  %10 = hl.add %6, %7 : tensor<8x4xi32>
  %11 = hl.mul %10, %9 : tensor<8x4xi32>
  func.return %11 : tensor<8x4xi32>
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<4x8x2xf32>) -> (tensor<8xf32>, tensor<4x2xi64>) {
  // CHECK-NEXT: %0 = hl.reduce_sum %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  // CHECK-NEXT: %1 = hl.reduce_prod %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  // CHECK-NEXT: %2 = hl.reduce_max %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  // CHECK-NEXT: %3 = hl.reduce_min %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  // CHECK-NEXT: %4 = hl.argmax %x dim=1 : tensor<4x8x2xf32> -> tensor<4x2xi64>
  // CHECK-NEXT: %5 = hl.argmin %x dim=1 : tensor<4x8x2xf32> -> tensor<4x2xi64>
  %0 = hl.reduce_sum %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  %1 = hl.reduce_prod %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  %2 = hl.reduce_max %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  %3 = hl.reduce_min %x dims=[0, 2] : tensor<4x8x2xf32> -> tensor<8xf32>
  %4 = hl.argmax %x dim=1 : tensor<4x8x2xf32> -> tensor<4x2xi64>
  %5 = hl.argmin %x dim=1 : tensor<4x8x2xf32> -> tensor<4x2xi64>
  %6 = hl.add %0, %1 : tensor<8xf32>
  %7 = hl.add %2, %3 : tensor<8xf32>
  %8 = hl.add %6, %7 : tensor<8xf32>
  %9 = hl.add %4, %5 : tensor<4x2xi64>
  func.return %8, %9 : tensor<8xf32>, tensor<4x2xi64>
}
