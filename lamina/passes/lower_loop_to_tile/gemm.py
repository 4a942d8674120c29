"""`loop.matmul` -> one tiled `tile.kernel` (the Triton matmul tutorial, in IR).

Program `(p, b)` computes one BM x BN tile of batch `b`; programs are ordered in
groups of GROUP_M rows of tiles so that neighbours share A/B tiles in L2. The K
loop loads masked BM x BK and BK x BN tiles and accumulates with `tile.dot` in
f32 (f16/bf16/f32 inputs; f32 as "ieee" unless tf32 is allowed). Other element
types (f64, integers) multiply broadcast 3-d blocks and `tile.reduce` over K.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import BFloat16Type, Float16Type, Float32Type, f32, i32
from xdsl.ir import Block, Region, SSAValue

from lamina.dialects import loop, tile
from lamina.dialects.tile import element_of, shape_of
from lamina.passes.lower_loop_to_tile.emit import Emitter, is_float, next_pow2
from lamina.passes.lower_loop_to_tile.kernel import root_buffer

GROUP_M = 8
MAX_GRID_Y = 65535


@dataclass
class GemmConfig:
    bm: int
    bn: int
    bk: int
    num_warps: int
    num_stages: int


def choose_config(m: int, n: int, k: int, elem, use_dot: bool) -> GemmConfig:
    """Block sizes: the tutorial's large tiles for big problems, 16s for tiny ones."""
    if not use_dot:
        return GemmConfig(16, 16, 16, 4, 1)
    wide = isinstance(elem, Float16Type | BFloat16Type)
    bm = max(16, min(128, next_pow2(m)))
    bn = max(16, min(256 if wide and n >= 256 and m >= 128 else 128, next_pow2(n)))
    bk = max(16, min(64 if wide else 32, next_pow2(k)))
    warps = 8 if bm * bn >= 128 * 128 else 4
    stages = 3 if wide else 3
    return GemmConfig(bm, bn, bk, warps, stages)


