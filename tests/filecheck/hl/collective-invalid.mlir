// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @bad_op(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{hl.all_reduce: op 'mean' is not one of ['sum', 'avg', 'max', 'min', 'prod']}}
  %r = hl.all_reduce %a op="mean" : tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// -----

func.func @gather_shape(%a: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error@+1 {{hl.all_gather: result type tensor<4x3xf32> does not match the inferred tensor<8x3xf32>}}
  %r = hl.all_gather %a dim=0 world_size=2 : tensor<4x3xf32> -> tensor<4x3xf32>
  func.return %r : tensor<4x3xf32>
}

// -----

func.func @scatter_split(%a: tensor<5x3xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{hl.reduce_scatter: dim 0 of size 5 does not split into 2 equal blocks}}
  %r = hl.reduce_scatter %a op="sum" dim=0 world_size=2 : tensor<5x3xf32> -> tensor<2x3xf32>
  func.return %r : tensor<2x3xf32>
}

// -----

func.func @gather_dim(%a: tensor<4x3xf32>) -> tensor<4x6xf32> {
  // expected-error@+1 {{hl.all_gather: dim 2 out of range for rank 2}}
  %r = hl.all_gather %a dim=2 world_size=2 : tensor<4x3xf32> -> tensor<4x6xf32>
  func.return %r : tensor<4x6xf32>
}

// -----

func.func @bad_root(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{hl.broadcast: src must be a rank >= 0, got -1}}
  %r = hl.broadcast %a src=-1 : tensor<4xf32>
  func.return %r : tensor<4xf32>
}
