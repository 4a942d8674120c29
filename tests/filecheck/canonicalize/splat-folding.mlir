// RUN: lamina-opt %s -p canonicalize | filecheck %s

// Elementwise ops on splats fold to a splat, computed in the op's own dtype.
// CHECK-LABEL: func.func @arith
// CHECK-NEXT:    %[[A:.*]] = hl.splat value=5.0 : tensor<2x3xf32>
// CHECK-NEXT:    %[[B:.*]] = hl.splat value=-0.5 : tensor<2x3xf32>
// CHECK-NEXT:    %[[C:.*]] = hl.splat value=true : tensor<2x3xi1>
// CHECK-NEXT:    %[[D:.*]] = hl.splat value=-4 : tensor<2x3xi32>
// CHECK-NEXT:    func.return %[[A]], %[[B]], %[[C]], %[[D]]
func.func @arith() -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi1>, tensor<2x3xi32>) {
  %two = hl.splat value=2.0 : tensor<2x3xf32>
  %three = hl.splat value=3.0 : tensor<2x3xf32>
  %sum = hl.add %two, %three : tensor<2x3xf32>
  %half = hl.div %two, %three : tensor<2x3xf32>
  %q = hl.sub %half, %two : tensor<2x3xf32>
  %r = hl.mul %q, %three : tensor<2x3xf32>
  %s = hl.div %r, %three : tensor<2x3xf32>
  %t = hl.add %s, %two : tensor<2x3xf32>
  %u = hl.sub %t, %two : tensor<2x3xf32>
  %v = hl.mul %u, %three : tensor<2x3xf32>
  %w = hl.div %v, %three : tensor<2x3xf32>
  %neg = hl.neg %two : tensor<2x3xf32>
  %x = hl.div %neg, %two : tensor<2x3xf32>
  %y = hl.mul %x, %half : tensor<2x3xf32>
  %z = hl.div %y, %half : tensor<2x3xf32>
  %p = hl.add %z, %half : tensor<2x3xf32>
  %o = hl.sub %p, %half : tensor<2x3xf32>
  %m = hl.div %o, %two : tensor<2x3xf32>
  %lt = hl.lt %two, %three : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
  %seven = hl.splat value=-7 : tensor<2x3xi32>
  %i2 = hl.splat value=2 : tensor<2x3xi32>
  %fd = hl.div %seven, %i2 : tensor<2x3xi32>
  func.return %sum, %m, %lt, %fd : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi1>, tensor<2x3xi32>
}

// Unary ops and casts of splats fold too; float -> int truncates toward zero.
// CHECK-LABEL: func.func @unary_and_cast
// CHECK-NEXT:    %[[E:.*]] = hl.splat value=1.0 : tensor<4xf64>
// CHECK-NEXT:    %[[I:.*]] = hl.splat value=-2 : tensor<4xi64>
// CHECK-NEXT:    func.return %[[E]], %[[I]]
func.func @unary_and_cast() -> (tensor<4xf64>, tensor<4xi64>) {
  %zero = hl.splat value=0.0 : tensor<4xf64>
  %e = hl.exp %zero : tensor<4xf64>
  %x = hl.splat value=-2.75 : tensor<4xf32>
  %i = hl.cast %x : tensor<4xf32> -> tensor<4xi64>
  func.return %e, %i : tensor<4xf64>, tensor<4xi64>
}

// Integer division by a zero splat is left to the backend; f16 is not folded (it
// would be computed in another precision than the backends use).
// CHECK-LABEL: func.func @not_folded
// CHECK:         hl.div
// CHECK:         hl.add
func.func @not_folded() -> (tensor<4xi32>, tensor<4xf16>) {
  %one = hl.splat value=1 : tensor<4xi32>
  %zero = hl.splat value=0 : tensor<4xi32>
  %q = hl.div %one, %zero : tensor<4xi32>
  %h = hl.splat value=0.1 : tensor<4xf16>
  %s = hl.add %h, %h : tensor<4xf16>
  func.return %q, %s : tensor<4xi32>, tensor<4xf16>
}

// Shape ops and max/min reductions of a splat are splats of the new shape.
// CHECK-LABEL: func.func @shapes_of_splat
// CHECK-NEXT:    %[[R:.*]] = hl.splat value=1.5 : tensor<6xf32>
// CHECK-NEXT:    %[[B:.*]] = hl.splat value=1.5 : tensor<4x2x3xf32>
// CHECK-NEXT:    %[[T:.*]] = hl.splat value=1.5 : tensor<3x2xf32>
// CHECK-NEXT:    %[[M:.*]] = hl.splat value=1.5 : tensor<2xf32>
// CHECK-NEXT:    func.return %[[R]], %[[B]], %[[T]], %[[M]]
func.func @shapes_of_splat() -> (tensor<6xf32>, tensor<4x2x3xf32>, tensor<3x2xf32>, tensor<2xf32>) {
  %s = hl.splat value=1.5 : tensor<2x3xf32>
  %r = hl.reshape %s : tensor<2x3xf32> -> tensor<6xf32>
  %b = hl.broadcast_in_dim %s dims=[1, 2] : tensor<2x3xf32> -> tensor<4x2x3xf32>
  %t = hl.transpose %s perm=[1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %m = hl.reduce_max %s dims=[1] : tensor<2x3xf32> -> tensor<2xf32>
  func.return %r, %b, %t, %m : tensor<6xf32>, tensor<4x2x3xf32>, tensor<3x2xf32>, tensor<2xf32>
}

// float -> int casts of NaN or out-of-range splats have no defined value: not folded.
// CHECK-LABEL: func.func @undefined_cast
// CHECK:         hl.cast
// CHECK:         hl.cast
func.func @undefined_cast() -> (tensor<4xi32>, tensor<4xi8>) {
  %n = hl.splat value=nan : tensor<4xf32>
  %a = hl.cast %n : tensor<4xf32> -> tensor<4xi32>
  %big = hl.splat value=300.0 : tensor<4xf32>
  %b = hl.cast %big : tensor<4xf32> -> tensor<4xi8>
  func.return %a, %b : tensor<4xi32>, tensor<4xi8>
}
