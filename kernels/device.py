"""Typed device choice. GPU modules are imported only when the GPU is chosen."""

from __future__ import annotations

import functools
from typing import Callable, Literal

Device = Literal["cpu", "gpu", "auto"]


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy  # noqa: PLC0415 (lazy on purpose)
        return bool(cupy.cuda.is_available())
    except Exception:  # ImportError, or CUDA driver errors on CPU-only machines
        return False


def resolve(device: Device) -> Literal["cpu", "gpu"]:
    """'auto' becomes 'gpu' when a usable GPU is present, else 'cpu'."""
    if device == "auto":
        return "gpu" if gpu_available() else "cpu"
    if device == "gpu" and not gpu_available():
        raise RuntimeError("device 'gpu' was requested but no usable CUDA GPU was found "
                           "(is the 'gpu' extra installed: pip install -e '.[gpu]'?). "
                           "Use device 'cpu' or 'auto'.")
    return device


def get_kernel(device: Device, cache_key: object = None) -> Callable:
    """The screen_topk function for ``device``.

    ``cache_key`` names the tables' content: the GPU kernel then keeps them on the
    device for the next screen of the same tables (``gpu._prepared``); the CPU
    kernel reads them in place and ignores it.
    """
    if resolve(device) == "gpu":
        from reunion.kernels import gpu  # noqa: PLC0415
        return gpu.screen_topk if cache_key is None else functools.partial(gpu.screen_topk, cache_key=cache_key)
    from reunion.kernels import cpu  # noqa: PLC0415
    return cpu.screen_topk
