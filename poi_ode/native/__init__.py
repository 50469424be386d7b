"""Compiled simulation engine: the symbolic model printed as C, with a Rosenbrock integrator.

The code lives in :mod:`poi_ode.native.engine` (generation, compilation, the sealed cache and
the ctypes calls); this package re-exports its public names.
"""
from .engine import (
    ENGINE,
    FAILURES,
    NativeModel,
    NativeUnavailable,
    available,
    c_source,
    native_model,
)

__all__ = ["ENGINE", "FAILURES", "NativeModel", "NativeUnavailable", "available", "c_source", "native_model"]
