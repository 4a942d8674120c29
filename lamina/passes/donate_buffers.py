"""`donate-buffers`: write an output into the input buffer it replaces, when that is safe.

A jitted training step returns the new value of every tensor it updated in place
(parameters, momentum buffers, Adam moments) as an extra output. `lm.jit` marks such
pairs on the traced function,

    func.func @step(...) attributes {lamina.donate = array<i64: -1, 3, 4>}

(entry j: the input that output j is the new value of, -1 for none). `lower-hl-to-loop`
carries the attribute to the loop-level function `(inputs..., outputs...) -> ()`; this
pass, run by the C backend only, checks each pair on the buffers and, where safe,
replaces every use of output j's buffer by input i's buffer. The function then gets

    lamina.donated = array<i64: -1, 3, -1>

(the pairs it applied) and the runtime passes input i's array back as output j
without allocating one (`lamina.runtime.c_backend.Runner`). The Triton backend and
the interpreters never run this pass: they allocate every output, which gives the
same values (donation changes where a result lives, never what it is).

Safe means that no reader can see the input's old value overwritten:
- exactly one top-level op writes the output, a `loop.kernel` storing to it once,
  at indices that are exactly the index variables of the loops around the store
  (so every iteration writes its own element), and no op before it touches the output;
- inside that kernel the input is only loaded at those same indices, before the
  store in the same iteration (elementwise: `p - lr * buf` reads p[i] then writes
  p[i]); any other access in it (a transpose, a reduction over p, a view) and the
  pair is not donated: the output gets its own buffer, as without this pass;
- no op after that kernel reads the input (e.g. `return old_p, new_p`);
- that kernel comes after every op that checks indices at run time (`check.index`):
  the C program returns at the first kernel that recorded a fault, before any donated
  write, so the tensors a failing step would update keep their values when
  IndexOutOfRangeError raises (torch raises in the forward, before `opt.step()`).
Since the output's uses become the input's, a kernel sees one buffer, not two
aliasing ones; views of it are told apart by `_aliased_params` (codegen/c.py), which
drops `restrict` from every param sharing a root buffer. What the IR cannot know is
checked per call: inputs sharing memory and read-only arrays are copied first
(`Runner`), and pending eager ops that captured a donated array get their own copy
(`graph.keep_snapshots`).

Measured on the bench MLP step (784-512-512-10, SGD momentum; 2-core VM): 12 of its
19 outputs are donated, new output arrays per step drop from 7.66 to 2.55 MiB (the
gradients and the loss), and a step takes 10.77 instead of 11.10 ms on one thread
(median CPU time, 31 interleaved rounds; the update kernels no longer write fresh lines).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects import check, loop
from lamina.dialects.syntax import int_array, int_tuple

DONATE = "lamina.donate"  # candidates, set by lm.jit on the traced function
DONATED = "lamina.donated"  # the pairs this pass applied


def donation_map(fn: func.FuncOp, name: str = DONATED) -> dict[int, int]:
    """{output j: input i} from a function's `lamina.donate(d)` attribute."""
    attr = fn.attributes.get(name)
    if not isinstance(attr, DenseArrayBase):
        return {}
    return {j: i for j, i in enumerate(int_tuple(attr)) if i >= 0}


def _aliases(value: SSAValue) -> set[SSAValue]:
    """`value` and every `loop.view` of it (transitively)."""
    found, stack = {value}, [value]
    while stack:
        for use in stack.pop().uses:
            if isinstance(use.operation, loop.ViewOp) and use.operation.res not in found:
                found.add(use.operation.res)
                stack.append(use.operation.res)
    return found


def _enclosing_ivs(op: Operation, kernel: loop.KernelOp) -> list[SSAValue]:
    """Index variables of every loop from `kernel` down to `op`."""
    ivs: list[SSAValue] = []
    parent = op.parent_op()
    while parent is not None:
        if isinstance(parent, loop.KernelOp | loop.ForOp | loop.SeqForOp | loop.ReduceOp):
            ivs += list(parent.body.block.args)
        if parent is kernel:
            return ivs
        parent = parent.parent_op()
    return ivs


def _users_in(values: set[SSAValue], kernel: loop.KernelOp) -> list[Operation]:
    """The ops inside `kernel` (or it) that read one of `values`, from the use lists:
    a fused update kernel holds many parameters' updates, and walking it once per
    pair was quadratic in the model's depth."""
    return list(dict.fromkeys(u.operation for v in values for u in v.uses
                              if kernel.is_ancestor(u.operation)))


