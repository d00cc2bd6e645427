"""The process's memory: handing freed memory back to the operating system once the rows not
analysed are dropped, and one ``malloc`` arena for the ``reimpact`` command.

Arrow's allocator (which holds pandas' text columns) and glibc's ``malloc`` keep memory that was
freed for later re-use, so a process that read a large file or simulated a large cohort and kept
a part of it would otherwise hold the whole through the analysis (about 700 MB of 1.1 GB at a
million simulated rows).
"""

from __future__ import annotations

import ctypes
import sys

_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (on Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def one_malloc_arena() -> bool:
    """Make every thread of the process allocate from glibc's main arena
    (``mallopt(M_ARENA_MAX, 1)``; nothing elsewhere); True when set.

    By default each thread that allocates gets an arena of its own (up to 8 per core), and memory
    freed in one arena serves only the threads of that arena; a run's threads (the balance
    statistics, the sensitivity checks side by side) each allocate hundreds of MB of temporaries,
    so the process held several arenas' worth of freed memory at once. Measured on the example
    study at a million rows: peak 1.26-1.42 GB with the default, 1.11 GB with one arena, and no
    slower (the threads' work is in numpy's large operations, not in ``malloc``). For the command
    only: a library does not change its host process's allocator."""
    libc = _glibc()
    return libc is not None and libc.mallopt(_M_ARENA_MAX, 1) == 1


def release_unused_memory() -> None:
    """Return the memory that Arrow's pool and glibc's heap hold unused to the operating system
    (``MemoryPool.release_unused``; ``malloc_trim(0)`` on glibc, nothing elsewhere)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
