"""Launch shape of ``screen.cu``: compile-time defines, table layout, chunking.

The module is compiled by NVRTC (``cupy.RawModule``) for the current device
with the shape as ``-D`` defines (loci per profile, rows per staged group,
profiles per thread, largest k), cached per device and shape. Large row counts
are split over ``blockIdx.y`` chunks when there are too few profile tiles to
fill the GPU, and the per-chunk lists are merged on the device. Pure
arithmetic on sizes: no CuPy.
"""

from __future__ import annotations

from dataclasses import dataclass

THREADS = 256          # threads per block of screen_topk_smem
MIN_BLOCKS = 2         # its __launch_bounds__ minimum blocks per SM
SIMPLE_THREADS = 128   # threads per block of screen_topk_simple
MERGE_THREADS = 128
MAX_CHUNKS = 64        # SCREEN_MAXCHUNK
MAX_K = 1024


@dataclass(frozen=True)
class KernelConfig:
    """Compile-time shape of one build of screen.cu."""

    variant: str          # "smem" (fast path) or "simple" (fallback)
    L: int                # SCREEN_L (1 for "simple", which takes L at run time)
    rows: int             # SCREEN_ROWS
    ppt: int              # SCREEN_PPT
    kmax: int             # SCREEN_KMAX
    threads: int = THREADS
    min_blocks: int = MIN_BLOCKS
    maxchunk: int = MAX_CHUNKS

    def defines(self) -> tuple[str, ...]:
        return (f"-DSCREEN_L={self.L}", f"-DSCREEN_ROWS={self.rows}", f"-DSCREEN_PPT={self.ppt}",
                f"-DSCREEN_THREADS={self.threads}", f"-DSCREEN_MIN_BLOCKS={self.min_blocks}",
                f"-DSCREEN_KMAX={self.kmax}", f"-DSCREEN_MAXCHUNK={self.maxchunk}")


def kmax_for(k: int) -> int:
    """SCREEN_KMAX of a build serving k: a power of two >= max(k, 16)."""
    return max(16, 1 << max(0, k - 1).bit_length())


def ppt_for(L: int) -> int:
    """Profiles per thread keeping registers under 128 without spills (0: use simple)."""
    if 1 <= L <= 40:
        return 2
    if 40 < L <= 96:
        return 1
    return 0


def padded_width(W: int) -> int:
    """Table row width W rounded up to a multiple of 4 (float4 staging)."""
    return -(-W // 4) * 4


def smem_bytes(W: int, L: int, rows: int, ppt: int, threads: int = THREADS) -> int:
    """Dynamic shared bytes of screen_topk_smem: the double-buffered float32 [rows, Wp]
    groups, or the block's uint16 profile tile [threads * ppt, L], whichever is larger."""
    return max(2 * padded_width(W) * rows * 4, threads * ppt * L * 2)


def choose_layout(L: int, W: int, max_smem_block: int, max_smem_sm: int,
                  threads: int = THREADS) -> tuple[str, int, int, int]:
    """(variant, rows, ppt, dynamic shared bytes) for tables of width W and L loci.

    Prefers the most rows per staged group that still lets MIN_BLOCKS blocks share
    an SM, else the most that fit at all; "simple" when nothing fits.
    """
    ppt = ppt_for(L)
    if ppt == 0 or padded_width(W) > 65535:
        return "simple", 1, 1, 0
    fits = [(rows, smem_bytes(W, L, rows, ppt, threads)) for rows in (4, 2, 1)]
    fits = [(rows, smem) for rows, smem in fits if smem <= max_smem_block]
    if not fits:
        return "simple", 1, 1, 0
    for rows, smem in fits:
        if max_smem_sm // (smem + 1024) >= MIN_BLOCKS:
            return "smem", rows, ppt, smem
    rows, smem = fits[0]
    return "smem", rows, ppt, smem


def plan_chunks(tiles: int, units: int, num_sms: int, blocks_per_sm: int,
                min_units: int) -> tuple[int, int]:
    """(chunks, units per chunk): split the table rows when profile tiles alone
    would leave the GPU idle (about two waves of resident blocks)."""
    if units <= 0:
        return 1, 1
    target = 2 * num_sms * max(1, blocks_per_sm)
    n = -(-target // max(1, tiles))
    n = max(1, min(n, MAX_CHUNKS, units // min_units if units >= min_units else 1))
    per = -(-units // n)
    return -(-units // per), per
