"""Typed wrappers around Numba's decorators: every engine kernel is compiled with an
on-disk cache (``cache=True``) so a fresh process loads machine code instead of
recompiling, and keeps its Python signature visible to mypy; and the two machine
instructions the kernels reach for that Numba has no plain function for."""

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic
from numba.cpython.unsafe.numbers import trailing_zeros

from engine.warmup import cache_root

KernelT = TypeVar("KernelT", bound=Callable[..., Any])

# The threads of parallel kernels wait for the next call asleep rather than spinning.
# OpenMP's default keeps each one spinning for some milliseconds after every parallel
# call, so a sweep, which runs its chunks in parallel between stretches of Python
# (indicators, rules, the ranking), burned CPU on spinning: 48 ms of CPU instead of
# 35 ms for 100 combinations on 1e5 bars, cores that other work on the machine needed.
# Waking a sleeping thread costs microseconds against chunks of milliseconds. OpenMP
# reads this once, when Numba first loads it; a setting already made wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Every kernel caches into a folder named after the engine's sources (see
# ``warmup.source_fingerprint``: Numba alone would keep a kernel compiled against another
# file's old code). Numba fixes a kernel's cache folder when the kernel is defined, and
# every engine module defines its kernels through this one.
numba.config.CACHE_DIR = str(cache_root())  # type: ignore[attr-defined]  # set from the environment at run time


def kernel(func: KernelT) -> KernelT:
    """Compile ``func`` as a cached, GIL-free Numba kernel."""
    return cast(KernelT, numba.njit(cache=True, nogil=True, error_model="numpy")(func))


def parallel_kernel(func: KernelT) -> KernelT:
    """Compile ``func`` as a cached kernel whose ``prange`` loops run across all cores."""
    return cast(
        KernelT, numba.njit(cache=True, nogil=True, parallel=True, error_model="numpy")(func)
    )


def inline_kernel(func: KernelT) -> KernelT:
    """Compile ``func`` as a cached kernel that Numba inlines into its callers: small
    per-bar helpers would otherwise pay a full call, every array argument unpacked."""
    return cast(
        KernelT, numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")(func)
    )


def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        item_pointer: Callable[..., Any] = cgutils.get_item_pointer
        pointer = item_pointer(context, builder, array_type, view, [args[1]], wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        word = ir.IntType(32)
        declare: Callable[..., Any] = cgutils.get_or_insert_function
        function = declare(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, word, word, word]),
            "llvm.prefetch.p0i8",
        )
        # A read (0), kept in every cache level (3), of data (1).
        builder.call(function, [builder.bitcast(pointer, byte_pointer), word(0), word(3), word(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


# Inside kernels only: ask the processor to start loading the cache line that holds
# ``array[index]`` (LLVM's ``llvm.prefetch``): a hint that never faults and changes no
# value, for reads the hardware prefetcher cannot foresee.
prefetch = cast(Callable[[npt.NDArray[Any], int], None], intrinsic(_prefetch))

# Inside kernels only: the number of trailing zero bits of a 64-bit word (one ``tzcnt``).
count_trailing_zeros = cast(Callable[[np.uint64], int], trailing_zeros)
