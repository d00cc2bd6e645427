"""Handing freed memory back to the operating system once the rows not analysed are dropped.

Arrow's allocator (which holds pandas' text columns) and glibc's ``malloc`` keep memory that was
freed for later re-use, so a process that read a large file or simulated a large cohort and kept
a part of it would otherwise hold the whole through the analysis (about 700 MB of 1.1 GB at a
million simulated rows).
"""

from __future__ import annotations

import ctypes
import sys

import pyarrow as pa


def release_unused_memory() -> None:
    """Return the memory that Arrow's pool and glibc's heap hold unused to the operating system
    (``MemoryPool.release_unused``; ``malloc_trim(0)`` on glibc, nothing elsewhere)."""
    pa.default_memory_pool().release_unused()
    if not sys.platform.startswith("linux"):
        return
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return
    trim(0)
