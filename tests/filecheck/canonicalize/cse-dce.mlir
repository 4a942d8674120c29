// RUN: lamina-opt %s -p cse | filecheck %s --check-prefix=CSE
// RUN: lamina-opt %s -p dce | filecheck %s --check-prefix=DCE

// cse merges identical pure hl ops (same operands, same properties) but not ops
// whose properties differ; both remove hl ops whose results are unused.
// CSE-LABEL: func.func @f
// CSE-NEXT:    %[[A:.*]] = hl.exp %x : tensor<2x3xf32>
// CSE-NEXT:    %[[S:.*]] = hl.reduce_sum %[[A]] dims=[0] : tensor<2x3xf32> -> tensor<3xf32>
// CSE-NEXT:    %[[T:.*]] = hl.reduce_sum %[[A]] dims=[1] : tensor<2x3xf32> -> tensor<2xf32>
// CSE-NEXT:    func.return %[[S]], %[[S]], %[[T]]
// DCE-LABEL: func.func @f
// DCE-NOT:     hl.tanh
// DCE:         func.return
func.func @f(%x: tensor<2x3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<2xf32>) {
  %a = hl.exp %x : tensor<2x3xf32>
  %b = hl.exp %x : tensor<2x3xf32>
  %s0 = hl.reduce_sum %a dims=[0] : tensor<2x3xf32> -> tensor<3xf32>
  %s1 = hl.reduce_sum %b dims=[0] : tensor<2x3xf32> -> tensor<3xf32>
  %s2 = hl.reduce_sum %b dims=[1] : tensor<2x3xf32> -> tensor<2xf32>
  %dead = hl.tanh %x : tensor<2x3xf32>
  func.return %s0, %s1, %s2 : tensor<3xf32>, tensor<3xf32>, tensor<2xf32>
}
