// RUN: lamina-opt %s --split-input-file -p conv-to-gemm | filecheck %s

// im2col: the columns [N, C*K, P] are gathered from the input with iota index
// arithmetic (o * stride + j * dilation), then one batched GEMM with the weights
// [O, C*K] gives [N, O, P], already in NCW order.
// CHECK-LABEL: func.func @im2col(%x: tensor<4x8x64xf32>, %w: tensor<16x8x3xf32>) -> tensor<4x16x62xf32> {
// CHECK-NEXT:    %[[PAD:.*]] = hl.pad %x low=[0, 0, 0] high=[0, 0, 0] interior=[0, 0, 0] value=0.0 : tensor<4x8x64xf32>
// CHECK-NEXT:    %[[J:.*]] = hl.iota dim=0 : tensor<3x62xi64>
// CHECK-NEXT:    %[[O:.*]] = hl.iota dim=1 : tensor<3x62xi64>
// CHECK-NEXT:    %[[IDX:.*]] = hl.add %[[J]], %[[O]] : tensor<3x62xi64>
// CHECK-NEXT:    %[[G:.*]] = hl.gather %[[PAD]], %[[IDX]] axis=2 : (tensor<4x8x64xf32>, tensor<3x62xi64>) -> tensor<4x8x3x62xf32>
// CHECK-NEXT:    %[[G1:.*]] = hl.reshape %[[G]] : tensor<4x8x3x62xf32> -> tensor<4x1x8x3x62xf32>
// CHECK-NEXT:    %[[COLS:.*]] = hl.reshape %[[G1]] : tensor<4x1x8x3x62xf32> -> tensor<4x1x24x62xf32>
// CHECK-NEXT:    %[[W:.*]] = hl.reshape %w : tensor<16x8x3xf32> -> tensor<1x1x16x24xf32>
// CHECK-NEXT:    %[[WB:.*]] = hl.broadcast_in_dim %[[W]] dims=[0, 1, 2, 3] : tensor<1x1x16x24xf32> -> tensor<4x1x16x24xf32>
// CHECK-NEXT:    %[[MM:.*]] = hl.matmul %[[WB]], %[[COLS]] : (tensor<4x1x16x24xf32>, tensor<4x1x24x62xf32>) -> tensor<4x1x16x62xf32>
// CHECK-NEXT:    %y = hl.reshape %[[MM]] : tensor<4x1x16x62xf32> -> tensor<4x16x62xf32>
// CHECK-NEXT:    func.return %y : tensor<4x16x62xf32>
func.func @im2col(%x: tensor<4x8x64xf32>, %w: tensor<16x8x3xf32>) -> tensor<4x16x62xf32> {
  %y = hl.conv %x, %w stride=[1] padding=[0, 0] dilation=[1] groups=1 : (tensor<4x8x64xf32>, tensor<16x8x3xf32>) -> tensor<4x16x62xf32>
  func.return %y : tensor<4x16x62xf32>
}

// -----

// Padding is an hl.pad of the input; the stride scales the output position.
// CHECK-LABEL: func.func @im2col_strided_padded
// CHECK-NEXT:    %[[PAD:.*]] = hl.pad %x low=[0, 0, 1] high=[0, 0, 1] interior=[0, 0, 0] value=0.0 : tensor<4x8x64xf32> -> tensor<4x8x66xf32>
// CHECK-NEXT:    %[[J:.*]] = hl.iota dim=0 : tensor<3x32xi64>
// CHECK-NEXT:    %[[O:.*]] = hl.iota dim=1 : tensor<3x32xi64>
// CHECK-NEXT:    %[[S:.*]] = hl.splat value=2 : tensor<3x32xi64>
// CHECK-NEXT:    %[[OS:.*]] = hl.mul %[[O]], %[[S]] : tensor<3x32xi64>
// CHECK-NEXT:    %[[IDX:.*]] = hl.add %[[J]], %[[OS]] : tensor<3x32xi64>
// CHECK-NEXT:    hl.gather %[[PAD]], %[[IDX]] axis=2 : (tensor<4x8x66xf32>, tensor<3x32xi64>) -> tensor<4x8x3x32xf32>
// CHECK:         hl.matmul {{.*}} : (tensor<4x1x16x24xf32>, tensor<4x1x24x32xf32>) -> tensor<4x1x16x32xf32>
// CHECK-NOT:     hl.conv
func.func @im2col_strided_padded(%x: tensor<4x8x64xf32>, %w: tensor<16x8x3xf32>) -> tensor<4x16x32xf32> {
  %y = hl.conv %x, %w stride=[2] padding=[1, 1] dilation=[1] groups=1 : (tensor<4x8x64xf32>, tensor<16x8x3xf32>) -> tensor<4x16x32xf32>
  func.return %y : tensor<4x16x32xf32>
}

// -----

