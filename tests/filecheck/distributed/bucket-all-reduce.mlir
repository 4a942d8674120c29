// RUN: lamina-opt %s --split-input-file -p 'bucket-all-reduce{bucket_bytes=64}' | filecheck %s

// Three small gradients (24 + 16 + 8 bytes <= 64) become one bucket: the runtime runs
// them as one all-reduce of their packed buffers.
// CHECK-LABEL: func.func @three
// CHECK-NEXT:    %ra = hl.all_reduce %a op="avg" bucket=0 : tensor<2x3xf32>
// CHECK-NEXT:    %rb = hl.all_reduce %b op="avg" bucket=0 : tensor<4xf32>
// CHECK-NEXT:    %rc = hl.all_reduce %c op="avg" bucket=0 : tensor<2xf32>
// CHECK-NEXT:    func.return %ra, %rb, %rc
func.func @three(%a: tensor<2x3xf32>, %b: tensor<4xf32>, %c: tensor<2xf32>) -> (tensor<2x3xf32>, tensor<4xf32>, tensor<2xf32>) {
  %ra = hl.all_reduce %a op="avg" : tensor<2x3xf32>
  %rb = hl.all_reduce %b op="avg" : tensor<4xf32>
  %rc = hl.all_reduce %c op="avg" : tensor<2xf32>
  func.return %ra, %rb, %rc : tensor<2x3xf32>, tensor<4xf32>, tensor<2xf32>
}

// -----

// A bucket is full at 64 bytes: 12 + 4 floats fill it, the third starts a new bucket
// with the fifth, and moves down to it. Different ops (sum / max) never share a bucket.
// CHECK-LABEL: func.func @full
// CHECK-NEXT:    %ra = hl.all_reduce %a op="sum" bucket=0 : tensor<12xf32>
// CHECK-NEXT:    %rb = hl.all_reduce %b op="sum" bucket=0 : tensor<4xf32>
// CHECK-NEXT:    %re = hl.all_reduce %e op="max" : tensor<2xf32>
// CHECK-NEXT:    %rc = hl.all_reduce %c op="sum" bucket=1 : tensor<2xf32>
// CHECK-NEXT:    %rd = hl.all_reduce %d op="sum" bucket=1 : tensor<2xf32>
func.func @full(%a: tensor<12xf32>, %b: tensor<4xf32>, %c: tensor<2xf32>, %d: tensor<2xf32>, %e: tensor<2xf32>) -> (tensor<12xf32>, tensor<4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %ra = hl.all_reduce %a op="sum" : tensor<12xf32>
  %rb = hl.all_reduce %b op="sum" : tensor<4xf32>
  %rc = hl.all_reduce %c op="sum" : tensor<2xf32>
  %re = hl.all_reduce %e op="max" : tensor<2xf32>
  %rd = hl.all_reduce %d op="sum" : tensor<2xf32>
  func.return %ra, %rb, %rc, %rd, %re : tensor<12xf32>, tensor<4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// -----

// Gradients computed between two all-reduces: the earlier one moves down to the later,
// so the bucket's members are adjacent.
// CHECK-LABEL: func.func @interleaved
// CHECK-NEXT:    %m = hl.mul %b, %b : tensor<2xf32>
// CHECK-NEXT:    %ra = hl.all_reduce %a op="sum" bucket=0 : tensor<2xf32>
// CHECK-NEXT:    %rm = hl.all_reduce %m op="sum" bucket=0 : tensor<2xf32>
func.func @interleaved(%a: tensor<2xf32>, %b: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %ra = hl.all_reduce %a op="sum" : tensor<2xf32>
  %m = hl.mul %b, %b : tensor<2xf32>
  %rm = hl.all_reduce %m op="sum" : tensor<2xf32>
  func.return %ra, %rm : tensor<2xf32>, tensor<2xf32>
}

// -----

// A result read before the next all-reduce closes the bucket: nothing is marked.
// CHECK-LABEL: func.func @used_between
// CHECK-NEXT:    %ra = hl.all_reduce %a op="sum" : tensor<2xf32>
// CHECK-NEXT:    %m = hl.mul %ra, %b : tensor<2xf32>
// CHECK-NEXT:    %rm = hl.all_reduce %m op="sum" : tensor<2xf32>
func.func @used_between(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2xf32> {
  %ra = hl.all_reduce %a op="sum" : tensor<2xf32>
  %m = hl.mul %ra, %b : tensor<2xf32>
  %rm = hl.all_reduce %m op="sum" : tensor<2xf32>
  func.return %rm : tensor<2xf32>
}
