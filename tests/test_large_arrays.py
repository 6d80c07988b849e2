"""The trace's large arrays (tracer.engine.memory): NumPy's values, in memory advised against transparent huge
pages (the kernel's own flags for the mapping say so), and a refusal the command line reports as out of memory."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tracer
from tracer.engine.memory import LARGE, NO_HUGE_PAGES, empty, full, repeat, tile

BIG = LARGE // 8 + 1  # float64 values: just over the threshold


@pytest.mark.parametrize("count", [10, BIG])
def test_the_arrays_hold_what_numpy_gives(count):
    values = np.arange(count, dtype=np.int64)
    np.testing.assert_array_equal(repeat(values, 3), np.repeat(values, 3))
    np.testing.assert_array_equal(tile(values.astype(np.int8), 3), np.tile(values.astype(np.int8), 3))
    filled = full((count, 2), np.nan)
    assert filled.shape == (count, 2) and np.isnan(filled).all() and filled.dtype == np.float64
    made = empty((2, count), np.int32)
    made[...] = 7
    assert made.shape == (2, count) and made.dtype == np.int32 and made.flags.writeable and (made == 7).all()


def vm_flags(array: np.ndarray) -> list[str]:
    """The kernel's flags of the mapping that holds the array (/proc/self/smaps: 'nh' is no huge pages)."""
    address, flags, inside = array.__array_interface__["data"][0], [], False
    for line in open("/proc/self/smaps"):
        head = line.split()[0]
        if "-" in head and not head.endswith(":"):
            start, end = (int(h, 16) for h in head.split("-"))
            inside = start <= address < end
        elif inside and head == "VmFlags:":
            flags = line.split()[1:]
    return flags


@pytest.mark.skipif(NO_HUGE_PAGES is None, reason="no MADV_NOHUGEPAGE on this system (not Linux)")
def test_large_arrays_are_advised_against_huge_pages_and_small_ones_are_numpys():
    large, small = empty(BIG), empty(100)
    large[...] = 1.0
    assert "nh" in vm_flags(large)
    assert "nh" not in vm_flags(np.empty(BIG))  # what NumPy would have made
    assert small.base is None  # np.empty's own


def test_the_recorded_tables_sit_in_those_arrays():
    spec = tracer.parse_spec({"name": "wide", "inputs": 64, "learning_rate": 0.1, "loss": "half_sse",
                              "init": {"method": "xavier", "seed": 0},
                              "layers": [{"name": "H", "units": 32, "activation": "sigmoid"},
                                         {"name": "O", "units": 10, "activation": "sigmoid"}],
                              "training": {"mode": "online", "epochs": 1},
                              "data": [{"x": [0.5] * 64, "y": [0.0] * 10}] * 300})
    weights = tracer.run(spec).weights  # 300 x 2,410 rows: every column over the threshold
    column = weights["step"].to_numpy()
    assert column.nbytes > LARGE and "nh" in vm_flags(column)


def test_an_allocation_the_system_refuses_is_a_memory_error():
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "from tracer.engine.memory import empty\n"
            "try:\n    empty((1 << 28, 8))\nexcept MemoryError as e:\n    print('MemoryError:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "MemoryError: cannot allocate 17,179,869,184 bytes", out.stderr
