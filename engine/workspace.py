"""Working memory that one thread reuses from one backtest to the next.

A backtest needs scratch arrays as long as its bars (indicator rows, signal flags, the
trade table) that never reach its result. Fresh memory is expensive to touch the first
time: every page faults into the kernel, and under a hypervisor that can cost more than
the simulation itself (about 1 ms per 8 MB measured on the 2-core CI machine). So each
thread keeps its scratch buffers and hands out views of them, growing them when a larger
run comes along; buffers above ``LIMIT_BYTES`` are not kept, so a one-off run on huge
data does not pin its memory. Nothing handed out here may outlive the call it was taken
for (results copy what they keep)."""

import threading
from math import prod
from typing import TypeVar

import numpy as np
import numpy.typing as npt

LIMIT_BYTES = 128 << 20
ScalarT = TypeVar("ScalarT", bound=np.generic)


class _Buffers(threading.local):
    def __init__(self) -> None:
        self.held: dict[str, npt.NDArray[np.uint8]] = {}


_buffers = _Buffers()


def scratch(name: str, shape: tuple[int, ...], dtype: type[ScalarT]) -> npt.NDArray[ScalarT]:
    """An uninitialised C-contiguous array of ``shape``, reusing this thread's buffer
    ``name``; valid until the next ``scratch(name, ...)`` on this thread."""
    item = np.dtype(dtype)
    size = prod(shape) * item.itemsize
    if size > LIMIT_BYTES:
        return np.empty(shape, dtype=item)
    held = _buffers.held.get(name)
    if held is None or held.nbytes < size:
        held = np.empty(size, dtype=np.uint8)
        _buffers.held[name] = held
    view: npt.NDArray[ScalarT] = held[:size].view(item).reshape(shape)
    return view
