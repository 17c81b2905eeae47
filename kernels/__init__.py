"""Screening kernels: the gather-sum of KINSHIP.md "The engine's shape", with top-k.

Three versions share one signature (arrays in, arrays out, no orchestration):

- :mod:`reunion.kernels.reference`: slow, readable NumPy (the specification);
- :mod:`reunion.kernels.cpu`: numba, parallel over cores (the embedded default);
- :mod:`reunion.kernels.gpu`: CuPy RawModule over ``screen.cu`` (imported lazily),
  with its float32 error bound (:mod:`~reunion.kernels.gpu_bound`), launch shapes
  (:mod:`~reunion.kernels.gpu_launch`) and exact mode (:mod:`~reunion.kernels.gpu_exact`).

All rank by (score desc, table row asc) as :mod:`reunion.kernels.topk` does.
Use :func:`reunion.kernels.device.get_kernel` to pick one by a typed device.
"""
