# SPDX-License-Identifier: CECILL-C
# Copyright (C) 2026 The libmpcalloc authors
#
# Workload "numpy": numerical Python with large temporaries, the way array
# codes are written in practice. Every arithmetic expression on NumPy arrays
# allocates its result (and often intermediate temporaries) with malloc and
# frees it when the next expression replaces it: a few arrays of 1-32 MiB
# born and dying thousands of times, mixed with the small objects of the
# interpreter (the runner sets PYTHONMALLOC=malloc). The program advances a
# 2-D heat equation with an explicit stencil, takes FFTs of strips, and
# solves small dense systems; it checks its results against invariants that
# do not depend on the allocator (energy bounds, an FFT round trip, residuals)
# and prints one result line. Needs python3-numpy: without it, exits 77.
"""NumPy allocation workload for the libmpcalloc benchmark suite."""

import sys
import time

try:
    import numpy as np
except ImportError:
    sys.stderr.write("bench: numpy is not installed (python3-numpy): workload skipped\n")
    sys.exit(77)


def heat(n, steps):
    """Explicit 2-D heat equation on an n x n grid: every step makes a few
    n x n temporaries (the slices' sums) and drops the previous grid."""
    u = np.zeros((n, n))
    u[n // 4:3 * n // 4, n // 4:3 * n // 4] = 1.0
    total = u.sum()
    for _ in range(steps):
        lap = (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4.0 * u[1:-1, 1:-1])
        v = u.copy()
        v[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.2 * lap
        u = v
    # heat only leaves through the (zero) border: never gained
    assert u.sum() <= total + 1e-6 and u.min() >= -1e-12 and u.max() <= 1.0 + 1e-12
    return float(u.sum())


def spectra(n, rounds, rng):
    """FFT round trips of random strips (complex temporaries of n * 16 B)."""
    acc = 0.0
    for _ in range(rounds):
        x = rng.standard_normal(n)
        y = np.fft.ifft(np.fft.fft(x)).real
        assert np.allclose(x, y)
        acc += float(np.abs(np.fft.rfft(x)[1:8]).sum())
    return acc


def solves(n, rounds, rng):
    """Small dense solves: many short-lived matrices and vectors."""
    worst = 0.0
    for _ in range(rounds):
        a = rng.standard_normal((n, n)) + n * np.eye(n)
        b = rng.standard_normal(n)
        x = np.linalg.solve(a, b)
        worst = max(worst, float(np.abs(a @ x - b).max()))
    assert worst < 1e-8
    return worst


def main():
    quick = "--quick" in sys.argv[1:]
    rng = np.random.default_rng(42)
    t0 = time.monotonic()
    h = heat(512 if quick else 1024, 40 if quick else 200)
    s = spectra(1 << 18 if quick else 1 << 20, 8 if quick else 40, rng)
    r = solves(64, 200 if quick else 2000, rng)
    secs = time.monotonic() - t0
    print(f"numpy heat={h:.6f} spectra={s:.3f} residual_ok={r < 1e-8} secs={secs:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
