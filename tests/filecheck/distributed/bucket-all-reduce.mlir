// RUN: lamina-opt %s --split-input-file -p 'bucket-all-reduce{bucket_bytes=64}' | filecheck %s

// Three small gradients (24 + 16 + 8 bytes <= 64) become one all-reduce of a flat
// bucket; the results are slices of it.
// CHECK-LABEL: func.func @three
// CHECK-NEXT:    %[[A:.*]] = hl.reshape %a : tensor<2x3xf32> -> tensor<6xf32>
// CHECK-NEXT:    %[[C:.*]] = hl.concat %[[A]], %b, %c dim=0 : (tensor<6xf32>, tensor<4xf32>, tensor<2xf32>) -> tensor<12xf32>
// CHECK-NEXT:    %[[R:.*]] = hl.all_reduce %[[C]] op="avg" : tensor<12xf32>
// CHECK-NEXT:    %[[S0:.*]] = hl.slice %[[R]] start=[0] stop=[6] step=[1] : tensor<12xf32> -> tensor<6xf32>
// CHECK-NEXT:    %ra = hl.reshape %[[S0]] : tensor<6xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    %rb = hl.slice %[[R]] start=[6] stop=[10] step=[1] : tensor<12xf32> -> tensor<4xf32>
// CHECK-NEXT:    %rc = hl.slice %[[R]] start=[10] stop=[12] step=[1] : tensor<12xf32> -> tensor<2xf32>
// CHECK-NEXT:    func.return %ra, %rb, %rc
// CHECK-NOT:     hl.all_reduce
func.func @three(%a: tensor<2x3xf32>, %b: tensor<4xf32>, %c: tensor<2xf32>) -> (tensor<2x3xf32>, tensor<4xf32>, tensor<2xf32>) {
  %ra = hl.all_reduce %a op="avg" : tensor<2x3xf32>
  %rb = hl.all_reduce %b op="avg" : tensor<4xf32>
  %rc = hl.all_reduce %c op="avg" : tensor<2xf32>
  func.return %ra, %rb, %rc : tensor<2x3xf32>, tensor<4xf32>, tensor<2xf32>
}

// -----

// A bucket is full at 64 bytes: 12 + 4 floats fill it, the third starts a new bucket
// with the fourth. Different ops (sum / max) never share a bucket.
// CHECK-LABEL: func.func @full
// CHECK:         hl.concat %a, %b dim=0 : (tensor<12xf32>, tensor<4xf32>) -> tensor<16xf32>
// CHECK-NEXT:    hl.all_reduce %{{.*}} op="sum" : tensor<16xf32>
// CHECK:         %re = hl.all_reduce %e op="max" : tensor<2xf32>
// CHECK-NEXT:    hl.concat %c, %d dim=0 : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
// CHECK-NEXT:    hl.all_reduce %{{.*}} op="sum" : tensor<4xf32>
func.func @full(%a: tensor<12xf32>, %b: tensor<4xf32>, %c: tensor<2xf32>, %d: tensor<2xf32>, %e: tensor<2xf32>) -> (tensor<12xf32>, tensor<4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
  %ra = hl.all_reduce %a op="sum" : tensor<12xf32>
  %rb = hl.all_reduce %b op="sum" : tensor<4xf32>
  %rc = hl.all_reduce %c op="sum" : tensor<2xf32>
  %re = hl.all_reduce %e op="max" : tensor<2xf32>
  %rd = hl.all_reduce %d op="sum" : tensor<2xf32>
  func.return %ra, %rb, %rc, %rd, %re : tensor<12xf32>, tensor<4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
}

// -----

// A result read before the next all-reduce closes the bucket: nothing fuses here.
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
