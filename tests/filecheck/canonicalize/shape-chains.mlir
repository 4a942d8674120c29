// RUN: lamina-opt %s -p canonicalize | filecheck %s

// reshape of reshape is one reshape; back to the original shape it is nothing.
// CHECK-LABEL: func.func @reshapes
// CHECK-NEXT:    %[[R:.*]] = hl.reshape %x : tensor<2x3x4xf32> -> tensor<4x6xf32>
// CHECK-NEXT:    func.return %[[R]], %x : tensor<4x6xf32>, tensor<2x3x4xf32>
func.func @reshapes(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<2x3x4xf32>) {
  %a = hl.reshape %x : tensor<2x3x4xf32> -> tensor<24xf32>
  %b = hl.reshape %a : tensor<24xf32> -> tensor<4x6xf32>
  %c = hl.reshape %b : tensor<4x6xf32> -> tensor<2x3x4xf32>
  func.return %b, %c : tensor<4x6xf32>, tensor<2x3x4xf32>
}

// transpose of transpose composes the permutations; inverse permutations cancel.
// CHECK-LABEL: func.func @transposes
// CHECK-NEXT:    %[[T:.*]] = hl.transpose %x perm=[2, 1, 0] : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
// CHECK-NEXT:    func.return %[[T]], %x : tensor<4x3x2xf32>, tensor<2x3x4xf32>
func.func @transposes(%x: tensor<2x3x4xf32>) -> (tensor<4x3x2xf32>, tensor<2x3x4xf32>) {
  %a = hl.transpose %x perm=[1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %b = hl.transpose %a perm=[1, 0, 2] : tensor<3x4x2xf32> -> tensor<4x3x2xf32>
  %c = hl.transpose %a perm=[2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  func.return %b, %c : tensor<4x3x2xf32>, tensor<2x3x4xf32>
}

// broadcast of broadcast is one broadcast (operand dim i goes to d2[d1[i]]).
// CHECK-LABEL: func.func @broadcasts
// CHECK-NEXT:    %[[B:.*]] = hl.broadcast_in_dim %x dims=[2] : tensor<4xf32> -> tensor<5x3x4xf32>
// CHECK-NEXT:    func.return %[[B]]
func.func @broadcasts(%x: tensor<4xf32>) -> tensor<5x3x4xf32> {
  %a = hl.broadcast_in_dim %x dims=[1] : tensor<4xf32> -> tensor<3x4xf32>
  %b = hl.broadcast_in_dim %a dims=[1, 2] : tensor<3x4xf32> -> tensor<5x3x4xf32>
  func.return %b : tensor<5x3x4xf32>
}

// Identity shape ops disappear.
// CHECK-LABEL: func.func @identities
// CHECK-NEXT:    func.return %x, %x, %x : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %a = hl.reshape %x : tensor<2x3xf32> -> tensor<2x3xf32>
  %b = hl.transpose %x perm=[0, 1] : tensor<2x3xf32> -> tensor<2x3xf32>
  %c = hl.broadcast_in_dim %x dims=[0, 1] : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %a, %b, %c : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// A reshape that only adds size-1 dims before a broadcast folds into the broadcast;
// one that moves elements between dims does not.
// CHECK-LABEL: func.func @unit_reshape_broadcast
// CHECK-NEXT:    %[[A:.*]] = hl.broadcast_in_dim %s dims=[] : tensor<f32> -> tensor<8x2xf32>
// CHECK-NEXT:    %[[B:.*]] = hl.broadcast_in_dim %v dims=[1] : tensor<4xf32> -> tensor<3x4xf32>
// CHECK-NEXT:    %[[R:.*]] = hl.reshape %m : tensor<2x2xf32> -> tensor<4x1xf32>
// CHECK-NEXT:    %[[C:.*]] = hl.broadcast_in_dim %[[R]] dims=[0, 1] : tensor<4x1xf32> -> tensor<4x3xf32>
// CHECK-NEXT:    func.return %[[A]], %[[B]], %[[C]]
func.func @unit_reshape_broadcast(%s: tensor<f32>, %v: tensor<4xf32>, %m: tensor<2x2xf32>) -> (tensor<8x2xf32>, tensor<3x4xf32>, tensor<4x3xf32>) {
  %s1 = hl.reshape %s : tensor<f32> -> tensor<1x1xf32>
  %a = hl.broadcast_in_dim %s1 dims=[0, 1] : tensor<1x1xf32> -> tensor<8x2xf32>
  %v1 = hl.reshape %v : tensor<4xf32> -> tensor<1x4xf32>
  %b = hl.broadcast_in_dim %v1 dims=[0, 1] : tensor<1x4xf32> -> tensor<3x4xf32>
  %m1 = hl.reshape %m : tensor<2x2xf32> -> tensor<4x1xf32>
  %c = hl.broadcast_in_dim %m1 dims=[0, 1] : tensor<4x1xf32> -> tensor<4x3xf32>
  func.return %a, %b, %c : tensor<8x2xf32>, tensor<3x4xf32>, tensor<4x3xf32>
}

// A transpose of a reshape that only inserts size-1 dims permutes the operand first;
// between two such reshapes (a conv gradient's group split) that leaves one transpose.
// CHECK-LABEL: func.func @unit_reshape_transpose
// CHECK-NEXT:    %[[T:.*]] = hl.transpose %w perm=[1, 0, 2, 3] : tensor<4x3x5x5xf32> -> tensor<3x4x5x5xf32>
// CHECK-NEXT:    %[[U:.*]] = hl.transpose %w perm=[1, 0, 2, 3] : tensor<4x3x5x5xf32> -> tensor<3x4x5x5xf32>
// CHECK-NEXT:    %[[R:.*]] = hl.reshape %[[U]] : tensor<3x4x5x5xf32> -> tensor<3x1x4x5x5xf32>
// CHECK-NEXT:    func.return %[[T]], %[[R]]
func.func @unit_reshape_transpose(%w: tensor<4x3x5x5xf32>) -> (tensor<3x4x5x5xf32>, tensor<3x1x4x5x5xf32>) {
  %a = hl.reshape %w : tensor<4x3x5x5xf32> -> tensor<1x4x3x5x5xf32>
  %b = hl.transpose %a perm=[0, 2, 1, 3, 4] : tensor<1x4x3x5x5xf32> -> tensor<1x3x4x5x5xf32>
  %c = hl.reshape %b : tensor<1x3x4x5x5xf32> -> tensor<3x4x5x5xf32>
  %d = hl.transpose %a perm=[2, 0, 1, 3, 4] : tensor<1x4x3x5x5xf32> -> tensor<3x1x4x5x5xf32>
  func.return %c, %d : tensor<3x4x5x5xf32>, tensor<3x1x4x5x5xf32>
}
