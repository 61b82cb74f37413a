"""Settings of a sandbox, shared by the caller (`Sandbox`) and the supervisor process it starts."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Imported once in the warm interpreter that every run is forked from (a run may import anything else the
# interpreter can see; it then pays the import itself).
DEFAULT_PRELOAD: tuple[str, ...] = (
    "math", "cmath", "fractions", "decimal", "itertools", "functools", "collections", "statistics",
    "random", "re", "string", "heapq", "bisect", "operator", "json", "datetime", "numbers", "typing",
    "numpy", "numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "mpmath", "sympy",
)

# Executed once in the warm interpreter: touches the lazily initialised parts of sympy/numpy that snippets
# commonly hit, so runs do not pay for them. It must not leave anything a run could observe.
DEFAULT_WARMUP = """
import sympy as sp, numpy as np
x = sp.Symbol('x')
sp.factorint(2**64 - 1); sp.isprime(10**9 + 7); sp.nsimplify(0.5)
sp.solve(x**2 - 2, x); sp.simplify(sp.sin(x)**2 + sp.cos(x)**2); sp.Rational(1, 3) + 1
sp.integrate(x**2, x); sp.expand((x + 1)**3); sp.Matrix([[1, 2], [3, 4]]).det(); sp.N(sp.pi, 30)
np.linalg.solve(np.eye(3), np.ones(3)); np.array([1.5]).sum()
del x
"""


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass
class SandboxConfig:
    """Everything the supervisor needs; see `Sandbox` for what each field means."""

    workers: int = field(default_factory=default_workers)
    timeout_s: float = 5.0
    memory_mb: int = 1024
    max_output_chars: int | None = 400
    max_sessions: int = 64
    session_ttl_s: float = 600.0
    session_cpu_s: float = 600.0
    preload: tuple[str, ...] = DEFAULT_PRELOAD
    warmup: str = DEFAULT_WARMUP
    nproc: int = 64
    max_file_mb: int = 64
    max_open_files: int = 256
    scratch_mb: int = 64
    max_capture_bytes: int = 1 << 20
    max_code_bytes: int = 1 << 20
    extra_ro_paths: tuple[str, ...] = ()
    allow_degraded: bool = False
    hugepages: bool = True
    memory_cgroup: bool = True  # a memory cgroup per run when the kernel lets us create one
    seccomp: bool = True  # the seccomp profile (syscall_filter.py)
    spares: int | None = None  # pre-forked idle runs; None = one per worker

    def validate(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        check_timeout(self.timeout_s)
        check_memory(self.memory_mb)
        if self.max_output_chars is not None and self.max_output_chars < 0:
            raise ValueError("max_output_chars must be >= 0 or None")
        if self.max_sessions < 1 or not _positive_finite(self.session_ttl_s) or not _positive_finite(self.session_cpu_s):
            raise ValueError("max_sessions must be >= 1, session_ttl_s and session_cpu_s finite and > 0")
        if self.nproc < 1 or self.max_open_files < 16 or self.scratch_mb < 1 or self.max_file_mb < 1:
            raise ValueError("nproc >= 1, max_open_files >= 16, scratch_mb >= 1 and max_file_mb >= 1 required")
        if self.max_capture_bytes < 1024:
            raise ValueError("max_capture_bytes must be >= 1024")

    @property
    def spare_count(self) -> int:
        return self.workers if self.spares is None else max(0, self.spares)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["preload"] = list(self.preload)
        d["extra_ro_paths"] = list(self.extra_ro_paths)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SandboxConfig:
        names = {f.name for f in fields(cls)}
        cfg = cls(**{k: v for k, v in d.items() if k in names})
        cfg.preload = tuple(cfg.preload)
        cfg.extra_ro_paths = tuple(cfg.extra_ro_paths)
        return cfg


MAX_TIMEOUT_S = 86_400.0  # a day: beyond that a deadline is a mistake (and RLIMIT_CPU math overflows nothing)


def _positive_finite(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def check_timeout(timeout_s: object) -> float:
    """A run's deadline in seconds: a finite number in (0, MAX_TIMEOUT_S]; `ValueError` otherwise (NaN, inf,
    negative, zero, bool, not a number)."""
    if not _positive_finite(timeout_s) or timeout_s > MAX_TIMEOUT_S:
        raise ValueError(f"timeout_s must be a finite number of seconds in (0, {MAX_TIMEOUT_S:g}], not {timeout_s!r}")
    return float(timeout_s)


def check_memory(memory_mb: object) -> int:
    """A run's memory in MB: an integer >= 16 (it is added to the warm interpreter's own footprint)."""
    if isinstance(memory_mb, float) and memory_mb.is_integer():
        memory_mb = int(memory_mb)
    if not isinstance(memory_mb, numbers.Integral) or isinstance(memory_mb, bool) or not 16 <= memory_mb <= 1 << 30:
        raise ValueError(f"memory_mb must be an integer >= 16 (MB on top of the warm interpreter), not {memory_mb!r}")
    return int(memory_mb)
