// RUN: lamina-opt %s --split-input-file --verify-diagnostics | filecheck %s
// One case per verifier error of hl.matmul, hl.conv, hl.reduce_window and the
// max-pool gradient ops.

%a = "test.op"() : () -> tensor<4x8xf32>
%b = "test.op"() : () -> tensor<7x16xf32>
%c = hl.matmul %a, %b : (tensor<4x8xf32>, tensor<7x16xf32>) -> tensor<4x16xf32>
// CHECK: hl.matmul: contraction dims differ: 8 vs 7 (shapes [4, 8] and [7, 16])

// -----

%a = "test.op"() : () -> tensor<8xf32>
%c = hl.matmul %a, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<f32>
// CHECK: hl.matmul: operands must have rank >= 2, got [8] and [8]

// -----

%a = "test.op"() : () -> tensor<2x4x8xf32>
%b = "test.op"() : () -> tensor<3x8x5xf32>
%c = hl.matmul %a, %b : (tensor<2x4x8xf32>, tensor<3x8x5xf32>) -> tensor<2x4x5xf32>
// CHECK: hl.matmul: batch dims differ: [2] vs [3]

// -----

%a = "test.op"() : () -> tensor<4x8xf32>
%b = "test.op"() : () -> tensor<8x5xf64>
%c = hl.matmul %a, %b : (tensor<4x8xf32>, tensor<8x5xf64>) -> tensor<4x5xf32>
// CHECK: hl.matmul: element types differ: f32 vs f64

// -----

%a = "test.op"() : () -> tensor<4x4xi1>
%c = hl.matmul %a, %a : tensor<4x4xi1>
// CHECK: hl.matmul: needs a numeric tensor, got bool

// -----

%a = "test.op"() : () -> tensor<4x8xf32>
%b = "test.op"() : () -> tensor<8x5xf32>
%c = hl.matmul %a, %b : (tensor<4x8xf32>, tensor<8x5xf32>) -> tensor<4x6xf32>
// CHECK: hl.matmul: result type tensor<4x6xf32> does not match the inferred tensor<4x5xf32>

// -----

%x = "test.op"() : () -> tensor<2x3xf32>
%w = "test.op"() : () -> tensor<4x3xf32>
%c = hl.conv %x, %w stride=[] padding=[] dilation=[] groups=1 : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
// CHECK: hl.conv: input must be [N, C, *spatial] with a spatial dim, got [2, 3]

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%w = "test.op"() : () -> tensor<4x3x3xf32>
%c = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3xf32>) -> tensor<2x4x6x6xf32>
// CHECK: hl.conv: weight [4, 3, 3] must have the input's rank 4 ([O, C/groups, *kernel])

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%w = "test.op"() : () -> tensor<4x3x3x3xf16>
%c = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf16>) -> tensor<2x4x6x6xf32>
// CHECK: hl.conv: element types differ: f32 vs f16

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xi32>
%w = "test.op"() : () -> tensor<4x3x3x3xi32>
%c = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xi32>, tensor<4x3x3x3xi32>) -> tensor<2x4x6x6xi32>
// CHECK: hl.conv: needs floating-point tensors, got tensor<2x3x8x8xi32>

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%w = "test.op"() : () -> tensor<4x3x3x3xf32>
%c = hl.conv %x, %w stride=[1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
// CHECK: hl.conv: stride [1] must have one entry per spatial dim (2)

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%w = "test.op"() : () -> tensor<4x3x3x3xf32>
%c = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[0, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
// CHECK: hl.conv: dilation [0, 1] must be positive

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%w = "test.op"() : () -> tensor<4x3x3x3xf32>
%c = hl.conv %x, %w stride=[1, 1] padding=[1, 1] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
// CHECK: hl.conv: padding [1, 1] must have a lo, hi pair per spatial dim (4 entries)

// -----

%x = "test.op"() : () -> tensor<2x4x8x8xf32>
%w = "test.op"() : () -> tensor<6x2x3x3xf32>
%c = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=4 : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x6x6xf32>
// CHECK: hl.conv: groups=4 must divide the input channels 4 and the output channels 6

// -----

%x = "test.op"() : () -> tensor<2x4x8x8xf32>
%w = "test.op"() : () -> tensor<6x2x3x3xf32>
%c = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[1, 1] groups=1 : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x6x6xf32>
// CHECK: hl.conv: weight [6, 2, 3, 3] expects 2 input channels (groups=1), input [2, 4, 8, 8] has 4

// -----

%x = "test.op"() : () -> tensor<1x1x4x4xf32>
%w = "test.op"() : () -> tensor<1x1x3x3xf32>
%c = hl.conv %x, %w stride=[1, 1] padding=[0, 0, 0, 0] dilation=[2, 2] groups=1 : (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32>
// CHECK: hl.conv: the dilated kernel [3, 3] does not fit the padded input [4, 4] (padding [0, 0, 0, 0])

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%w = "test.op"() : () -> tensor<4x3x3x3xf32>
%c = hl.conv %x, %w stride=[1, 1] padding=[1, 1, 1, 1] dilation=[1, 1] groups=1 : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
// CHECK: hl.conv: result type tensor<2x4x6x6xf32> does not match the inferred tensor<2x4x8x8xf32>

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%r = hl.reduce_window %x kind="min" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
// CHECK: hl.reduce_window: kind 'min' must be one of ['max', 'sum']

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xi1>
%r = hl.reduce_window %x kind="max" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xi1> -> tensor<2x3x4x4xi1>
// CHECK: hl.reduce_window: needs a numeric tensor, got tensor<2x3x8x8xi1>

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%r = hl.reduce_window %x kind="max" window=[2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xf32> -> tensor<2x3x4x4xf32>
// CHECK: hl.reduce_window: window [2, 2] must have one entry per operand dim (4)

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%r = hl.reduce_window %x kind="max" window=[1, 1, 9, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xf32> -> tensor<2x3x1x4xf32>
// CHECK: hl.reduce_window: the window [1, 1, 9, 2] does not fit the padded operand [2, 3, 8, 8]

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%r = hl.reduce_window %x kind="sum" window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : tensor<2x3x8x8xf32> -> tensor<2x3x8x8xf32>
// CHECK: hl.reduce_window: result type tensor<2x3x8x8xf32> does not match the inferred tensor<2x3x4x4xf32>

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%s = "test.op"() : () -> tensor<2x3x4x4xf64>
%r = hl.select_and_scatter_add %x, %s window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf64>) -> tensor<2x3x8x8xf32>
// CHECK: hl.select_and_scatter_add: element types differ: f32 vs f64

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%s = "test.op"() : () -> tensor<2x3x3x3xf32>
%r = hl.select_and_scatter_add %x, %s window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x3x3xf32>) -> tensor<2x3x8x8xf32>
// CHECK: hl.select_and_scatter_add: second operand shape [2, 3, 3, 3] must be [2, 3, 4, 4]

// -----

%x = "test.op"() : () -> tensor<2x3x8x8xf32>
%v = "test.op"() : () -> tensor<2x3x4x4xf32>
%r = hl.select_and_gather %x, %v window=[1, 1, 2, 2] strides=[1, 1, 2, 2] padding=[0, 0, 0, 0, 0, 0, 0, 0] : (tensor<2x3x8x8xf32>, tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
// CHECK: hl.select_and_gather: second operand shape [2, 3, 4, 4] must be [2, 3, 8, 8]
