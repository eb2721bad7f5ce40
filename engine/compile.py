"""Typed wrappers around Numba's decorators: every engine kernel is compiled with an
on-disk cache (``cache=True``) so a fresh process loads machine code instead of
recompiling, and keeps its Python signature visible to mypy."""

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

KernelT = TypeVar("KernelT", bound=Callable[..., Any])


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
