"""The kiosk hands freed heap memory back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import sys
import textwrap

from hailong.kiosk.memory import release_free_memory


def test_release_reports_glibc_trim() -> None:
    assert release_free_memory() is True


def test_freed_heap_in_the_middle_goes_back_to_the_system() -> None:
    # In a fresh interpreter: 40 MB of small blocks freed below one block still in
    # use stay resident until released (glibc only gives back the top of its heap).
    script = textwrap.dedent(
        """
        import ctypes, ctypes.util
        from hailong.kiosk.memory import release_free_memory

        def rss_mb():
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024

        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        blocks = [libc.malloc(4000) for _ in range(10_000)]
        for block in blocks:
            ctypes.memset(block, 1, 4000)
        pinned = libc.malloc(4000)
        for block in blocks:
            libc.free(block)
        before = rss_mb()
        release_free_memory()
        print(before, rss_mb())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    before, after = map(float, out.split())
    assert before - after > 30, (before, after)


def test_this_c_library_has_malloc_trim() -> None:
    # The kiosk's platform (Debian) has glibc; if this ever fails the release above
    # silently does nothing there.
    name = ctypes.util.find_library("c")
    assert name is not None
    assert hasattr(ctypes.CDLL(name), "malloc_trim")


def test_garbage_cycles_are_collected_when_asked() -> None:
    import gc
    import weakref

    class Node:
        pass

    gc.disable()  # so that only the call under test can collect the cycle
    try:
        node = Node()
        node.itself = node  # type: ignore[attr-defined]
        alive = weakref.ref(node)
        del node
        assert alive() is not None
        release_free_memory(collect_garbage=True)
        assert alive() is None
    finally:
        gc.enable()
