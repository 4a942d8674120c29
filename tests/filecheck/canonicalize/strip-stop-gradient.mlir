// RUN: lamina-opt %s -p canonicalize | filecheck %s --check-prefix=KEEP
// RUN: lamina-opt %s -p strip-stop-gradient | filecheck %s --check-prefix=STRIP

// canonicalize keeps stop_gradient (the program may still be differentiated);
// strip-stop-gradient, run after autodiff, removes it.
// KEEP-LABEL: func.func @f
// KEEP-NEXT:    %[[S:.*]] = hl.stop_gradient %x : tensor<4xf32>
// KEEP-NEXT:    %[[M:.*]] = hl.mul %[[S]], %x : tensor<4xf32>
// STRIP-LABEL: func.func @f
// STRIP-NEXT:    %[[M:.*]] = hl.mul %x, %x : tensor<4xf32>
// STRIP-NEXT:    func.return %[[M]]
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = hl.stop_gradient %x : tensor<4xf32>
  %m = hl.mul %s, %x : tensor<4xf32>
  func.return %m : tensor<4xf32>
}
