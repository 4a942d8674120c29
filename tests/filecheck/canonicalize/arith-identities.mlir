// RUN: lamina-opt %s -p canonicalize | filecheck %s

// x + (-0.0), (-0.0) + x, x - 0.0, x * 1, 1 * x, x / 1 fold to x (each is exact,
// also for x = -0.0).
// CHECK-LABEL: func.func @neutral
// CHECK-NEXT:    func.return %x, %x, %x, %x, %x, %x : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
func.func @neutral(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %nzero = hl.splat value=-0.0 : tensor<4xf32>
  %zero = hl.splat value=0.0 : tensor<4xf32>
  %one = hl.splat value=1.0 : tensor<4xf32>
  %a = hl.add %x, %nzero : tensor<4xf32>
  %b = hl.add %nzero, %x : tensor<4xf32>
  %c = hl.sub %x, %zero : tensor<4xf32>
  %d = hl.mul %x, %one : tensor<4xf32>
  %e = hl.mul %one, %x : tensor<4xf32>
  %f = hl.div %x, %one : tensor<4xf32>
  func.return %a, %b, %c, %d, %e, %f : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// On floats x + 0.0 and x - (-0.0) stay: -0.0 + 0.0 is +0.0. On integers x + 0 folds.
// CHECK-LABEL: func.func @zero_signs
// CHECK:         hl.add %x, %{{.*}} : tensor<4xf32>
// CHECK:         hl.sub %x, %{{.*}} : tensor<4xf32>
// CHECK:         func.return %{{.*}}, %{{.*}}, %i : tensor<4xf32>, tensor<4xf32>, tensor<4xi32>
func.func @zero_signs(%x: tensor<4xf32>, %i: tensor<4xi32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xi32>) {
  %zero = hl.splat value=0.0 : tensor<4xf32>
  %nzero = hl.splat value=-0.0 : tensor<4xf32>
  %izero = hl.splat value=0 : tensor<4xi32>
  %a = hl.add %x, %zero : tensor<4xf32>
  %b = hl.sub %x, %nzero : tensor<4xf32>
  %c = hl.add %i, %izero : tensor<4xi32>
  func.return %a, %b, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xi32>
}

// 0 - x and 1 / x are not identities.
// CHECK-LABEL: func.func @not_neutral
// CHECK:         hl.sub %{{.*}}, %x
// CHECK:         hl.div %{{.*}}, %x
func.func @not_neutral(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %zero = hl.splat value=0.0 : tensor<4xf32>
  %one = hl.splat value=1.0 : tensor<4xf32>
  %a = hl.sub %zero, %x : tensor<4xf32>
  %b = hl.div %one, %x : tensor<4xf32>
  func.return %a, %b : tensor<4xf32>, tensor<4xf32>
}

// x * 0 does not fold on floats (NaN * 0 is NaN); it does on integers.
// CHECK-LABEL: func.func @times_zero
// CHECK-NEXT:    %[[Z:.*]] = hl.splat value=0.0 : tensor<4xf32>
// CHECK-NEXT:    %[[F:.*]] = hl.mul %x, %[[Z]] : tensor<4xf32>
// CHECK-NEXT:    %[[I:.*]] = hl.splat value=0 : tensor<4xi32>
// CHECK-NEXT:    func.return %[[F]], %[[I]] : tensor<4xf32>, tensor<4xi32>
func.func @times_zero(%x: tensor<4xf32>, %n: tensor<4xi32>) -> (tensor<4xf32>, tensor<4xi32>) {
  %zero = hl.splat value=0.0 : tensor<4xf32>
  %izero = hl.splat value=0 : tensor<4xi32>
  %a = hl.mul %x, %zero : tensor<4xf32>
  %b = hl.mul %izero, %n : tensor<4xi32>
  func.return %a, %b : tensor<4xf32>, tensor<4xi32>
}

// neg(neg(x)) is x; a single neg stays.
// CHECK-LABEL: func.func @double_neg
// CHECK-NEXT:    %[[N:.*]] = hl.neg %x : tensor<4xf32>
// CHECK-NEXT:    func.return %x, %[[N]] : tensor<4xf32>, tensor<4xf32>
func.func @double_neg(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %a = hl.neg %x : tensor<4xf32>
  %b = hl.neg %a : tensor<4xf32>
  %c = hl.neg %b : tensor<4xf32>
  func.return %b, %c : tensor<4xf32>, tensor<4xf32>
}

// select with equal branches, or a splat condition, picks a branch.
// CHECK-LABEL: func.func @select
// CHECK-NEXT:    func.return %x, %x, %y : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
func.func @select(%c: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %t = hl.splat value=true : tensor<4xi1>
  %f = hl.splat value=false : tensor<4xi1>
  %a = hl.select %c, %x, %x : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %b = hl.select %t, %x, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %d = hl.select %f, %x, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %a, %b, %d : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