class GemmLowering:
    """Builds the tile.kernel of one loop.matmul; `grid` and `buffers` describe its launch."""

    def __init__(self, op: loop.MatmulOp, name: str, allow_tf32: bool = False):
        self.op = op
        self.name = name
        self.buffers = [root_buffer(v) for v in (op.a, op.b, op.c)]
        self.elem = op.a.type.element_type  # type: ignore[attr-defined]
        self.out_elem = op.c.type.element_type  # type: ignore[attr-defined]
        self.use_dot = isinstance(self.elem, Float16Type | BFloat16Type | Float32Type)
        self.precision = "tf32" if allow_tf32 else "ieee"
        self.b, self.m, self.n, self.k = (op.size(s) for s in loop.MatmulOp.SIZES)
        self.cfg = choose_config(self.m, self.n, self.k, self.elem, self.use_dot)
        tiles_m = -(-self.m // self.cfg.bm)
        tiles_n = -(-self.n // self.cfg.bn)
        # CUDA caps grid axis 1 at 65535: more batches share axis 0 with the tiles
        self.fold_batch = self.b > MAX_GRID_Y
        self.grid = (tiles_m * tiles_n * self.b, 1) if self.fold_batch else \
            (tiles_m * tiles_n, self.b)
        self.tiles = (tiles_m, tiles_n)

    def build(self) -> tile.KernelOp:
        op, cfg = self.op, self.cfg
        block = Block(arg_types=[tile.PtrType(b.type.element_type) for b in self.buffers])
        pa, pb, pc = block.args
        for arg, buf in zip(block.args, self.buffers, strict=True):
            arg.name_hint = buf.name_hint
        e = Emitter(block)
        m, n, k = self.m, self.n, self.k
        pid = e.add(tile.ProgramIdOp(0))
        if self.fold_batch:
            per_batch = self.tiles[0] * self.tiles[1]
            batch = e.binary(arith.DivSIOp, pid, per_batch)
            pid = e.binary(arith.RemSIOp, pid, per_batch)
        else:
            batch = e.add(tile.ProgramIdOp(1))
        pid_m, pid_n = self._grouped_ids(e, pid)
        rm = e.binary(arith.AddiOp, e.arange(cfg.bm), e.binary(arith.MuliOp, pid_m, cfg.bm))
        rn = e.binary(arith.AddiOp, e.arange(cfg.bn), e.binary(arith.MuliOp, pid_n, cfg.bn))
        rk = e.arange(cfg.bk)
        a_base = e.binary(arith.MuliOp, batch, m * k if op.a_batched() else 0)
        b_base = e.binary(arith.MuliOp, batch, k * n if op.b_batched() else 0)
        c_base = e.binary(arith.MuliOp, batch, m * n)
        ta, tb = op.flag("transpose_a"), op.flag("transpose_b")
        # A[i, p] at i*k + p (transpose_a: p*m + i); B[p, j] at p*n + j (transpose_b: j*k + p)
        a_offs = self._grid2(e, rm, k if not ta else 1, rk, 1 if not ta else m)
        # B^T is loaded as [BN, BK] tiles (contiguous along K) and transposed in registers
        b_offs = self._grid2(e, rn, k, rk, 1) if tb else self._grid2(e, rk, n, rn, 1)
        m_ok = e.cmp("slt", rm, m) if m % cfg.bm else None
        n_ok = e.cmp("slt", rn, n) if n % cfg.bn else None
        acc_elem = f32 if self.use_dot else self.out_elem
        acc = e.splat(e.const(0, acc_elem), (cfg.bm, cfg.bn))
        loop_op, k0 = e.for_loop(0, k, cfg.bk, [acc])
        outer, e.block = e.block, loop_op.body.block
        kk = e.binary(arith.AddiOp, rk, k0)
        k_ok = e.cmp("slt", kk, k) if k % cfg.bk else None
        a_mask = self._and2(e, m_ok, k_ok, (cfg.bm, cfg.bk))
        b_mask = self._and2(e, n_ok, k_ok, (cfg.bn, cfg.bk)) if tb else \
            self._and2(e, k_ok, n_ok, (cfg.bk, cfg.bn))
        a_shift = e.binary(arith.MuliOp, k0, 1 if not ta else m)
        b_shift = e.binary(arith.MuliOp, k0, n if not tb else 1)
        a_at = e.binary(arith.AddiOp, a_offs, e.binary(arith.AddiOp, a_shift, a_base))
        b_at = e.binary(arith.AddiOp, b_offs, e.binary(arith.AddiOp, b_shift, b_base))
        a = e.add(tile.LoadOp(pa, a_at, a_mask))
        b = e.add(tile.LoadOp(pb, b_at, b_mask))
        if tb:
            b = e.add(tile.TransOp(b))
        acc = loop_op.body.block.args[1]
        if self.use_dot:
            new = e.add(tile.DotOp(a, b, acc, self.precision if isinstance(self.elem, Float32Type)
                                   else "ieee"))
        else:
            new = self._bcast_dot(e, a, b, acc)
        e.add(scf.YieldOp(new))
        e.block = outer
        result = e.cast(loop_op.res[0], self.out_elem)
        c_offs = e.binary(arith.AddiOp, self._grid2(e, rm, n, rn, 1), c_base)
        c_mask = self._and2(e, m_ok, n_ok, (cfg.bm, cfg.bn))
        if op.flag("accumulate"):
            prev = e.add(tile.LoadOp(pc, c_offs, c_mask))
            add = arith.AddfOp if is_float(prev.type) else arith.AddiOp
            if self.use_dot and self.out_elem != f32:
                result = e.cast(e.op(add, e.cast(prev, f32), loop_op.res[0]),
                                self.out_elem)
            else:
                result = e.op(add, prev, result)
        e.add(tile.StoreOp(result, pc, c_offs, c_mask))
        e.add(tile.ReturnOp())
        return tile.KernelOp(self.name, Region(block))

    def _grouped_ids(self, e: Emitter, pid: SSAValue) -> tuple[SSAValue, SSAValue]:
        """Tile coordinates of this program in GROUP_M-row grouped order."""
        tiles_m, tiles_n = self.tiles
        in_group = GROUP_M * tiles_n
        group = e.binary(arith.DivSIOp, pid, in_group)
        first_m = e.binary(arith.MuliOp, group, GROUP_M)
        size_m = e.binary(arith.MinSIOp, e.op(arith.SubiOp, e.const(tiles_m, i32), first_m),
                          GROUP_M)
        local = e.binary(arith.RemSIOp, pid, in_group)
        pid_m = e.op(arith.AddiOp, first_m, e.op(arith.RemSIOp, local, size_m))
        pid_n = e.op(arith.DivSIOp, local, size_m)
        return pid_m, pid_n

    @staticmethod
    def _outer(e: Emitter, rows: SSAValue, cols: SSAValue) -> tuple[SSAValue, SSAValue]:
        """rows[:, None] and cols[None, :], broadcast to one 2-d shape."""
        shape = (shape_of(rows.type)[0], shape_of(cols.type)[0])
        r = e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(rows, 1)), shape))
        c = e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(cols, 0)), shape))
        return r, c

    def _grid2(self, e: Emitter, rows: SSAValue, row_stride: int, cols: SSAValue,
               col_stride: int) -> SSAValue:
        r, c = self._outer(e, rows, cols)
        return e.op(arith.AddiOp, e.binary(arith.MuliOp, r, row_stride),
                    e.binary(arith.MuliOp, c, col_stride))

    @staticmethod
    def _and2(e: Emitter, rows: SSAValue | None, cols: SSAValue | None,
              shape: tuple[int, int]) -> SSAValue | None:
        """rows[:, None] & cols[None, :]; a side that divides evenly needs no mask (None)."""
        parts = []
        if rows is not None:
            parts.append(e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(rows, 1)), shape)))
        if cols is not None:
            parts.append(e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(cols, 0)), shape)))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else e.op(arith.AndIOp, *parts)

    def _bcast_dot(self, e: Emitter, a: SSAValue, b: SSAValue, acc: SSAValue) -> SSAValue:
        """acc + sum_k a[:, k, None] * b[None, k, :] for types tl.dot does not take."""
        cfg = self.cfg
        shape = (cfg.bm, cfg.bk, cfg.bn)
        a3 = e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(a, 2)), shape))
        b3 = e.add(tile.BroadcastOp(e.add(tile.ExpandDimsOp(b, 0)), shape))
        mul = arith.MulfOp if is_float(a.type) else arith.MuliOp
        add = arith.AddfOp if is_float(a.type) else arith.AddiOp
        prod = e.cast(e.op(mul, a3, b3), element_of(acc.type))
        return e.op(add, acc, e.add(tile.ReduceOp("sum", prod, 1)))
