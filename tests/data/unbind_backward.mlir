builtin.module {
  func.func @backward(%0: tensor<5x5xf32>, %ct: tensor<f32>) -> tensor<5x5xf32> {
    %1 = hl.slice %0 start=[0, 0] stop=[1, 5] step=[1, 1] : tensor<5x5xf32> -> tensor<1x5xf32>
    %2 = hl.reshape %1 : tensor<1x5xf32> -> tensor<5xf32>
    %3 = hl.slice %0 start=[1, 0] stop=[2, 5] step=[1, 1] : tensor<5x5xf32> -> tensor<1x5xf32>
    %4 = hl.reshape %3 : tensor<1x5xf32> -> tensor<5xf32>
    %5 = hl.slice %0 start=[2, 0] stop=[3, 5] step=[1, 1] : tensor<5x5xf32> -> tensor<1x5xf32>
    %6 = hl.reshape %5 : tensor<1x5xf32> -> tensor<5xf32>
    %7 = hl.slice %0 start=[3, 0] stop=[4, 5] step=[1, 1] : tensor<5x5xf32> -> tensor<1x5xf32>
    %8 = hl.reshape %7 : tensor<1x5xf32> -> tensor<5xf32>
    %9 = hl.slice %0 start=[4, 0] stop=[5, 5] step=[1, 1] : tensor<5x5xf32> -> tensor<1x5xf32>
    %10 = hl.reshape %9 : tensor<1x5xf32> -> tensor<5xf32>
    %11 = hl.splat value=0.0 : tensor<5xf32>
    %12 = hl.add %11, %2 : tensor<5xf32>
    %13 = hl.add %12, %4 : tensor<5xf32>
    %14 = hl.add %13, %6 : tensor<5xf32>
    %15 = hl.add %14, %8 : tensor<5xf32>
    %16 = hl.add %15, %10 : tensor<5xf32>
    %17 = hl.reduce_sum %16 dims=[0] : tensor<5xf32> -> tensor<f32>
    %18 = hl.reshape %ct : tensor<f32> -> tensor<1xf32>
    %19 = hl.broadcast_in_dim %18 dims=[0] : tensor<1xf32> -> tensor<5xf32>
    %20 = hl.reshape %19 : tensor<5xf32> -> tensor<1x5xf32>
    %21 = hl.pad %20 low=[4, 0] high=[0, 0] interior=[0, 0] value=0.0 : tensor<1x5xf32> -> tensor<5x5xf32>
    %22 = hl.reshape %19 : tensor<5xf32> -> tensor<1x5xf32>
    %23 = hl.pad %22 low=[3, 0] high=[1, 0] interior=[0, 0] value=0.0 : tensor<1x5xf32> -> tensor<5x5xf32>
    %24 = hl.add %21, %23 : tensor<5x5xf32>
    %25 = hl.reshape %19 : tensor<5xf32> -> tensor<1x5xf32>
    %26 = hl.pad %25 low=[2, 0] high=[2, 0] interior=[0, 0] value=0.0 : tensor<1x5xf32> -> tensor<5x5xf32>
    %27 = hl.add %24, %26 : tensor<5x5xf32>
    %28 = hl.reshape %19 : tensor<5xf32> -> tensor<1x5xf32>
    %29 = hl.pad %28 low=[1, 0] high=[3, 0] interior=[0, 0] value=0.0 : tensor<1x5xf32> -> tensor<5x5xf32>
    %30 = hl.add %27, %29 : tensor<5x5xf32>
    %31 = hl.reshape %19 : tensor<5xf32> -> tensor<1x5xf32>
    %32 = hl.pad %31 low=[0, 0] high=[4, 0] interior=[0, 0] value=0.0 : tensor<1x5xf32> -> tensor<5x5xf32>
    %33 = hl.add %30, %32 : tensor<5x5xf32>
    func.return %33 : tensor<5x5xf32>
  }
}