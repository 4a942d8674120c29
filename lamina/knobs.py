"""Every `LAMINA_*` environment variable, read in this one place.

| variable | meaning | default |
|---|---|---|
| `LAMINA_BACKEND` | default backend of `lm.jit` and eager tensors: `c`, `triton`, `interp` | `triton` with a GPU, else `c` |
| `LAMINA_DUMP` | a folder: every compile writes its input, the IR after each pass (in pipeline order) and the generated source into its own `NNN-name/` directory there | unset |
| `LAMINA_CACHE_DIR` | the compiled-artifact cache | `$XDG_CACHE_HOME/lamina` or `~/.cache/lamina` |
| `LAMINA_CC` | the C compiler | `cc` |
| `LAMINA_CFLAGS` | flags replacing the default C flags | `-O3 -march=native -fopenmp -fno-unswitch-loops -shared -fPIC` |
| `LAMINA_EXTRA_CFLAGS` | flags added to the C flags (e.g. `-fsanitize=address,undefined`) | unset |
| `LAMINA_LOG_FUSION` | `1`: log every fusion the compiler declined, with the reason | unset |
| `LAMINA_VERIFY` | `1`: verify the IR after every pass (always on in tests) | unset |
| `LAMINA_BLAS` | f32/f64 matmuls on the C backend: `0` = lamina's own kernel, a path = that BLAS library | numpy's bundled OpenBLAS |
| `LAMINA_POOL_MB` | size cap of the C backend's output buffer pool in MiB (`0` turns it off) | `1024` |
| `LAMINA_PROFILE` | `1`: the C backend times every kernel and BLAS call of each program and prints a table to stderr at exit (GEMMs, a conv layer's included, with their GFLOP/s) | unset |
| `LAMINA_CC_TIMEOUT` | seconds one C compiler run (a translation unit, the link, a `--version` probe) may take before it and its children are killed and a `CompileError` names it | `300` |
| `LAMINA_CACHE_MB` | size cap of the compile cache directory in MiB; past it the least recently used entries are deleted (`0`: no cap) | `1024` |
| `LAMINA_PROGRAM_CACHE` | compiled programs each in-memory cache keeps (each jitted function's signatures, eager mode's programs); the least recently used are dropped and their libraries unloaded once nothing uses them | `64` |
| `LAMINA_RECOMPILE_LIMIT` | a jitted function that compiles more signatures than this warns once, naming the argument that changed (torch's `recompile_limit`; `0`: never) | `8` |
| `LAMINA_LOG_RECOMPILES` | `1`: log every retrace of an `lm.jit` function, with the guard that failed (`lamina/frontend/guards.py`) | unset |
| `LAMINA_EAGER_STEP_JIT` | `0`: an eager `optimizer.step()` records its update op by op (as before) instead of running it as one cached jitted program | `1` |
| `LAMINA_GC_FREEZE` | `0`: leave the objects `import lamina` made in the cyclic collector's sight (by default the API's import ends with `gc.freeze()`: they live as long as the process, and the first full collection over them cost ~30-90 ms of a new process's first result) | `1` |
| `LAMINA_AUTO_DYNAMIC` | `1`: a jitted function called a second time with other sizes compiles once with the changed dims symbolic (torch's default policy); off by default because the probe traces run the function at a size of 65537+ and an op that builds size-dependent constants (a `tril` mask of T x T, ...) materializes them at that size (`docs/dynamic_shapes.md`). `lm.jit(dynamic=True)` and `lm.mark_dynamic` opt in per function | unset |
| `LAMINA_DONATE` | `0`: a jitted step writes the tensors it updates in place into fresh arrays instead of their own (`lamina/passes/donate_buffers.py`) | `1` |
| `LAMINA_DIST_TIMEOUT` | seconds a collective of `lamina.distributed` may wait for the other ranks before the job is aborted with a message naming the rank and the collective (`init_process_group(timeout=)` overrides) | `1800` |
| `LAMINA_DIST_CHECK` | the check that every rank calls the same collectives (a 16-byte fingerprint exchange): `1` before the first call of each distinct eager collective and the first run of each compiled program that communicates, `always` before every one, `0` never | `1` |
| `LAMINA_BUCKET_MB` | size of the gradient all-reduce buckets the `bucket-all-reduce` pass forms in compiled programs, in MiB (`0`: no bucketing) | `25` |
"""

