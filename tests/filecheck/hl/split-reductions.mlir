// RUN: lamina-opt %s --split-input-file -p split-reductions | filecheck %s

// A full reduction of 2^16 elements or more runs in two stages: S partial results
// computed in parallel (S a divisor near sqrt(N)), then one reduction of those,
// instead of a single-point kernel looping over all N elements.
// CHECK-LABEL: func.func @sum_all(%x: tensor<65536xf32>) -> tensor<f32> {
// CHECK-NEXT:    %[[ROWS:.*]] = hl.reshape %x : tensor<65536xf32> -> tensor<256x256xf32>
// CHECK-NEXT:    %[[PART:.*]] = hl.reduce_sum %[[ROWS]] dims=[1] : tensor<256x256xf32> -> tensor<256xf32>
// CHECK-NEXT:    %r = hl.reduce_sum %[[PART]] dims=[0] : tensor<256xf32> -> tensor<f32>
// CHECK-NEXT:    func.return %r : tensor<f32>
func.func @sum_all(%x: tensor<65536xf32>) -> tensor<f32> {
  %r = hl.reduce_sum %x dims=[0] : tensor<65536xf32> -> tensor<f32>
  func.return %r : tensor<f32>
}

// -----

// Any rank, and max/min/prod as well as sum: both stages keep the reduction's kind.
// CHECK-LABEL: func.func @max_all_2d(%x: tensor<512x256xf32>) -> tensor<f32> {
// CHECK-NEXT:    %[[ROWS:.*]] = hl.reshape %x : tensor<512x256xf32> -> tensor<256x512xf32>
// CHECK-NEXT:    %[[PART:.*]] = hl.reduce_max %[[ROWS]] dims=[1] : tensor<256x512xf32> -> tensor<256xf32>
// CHECK-NEXT:    %r = hl.reduce_max %[[PART]] dims=[0] : tensor<256xf32> -> tensor<f32>
// CHECK-NEXT:    func.return %r : tensor<f32>
func.func @max_all_2d(%x: tensor<512x256xf32>) -> tensor<f32> {
  %r = hl.reduce_max %x dims=[0, 1] : tensor<512x256xf32> -> tensor<f32>
  func.return %r : tensor<f32>
}

// -----

// Left alone: fewer than 2^16 elements, a size without a divisor of at least 64
// below its square root, a reduction over some dims only (already parallel).
// CHECK-LABEL: func.func @small
// CHECK-NEXT:    %r = hl.reduce_sum %x dims=[0] : tensor<65535xf32> -> tensor<f32>
// CHECK-LABEL: func.func @prime
// CHECK-NEXT:    %r = hl.reduce_sum %x dims=[0] : tensor<65537xf32> -> tensor<f32>
// CHECK-LABEL: func.func @partial
// CHECK-NEXT:    %r = hl.reduce_sum %x dims=[1] : tensor<512x256xf32> -> tensor<512xf32>
func.func @small(%x: tensor<65535xf32>) -> tensor<f32> {
  %r = hl.reduce_sum %x dims=[0] : tensor<65535xf32> -> tensor<f32>
  func.return %r : tensor<f32>
}
func.func @prime(%x: tensor<65537xf32>) -> tensor<f32> {
  %r = hl.reduce_sum %x dims=[0] : tensor<65537xf32> -> tensor<f32>
  func.return %r : tensor<f32>
}
func.func @partial(%x: tensor<512x256xf32>) -> tensor<512xf32> {
  %r = hl.reduce_sum %x dims=[1] : tensor<512x256xf32> -> tensor<512xf32>
  func.return %r : tensor<512xf32>
}