// Fewer output than input channels at stride 1 (an input gradient, typically): the
// GEMM multiplies the input as it lies, Z[(o, k), s] = W[o, :, k] . x[:, s], and the
// K shifted slices of Z are added.
// CHECK-LABEL: func.func @shifted(%x: tensor<1x32x50xf32>, %w: tensor<8x32x3xf32>) -> tensor<1x8x48xf32> {
// CHECK-NEXT:    %[[WT:.*]] = hl.transpose %w perm=[0, 2, 1] : tensor<8x32x3xf32> -> tensor<8x3x32xf32>
// CHECK-NEXT:    %[[W:.*]] = hl.reshape %[[WT]] : tensor<8x3x32xf32> -> tensor<1x24x32xf32>
// CHECK-NEXT:    %[[Z:.*]] = hl.matmul %[[W]], %x : (tensor<1x24x32xf32>, tensor<1x32x50xf32>) -> tensor<1x24x50xf32>
// CHECK-NEXT:    %[[Z4:.*]] = hl.reshape %[[Z]] : tensor<1x24x50xf32> -> tensor<1x8x3x50xf32>
// CHECK-NEXT:    %[[ZP:.*]] = hl.pad %[[Z4]] low=[0, 0, 0, 0] high=[0, 0, 0, 0] interior=[0, 0, 0, 0] value=0.0 : tensor<1x8x3x50xf32>
// CHECK-NEXT:    %[[S0:.*]] = hl.slice %[[ZP]] start=[0, 0, 0, 0] stop=[1, 8, 1, 48] step=[1, 1, 1, 1] : tensor<1x8x3x50xf32> -> tensor<1x8x1x48xf32>
// CHECK-NEXT:    %[[T0:.*]] = hl.reshape %[[S0]] : tensor<1x8x1x48xf32> -> tensor<1x8x48xf32>
// CHECK-NEXT:    %[[S1:.*]] = hl.slice %[[ZP]] start=[0, 0, 1, 1] stop=[1, 8, 2, 49] step=[1, 1, 1, 1] : tensor<1x8x3x50xf32> -> tensor<1x8x1x48xf32>
// CHECK-NEXT:    %[[T1:.*]] = hl.reshape %[[S1]] : tensor<1x8x1x48xf32> -> tensor<1x8x48xf32>
// CHECK-NEXT:    %[[A1:.*]] = hl.add %[[T0]], %[[T1]] : tensor<1x8x48xf32>
// CHECK-NEXT:    %[[S2:.*]] = hl.slice %[[ZP]] start=[0, 0, 2, 2] stop=[1, 8, 3, 50] step=[1, 1, 1, 1] : tensor<1x8x3x50xf32> -> tensor<1x8x1x48xf32>
// CHECK-NEXT:    %[[T2:.*]] = hl.reshape %[[S2]] : tensor<1x8x1x48xf32> -> tensor<1x8x48xf32>
// CHECK-NEXT:    %y = hl.add %[[A1]], %[[T2]] : tensor<1x8x48xf32>
// CHECK-NEXT:    func.return %y : tensor<1x8x48xf32>
func.func @shifted(%x: tensor<1x32x50xf32>, %w: tensor<8x32x3xf32>) -> tensor<1x8x48xf32> {
  %y = hl.conv %x, %w stride=[1] padding=[0, 0] dilation=[1] groups=1 : (tensor<1x32x50xf32>, tensor<8x32x3xf32>) -> tensor<1x8x48xf32>
  func.return %y : tensor<1x8x48xf32>
}

// -----

// Left alone: element types BLAS does not take, fewer than 8 output channels per
// group (the direct loop wins), and convs too small to gain.
// CHECK-LABEL: func.func @f16
// CHECK-NEXT:    %y = hl.conv %x, %w
// CHECK-LABEL: func.func @few_channels
// CHECK-NEXT:    %y = hl.conv %x, %w
// CHECK-LABEL: func.func @tiny
// CHECK-NEXT:    %y = hl.conv %x, %w
func.func @f16(%x: tensor<4x8x64xf16>, %w: tensor<16x8x3xf16>) -> tensor<4x16x62xf16> {
  %y = hl.conv %x, %w stride=[1] padding=[0, 0] dilation=[1] groups=1 : (tensor<4x8x64xf16>, tensor<16x8x3xf16>) -> tensor<4x16x62xf16>
  func.return %y : tensor<4x16x62xf16>
}
func.func @few_channels(%x: tensor<4x8x256xf32>, %w: tensor<4x8x3xf32>) -> tensor<4x4x254xf32> {
  %y = hl.conv %x, %w stride=[1] padding=[0, 0] dilation=[1] groups=1 : (tensor<4x8x256xf32>, tensor<4x8x3xf32>) -> tensor<4x4x254xf32>
  func.return %y : tensor<4x4x254xf32>
}
func.func @tiny(%x: tensor<1x8x10xf32>, %w: tensor<16x8x3xf32>) -> tensor<1x16x8xf32> {
  %y = hl.conv %x, %w stride=[1] padding=[0, 0] dilation=[1] groups=1 : (tensor<1x8x10xf32>, tensor<16x8x3xf32>) -> tensor<1x16x8xf32>
  func.return %y : tensor<1x16x8xf32>
}

// -----

// Depthwise (one channel per group): the weighted sum of the K strided slices of the
// padded input, one elementwise kernel after fusion.
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT:     hl.conv
// CHECK:         %[[PAD:.*]] = hl.pad %x low=[0, 0, 1] high=[0, 0, 1]
// CHECK:         hl.slice %[[PAD]] start=[0, 0, 0] stop=[2, 6, 31] step=[1, 1, 2]
// CHECK:         hl.slice %[[PAD]] start=[0, 0, 1] stop=[2, 6, 32] step=[1, 1, 2]
// CHECK:         hl.slice %[[PAD]] start=[0, 0, 2] stop=[2, 6, 33] step=[1, 1, 2]
// CHECK:         %y = hl.add
// CHECK-NEXT:    func.return %y : tensor<2x6x16xf32>
func.func @depthwise(%x: tensor<2x6x32xf32>, %w: tensor<6x1x3xf32>) -> tensor<2x6x16xf32> {
  %y = hl.conv %x, %w stride=[2] padding=[1, 1] dilation=[1] groups=6 : (tensor<2x6x32xf32>, tensor<6x1x3xf32>) -> tensor<2x6x16xf32>
  func.return %y : tensor<2x6x16xf32>
}