from __future__ import annotations

import os


def get(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def backend() -> str | None:
    return get("LAMINA_BACKEND")


def dump_dir() -> str | None:
    return get("LAMINA_DUMP")


def cache_dir() -> str:
    explicit = get("LAMINA_CACHE_DIR")
    if explicit:
        return explicit
    base = get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lamina")


def cc() -> str:
    return get("LAMINA_CC", "cc") or "cc"


# -fno-unswitch-loops: GCC 12.2 with AVX-512VL (-march=native on Rocket Lake) miscompiles
# `#pragma omp simd` loops that add up row-dependent selects of one invariant value (the
# gradient of lm.unbind / lm.chunk gave zeros): unswitching versions the loop on the
# row conditions, if-conversion then keeps one arm of a PHI whose arms it deems equal
# and predicates that arm's add with its own mask (tests/data/gcc12_*.c, found with
# lamina-bisect). Unswitching is what creates such PHIs in lamina's kernels; turning it
# off cost nothing measurable on the bench (-fno-trapping-math, which also avoids it,
# made the CNN step 1.6x slower).
DEFAULT_CFLAGS = "-O3 -march=native -fopenmp -fno-unswitch-loops -shared -fPIC"


def cflags() -> list[str]:
    flags = get("LAMINA_CFLAGS", DEFAULT_CFLAGS) or ""
    return flags.split() + (get("LAMINA_EXTRA_CFLAGS", "") or "").split()


def log_fusion() -> bool:
    return get("LAMINA_LOG_FUSION") == "1"


def verify_each_pass() -> bool:
    return get("LAMINA_VERIFY") == "1"


def blas_choice() -> str:
    return get("LAMINA_BLAS", "") or ""


def pool_limit_bytes() -> int:
    try:
        return max(0, int(get("LAMINA_POOL_MB", "1024") or "1024")) << 20
    except ValueError:
        return 1024 << 20


def profile() -> bool:
    return get("LAMINA_PROFILE") == "1"


def log_recompiles() -> bool:
    return get("LAMINA_LOG_RECOMPILES") == "1"


def auto_dynamic() -> bool:
    return get("LAMINA_AUTO_DYNAMIC") == "1"


def donate() -> bool:
    return get("LAMINA_DONATE", "1") != "0"


def gc_freeze() -> bool:
    return get("LAMINA_GC_FREEZE", "1") != "0"


def eager_step_jit() -> bool:
    return get("LAMINA_EAGER_STEP_JIT", "1") != "0"


def _number(name: str, default: float) -> float:
    try:
        value = float(get(name, "") or default)
    except ValueError:
        return default
    return value if value >= 0 and value == value else default


def cc_timeout() -> float:
    """Seconds a C compiler run may take; 0 or junk falls back to the default."""
    return _number("LAMINA_CC_TIMEOUT", 300.0) or 300.0


def cache_limit_bytes() -> int | None:
    """The compile cache's size cap in bytes, None for no cap."""
    mb = _number("LAMINA_CACHE_MB", 1024.0)
    return int(mb * 2**20) if mb > 0 else None


def program_cache_size() -> int:
    return max(1, int(_number("LAMINA_PROGRAM_CACHE", 64)))


def recompile_limit() -> int:
    return int(_number("LAMINA_RECOMPILE_LIMIT", 8))


def dist_timeout() -> float:
    return _number("LAMINA_DIST_TIMEOUT", 1800.0)


def dist_check() -> str:
    value = get("LAMINA_DIST_CHECK", "1") or "1"
    return value if value in ("0", "always") else "1"


def bucket_bytes() -> int:
    return int(_number("LAMINA_BUCKET_MB", 25.0) * 2**20)
