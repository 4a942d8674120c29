// RUN: lamina-opt %s -p lower-hl-to-loop | filecheck %s
// A jitted MLP training step (forward, cross_entropy, backward, SGD update) as traced
// by lm.jit + lm.value_and_grad and simplified. Fusion budget: 5 matmuls + 9 kernels.
// CHECK-LABEL: func.func @step
// CHECK-COUNT-14: {{loop.kernel|loop.matmul}}
// CHECK-NOT: {{loop.kernel|loop.matmul}}
// CHECK: func.return


func.func @step(%x: tensor<8x16xf32>, %y: tensor<8xi64>, %w1: tensor<16x32xf32>, %b1: tensor<32xf32>, %w2: tensor<32x4xf32>, %b2: tensor<4xf32>) -> (tensor<f32>, tensor<16x32xf32>, tensor<32xf32>, tensor<32x4xf32>, tensor<4xf32>) {
  %0 = hl.matmul %x, %w1 : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %1 = hl.broadcast_in_dim %b1 dims=[1] : tensor<32xf32> -> tensor<8x32xf32>
  %2 = hl.add %0, %1 : tensor<8x32xf32>
  %3 = hl.splat value=0.0 : tensor<8x32xf32>
  %4 = hl.max %2, %3 : tensor<8x32xf32>
  %5 = hl.matmul %4, %w2 : (tensor<8x32xf32>, tensor<32x4xf32>) -> tensor<8x4xf32>
  %6 = hl.broadcast_in_dim %b2 dims=[1] : tensor<4xf32> -> tensor<8x4xf32>
  %7 = hl.add %5, %6 : tensor<8x4xf32>
  %8 = hl.reduce_max %7 dims=[1] : tensor<8x4xf32> -> tensor<8xf32>
  %9 = hl.reshape %8 : tensor<8xf32> -> tensor<8x1xf32>
  %10 = hl.stop_gradient %9 : tensor<8x1xf32>
  %11 = hl.broadcast_in_dim %10 dims=[0, 1] : tensor<8x1xf32> -> tensor<8x4xf32>
  %12 = hl.sub %7, %11 : tensor<8x4xf32>
  %13 = hl.exp %12 : tensor<8x4xf32>
  %14 = hl.reduce_sum %13 dims=[1] : tensor<8x4xf32> -> tensor<8xf32>
  %15 = hl.reshape %14 : tensor<8xf32> -> tensor<8x1xf32>
  %16 = hl.log %15 : tensor<8x1xf32>
  %17 = hl.broadcast_in_dim %16 dims=[0, 1] : tensor<8x1xf32> -> tensor<8x4xf32>
  %18 = hl.sub %12, %17 : tensor<8x4xf32>
  %19 = hl.iota dim=0 : tensor<4xi64>
  %20 = hl.broadcast_in_dim %y dims=[0] : tensor<8xi64> -> tensor<8x4xi64>
  %21 = hl.broadcast_in_dim %19 dims=[1] : tensor<4xi64> -> tensor<8x4xi64>
  %22 = hl.eq %20, %21 : (tensor<8x4xi64>, tensor<8x4xi64>) -> tensor<8x4xi1>
  %23 = hl.cast %22 : tensor<8x4xi1> -> tensor<8x4xf32>
  %24 = hl.reduce_sum %23 dims=[1] : tensor<8x4xf32> -> tensor<8xf32>
  %25 = hl.mul %18, %23 : tensor<8x4xf32>
  %26 = hl.reduce_sum %25 dims=[1] : tensor<8x4xf32> -> tensor<8xf32>
  %27 = hl.neg %26 : tensor<8xf32>
  %28 = hl.mul %27, %24 : tensor<8xf32>
  %29 = hl.reduce_sum %28 dims=[0] : tensor<8xf32> -> tensor<f32>
  %30 = hl.reduce_sum %24 dims=[0] : tensor<8xf32> -> tensor<f32>
  %31 = hl.div %29, %30 : tensor<f32>
  %32 = hl.splat value=1.0 : tensor<f32>
  %33 = hl.div %32, %30 : tensor<f32>
  %34 = hl.broadcast_in_dim %33 dims=[] : tensor<f32> -> tensor<8xf32>
  %35 = hl.mul %34, %24 : tensor<8xf32>
  %36 = hl.neg %35 : tensor<8xf32>
  %37 = hl.broadcast_in_dim %36 dims=[0] : tensor<8xf32> -> tensor<8x4xf32>
  %38 = hl.mul %37, %23 : tensor<8x4xf32>
  %39 = hl.neg %38 : tensor<8x4xf32>
  %40 = hl.reduce_sum %39 dims=[1] : tensor<8x4xf32> -> tensor<8xf32>
  %41 = hl.reshape %40 : tensor<8xf32> -> tensor<8x1xf32>
  %42 = hl.div %41, %15 : tensor<8x1xf32>
  %43 = hl.broadcast_in_dim %42 dims=[0, 1] : tensor<8x1xf32> -> tensor<8x4xf32>
  %44 = hl.mul %43, %13 : tensor<8x4xf32>
  %45 = hl.add %38, %44 : tensor<8x4xf32>
  %46 = hl.reduce_sum %45 dims=[0] : tensor<8x4xf32> -> tensor<4xf32>
  %47 = hl.transpose %w2 perm=[1, 0] : tensor<32x4xf32> -> tensor<4x32xf32>
  %48 = hl.matmul %45, %47 : (tensor<8x4xf32>, tensor<4x32xf32>) -> tensor<8x32xf32>
  %49 = hl.transpose %4 perm=[1, 0] : tensor<8x32xf32> -> tensor<32x8xf32>
  %50 = hl.matmul %49, %45 : (tensor<32x8xf32>, tensor<8x4xf32>) -> tensor<32x4xf32>
  %51 = hl.gt %2, %3 : (tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x32xi1>
  %52 = hl.cast %51 : tensor<8x32xi1> -> tensor<8x32xf32>
  %53 = hl.eq %2, %3 : (tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x32xi1>
  %54 = hl.cast %53 : tensor<8x32xi1> -> tensor<8x32xf32>
  %55 = hl.splat value=0.5 : tensor<8x32xf32>
  %56 = hl.mul %54, %55 : tensor<8x32xf32>
  %57 = hl.add %52, %56 : tensor<8x32xf32>
  %58 = hl.mul %48, %57 : tensor<8x32xf32>
  %59 = hl.reduce_sum %58 dims=[0] : tensor<8x32xf32> -> tensor<32xf32>
  %60 = hl.transpose %x perm=[1, 0] : tensor<8x16xf32> -> tensor<16x8xf32>
  %61 = hl.matmul %60, %58 : (tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<16x32xf32>
  %62 = hl.splat value=0.1 : tensor<16x32xf32>
  %63 = hl.mul %62, %61 : tensor<16x32xf32>
  %64 = hl.sub %w1, %63 : tensor<16x32xf32>
  %65 = hl.splat value=0.1 : tensor<32xf32>
  %66 = hl.mul %65, %59 : tensor<32xf32>
  %67 = hl.sub %b1, %66 : tensor<32xf32>
  %68 = hl.splat value=0.1 : tensor<32x4xf32>
  %69 = hl.mul %68, %50 : tensor<32x4xf32>
  %70 = hl.sub %w2, %69 : tensor<32x4xf32>
  %71 = hl.splat value=0.1 : tensor<4xf32>
  %72 = hl.mul %71, %46 : tensor<4xf32>
  %73 = hl.sub %b2, %72 : tensor<4xf32>
  func.return %31, %64, %67, %70, %73 : tensor<f32>, tensor<16x32xf32>, tensor<32xf32>, tensor<32x4xf32>, tensor<4xf32>
}