def _elementwise_update(kernel: loop.KernelOp, out: SSAValue, inp: SSAValue,
                        uses: _Uses) -> bool:
    """`kernel` stores `out` once per element and reads `inp` only at that element,
    before the store."""
    out_aliases = _aliases(out)
    out_users = _users_in(out_aliases, kernel)
    stores = [op for op in out_users if isinstance(op, loop.StoreOp) and op.buf == out]
    if len(stores) != 1 or any(op is not stores[0] for op in out_users):
        # also no load of the output in its kernel: once it is the input's buffer, CSE
        # could merge that load with an earlier load of the old value
        return False
    store = stores[0]
    index = tuple(store.indices)
    ivs = _enclosing_ivs(store, kernel)
    if len(set(index)) != len(index) or set(index) != set(ivs):
        return False  # some iterations would write the same element
    block = store.parent_block()
    assert block is not None
    position = uses.positions(block)
    for op in _users_in(_aliases(inp), kernel):
        if not (isinstance(op, loop.LoadOp) and op.buf == inp and tuple(op.indices) == index):
            return False
        top = block.find_ancestor_op_in_block(op)
        if top is None or position[top] >= position[store]:
            return False
    return True


class _Uses:
    """Which top-level ops of the function touch each value, found in one walk: the
    per-pair checks then look positions up instead of walking every op for every pair
    (a 24-layer training step has ~300 pairs and ~25,000 ops: that was quadratic).

    Replacing a donated output by its input changes the uses of those two values only,
    and no later pair asks about them (each input is donated once)."""

    def __init__(self, ops: list[Operation]):
        self.touch: dict[SSAValue, list[int]] = defaultdict(list)  # non-view ops reading it
        self.writes: dict[SSAValue, list[int]] = defaultdict(list)  # ops storing into it
        self.last_check = -1  # the last op that checks indices at run time
        self._positions: dict[Block, dict[Operation, int]] = {}
        for n, op in enumerate(ops):
            read: set[SSAValue] = set()
            for o in op.walk():
                read.update(o.operands)
                if isinstance(o, check.IndexOp):
                    self.last_check = n
                elif isinstance(o, loop.StoreOp):
                    self.writes[o.buf].append(n)
                elif isinstance(o, loop.MatmulOp):
                    self.writes[o.c].append(n)
            if not isinstance(op, loop.ViewOp):
                for v in read:
                    self.touch[v].append(n)

    def positions(self, block: Block) -> dict[Operation, int]:
        """op -> its place in `block` (the pass moves no op: computed once per block)."""
        found = self._positions.get(block)
        if found is None:
            found = self._positions[block] = {op: n for n, op in enumerate(block.ops)}
        return found

    def first_touch(self, values: set[SSAValue]) -> int | None:
        found = [self.touch[v][0] for v in values if self.touch.get(v)]
        return min(found) if found else None

    def touched_after(self, values: set[SSAValue], n: int, table: dict) -> bool:
        return any(table.get(v) and table[v][-1] > n for v in values)


def _safe(ops: list[Operation], uses: _Uses, out: SSAValue, inp: SSAValue) -> bool:
    out_aliases, in_aliases = _aliases(out), _aliases(inp)
    first = uses.first_touch(out_aliases)
    if first is None:
        return False  # (first: must be the kernel that writes the output)
    if uses.last_check >= first:
        return False  # a fault found there or later would raise after the write
    kernel = ops[first]
    if not isinstance(kernel, loop.KernelOp) or not _elementwise_update(kernel, out, inp, uses):
        return False
    # the output is written once (later ops may read it: it is the input's buffer now)
    if uses.touched_after(out_aliases, first, uses.writes):
        return False
    return not uses.touched_after(in_aliases, first, uses.touch)


def donate_buffers(fn: func.FuncOp) -> dict[int, int]:
    """Apply the safe pairs of `fn`'s `lamina.donate`; returns {output: input} applied."""
    candidates = donation_map(fn, DONATE)
    attr = fn.attributes[DONATE]
    assert isinstance(attr, DenseArrayBase)
    n_out = len(int_tuple(attr))  # one entry per output (the loop function has no results)
    block: Block = fn.body.block
    args = list(block.args)
    n_in = len(args) - n_out
    ops = list(block.ops)
    uses = _Uses(ops)
    applied: dict[int, int] = {}
    used_inputs: set[int] = set()
    for j, i in sorted(candidates.items()):
        if not (0 <= i < n_in and 0 <= j < n_out) or i in used_inputs:
            continue
        out, inp = args[n_in + j], args[i]
        if out.type != inp.type or not _safe(ops, uses, out, inp):
            continue
        out.replace_all_uses_with(inp)
        applied[j] = i
        used_inputs.add(i)
    fn.attributes[DONATED] = int_array([applied.get(j, -1) for j in range(n_out)])
    return applied


@dataclass(frozen=True)
class DonateBuffersPass(ModulePass):
    """loop -> loop: outputs marked `lamina.donate` reuse their input's buffer when safe."""

    name = "donate-buffers"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for fn in op.ops:
            if isinstance(fn, func.FuncOp) and DONATE in fn.attributes:
                donate_buffers(fn)
