// RUN: lamina-opt %s -p autodiff,canonicalize,cse | filecheck %s

// d/dx exp(x) * y = ct * exp(x) * y ; d/dy = ct * exp(x)
// CHECK-LABEL: func.func @mul_exp_vjp(%x: tensor<4xf32>, %y: tensor<4xf32>, %d0: tensor<4xf32>)
// CHECK-NEXT:    %e = hl.exp %x : tensor<4xf32>
// CHECK-NEXT:    %m = hl.mul %e, %y : tensor<4xf32>
// CHECK-NEXT:    %[[DE:.*]] = hl.mul %d0, %y : tensor<4xf32>
// CHECK-NEXT:    %[[DY:.*]] = hl.mul %d0, %e : tensor<4xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.mul %[[DE]], %e : tensor<4xf32>
// CHECK-NEXT:    func.return %m, %[[DX]], %[[DY]]
func.func @mul_exp(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> attributes {autodiff} {
  %e = hl.exp %x : tensor<4xf32>
  %m = hl.mul %e, %y : tensor<4xf32>
  func.return %m : tensor<4xf32>
}

// A value used twice accumulates its cotangents with one add; sub negates.
// CHECK-LABEL: func.func @fanout_vjp(%x: tensor<4xf32>, %d0: tensor<4xf32>)
// CHECK-NEXT:    %t = hl.tanh %x : tensor<4xf32>
// CHECK-NEXT:    %s = hl.sub %t, %x : tensor<4xf32>
// CHECK-NEXT:    %[[N:.*]] = hl.neg %d0 : tensor<4xf32>
// CHECK-NEXT:    %[[T2:.*]] = hl.mul %t, %t : tensor<4xf32>
// CHECK-NEXT:    %[[ONE:.*]] = hl.splat value=1.0 : tensor<4xf32>
// CHECK-NEXT:    %[[D:.*]] = hl.sub %[[ONE]], %[[T2]] : tensor<4xf32>
// CHECK-NEXT:    %[[DT:.*]] = hl.mul %d0, %[[D]] : tensor<4xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.add %[[N]], %[[DT]] : tensor<4xf32>
// CHECK-NEXT:    func.return %s, %[[DX]]
func.func @fanout(%x: tensor<4xf32>) -> tensor<4xf32> attributes {autodiff} {
  %t = hl.tanh %x : tensor<4xf32>
  %s = hl.sub %t, %x : tensor<4xf32>
  func.return %s : tensor<4xf32>
}

// Comparisons and select: the condition gets no cotangent; each branch gets ct
// where it was chosen and 0 elsewhere.
// CHECK-LABEL: func.func @relu_vjp(%x: tensor<4xf32>, %d0: tensor<4xf32>)
// CHECK-NEXT:    %z = hl.splat value=0.0 : tensor<4xf32>
// CHECK-NEXT:    %c = hl.gt %x, %z : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
// CHECK-NEXT:    %r = hl.select %c, %x, %z : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.select %c, %d0, %z : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    func.return %r, %[[DX]]
func.func @relu(%x: tensor<4xf32>) -> tensor<4xf32> attributes {autodiff} {
  %z = hl.splat value=0.0 : tensor<4xf32>
  %c = hl.gt %x, %z : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %r = hl.select %c, %x, %z : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// stop_gradient blocks the cotangent; an input no gradient reaches gets zeros.
// CHECK-LABEL: func.func @stopped_vjp(%x: tensor<4xf32>, %y: tensor<4xf32>, %d0: tensor<4xf32>)
// CHECK-NEXT:    %s = hl.stop_gradient %y : tensor<4xf32>
// CHECK-NEXT:    %m = hl.mul %x, %s : tensor<4xf32>
// CHECK-NEXT:    %[[DX:.*]] = hl.mul %d0, %s : tensor<4xf32>
// CHECK-NEXT:    %[[Z:.*]] = hl.splat value=0.0 : tensor<4xf32>
// CHECK-NEXT:    func.return %m, %[[DX]], %[[Z]]
func.func @stopped(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> attributes {autodiff} {
  %s = hl.stop_gradient %y : tensor<4xf32>
  %m = hl.mul %x, %s : tensor<4xf32>
  func.return %m : tensor<4xf32>
}

// A float -> f64 cast transposes to a cast back.
// CHECK-LABEL: func.func @cast_vjp(%x: tensor<4xf32>, %d0: tensor<4xf64>)
// CHECK:         %[[DX:.*]] = hl.cast %d0 : tensor<4xf64> -> tensor<4xf32>
// CHECK-NEXT:    func.return %{{.*}}, %[[DX]]
func.func @cast(%x: tensor<4xf32>) -> tensor<4xf64> attributes {autodiff} {
  %c = hl.cast %x : tensor<4xf32> -> tensor<4xf64>
  func.return %c : tensor<4xf64>
}
