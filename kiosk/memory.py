"""Giving freed memory back to the system.

glibc keeps what the process frees on its heap for reuse, and returns only what
lies at the very top of it. The kiosk starts once and then runs for weeks on a
small machine: without being asked, it would go on holding everything its start
needed for a moment (the screens' rules being parsed, the settings' validators
being built, the first frames' shaders being compiled), and whatever a busy hour
freed in the middle of the heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)

# After start, and then this often (a trim of the kiosk's heap takes well under a
# millisecond, so it need not wait for the idle screen).
TRIM_EVERY_S = 600.0


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory(*, collect_garbage: bool = False) -> bool:
    """Return the heap's free pages to the system; False when this C library cannot.

    `collect_garbage` first frees Python's reference cycles (a whole screen of widgets
    just dropped is one); that takes some 40 ms of a kiosk's main thread, where the
    trim alone takes a fraction of a millisecond."""
    if collect_garbage:
        gc.collect()
    trim = _malloc_trim()
    if trim is None:
        log.debug("no malloc_trim in this C library; freed memory stays with the kiosk")
        return False
    trim(0)
    return True
