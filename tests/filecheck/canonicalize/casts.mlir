// RUN: lamina-opt %s -p canonicalize | filecheck %s

// A cast through a type that holds every value exactly folds: f32 -> f64 -> f32 is
// nothing, i32 -> i64 -> f64 is one cast, f16 -> f32 -> f64 is one cast.
// CHECK-LABEL: func.func @exact
// CHECK-NEXT:    %[[A:.*]] = hl.cast %n : tensor<4xi32> -> tensor<4xf64>
// CHECK-NEXT:    %[[B:.*]] = hl.cast %h : tensor<4xf16> -> tensor<4xf64>
// CHECK-NEXT:    func.return %x, %[[A]], %[[B]]
func.func @exact(%x: tensor<4xf32>, %n: tensor<4xi32>, %h: tensor<4xf16>) -> (tensor<4xf32>, tensor<4xf64>, tensor<4xf64>) {
  %w = hl.cast %x : tensor<4xf32> -> tensor<4xf64>
  %back = hl.cast %w : tensor<4xf64> -> tensor<4xf32>
  %l = hl.cast %n : tensor<4xi32> -> tensor<4xi64>
  %ld = hl.cast %l : tensor<4xi64> -> tensor<4xf64>
  %hf = hl.cast %h : tensor<4xf16> -> tensor<4xf32>
  %hd = hl.cast %hf : tensor<4xf32> -> tensor<4xf64>
  func.return %back, %ld, %hd : tensor<4xf32>, tensor<4xf64>, tensor<4xf64>
}

// A narrowing first cast rounds: f64 -> f32 -> f64, f32 -> i32 -> f32, f16 -> bf16 -> f32
// and i64 -> i32 -> i64 all stay two casts.
// CHECK-LABEL: func.func @inexact
// CHECK-COUNT-8: hl.cast
// CHECK-NOT:     hl.cast
func.func @inexact(%d: tensor<4xf64>, %x: tensor<4xf32>, %h: tensor<4xf16>, %l: tensor<4xi64>) -> (tensor<4xf64>, tensor<4xf32>, tensor<4xf32>, tensor<4xi64>) {
  %a = hl.cast %d : tensor<4xf64> -> tensor<4xf32>
  %a2 = hl.cast %a : tensor<4xf32> -> tensor<4xf64>
  %b = hl.cast %x : tensor<4xf32> -> tensor<4xi32>
  %b2 = hl.cast %b : tensor<4xi32> -> tensor<4xf32>
  %c = hl.cast %h : tensor<4xf16> -> tensor<4xbf16>
  %c2 = hl.cast %c : tensor<4xbf16> -> tensor<4xf32>
  %e = hl.cast %l : tensor<4xi64> -> tensor<4xi32>
  %e2 = hl.cast %e : tensor<4xi32> -> tensor<4xi64>
  func.return %a2, %b2, %c2, %e2 : tensor<4xf64>, tensor<4xf32>, tensor<4xf32>, tensor<4xi64>
}
