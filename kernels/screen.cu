// Screening kernel of reunion (KINSHIP.md, "The engine's shape"): a gather-sum
// with an on-device top-k. The [R, T] score matrix never leaves the device (it is
// never even stored: each thread keeps its profiles' running top-k).
//
//   score(r, t) = sum over loci l, in locus order, of tables[t, offsets[l] + profiles[r, l]]
//
// accumulated in float32 starting from 0.0f, one locus after another (the same
// order as kernels/reference.py, so the score is bit-identical to NumPy summing the
// float32-converted tables locus by locus). Per profile r the kernel returns the k
// best table rows t with score >= floors[t], best first, ties to the lower t;
// unused slots hold index -1 and score -inf. The floors are per table row: the
// launcher (kernels/gpu.py) lowers the caller's float64 floor by a float32 error
// bound of that row, so no candidate whose exact score passes is dropped (the
// derivation is in gpu_bound.py; exact float64 rescoring happens elsewhere).
//
// Kernels (all extern "C"; compile-time shape via -D, see the defaults below):
//
//   screen_topk_smem    the fast path. A block takes a tile of
//                       P = SCREEN_THREADS * SCREEN_PPT profiles against a chunk of
//                       table rows (blockIdx.y). Table rows are pre-interleaved by
//                       the launcher into groups of SCREEN_ROWS rows,
//                       [G, Wp, ROWS] float32 (Wp = W rounded up to 4), so one
//                       16-byte shared-memory load fetches one slot of 4 rows. Groups
//                       are staged into shared memory with cp.async, double
//                       buffered. Each thread keeps its SCREEN_PPT profiles' slot
//                       indices in registers (two 16-bit indices per register) and
//                       a top-k per profile in local memory (touched only when a
//                       score beats the current k-th best, which is rare).
//   screen_topk_simple  fallback for shapes the fast path cannot hold (row too wide
//                       for shared memory, very many loci): one profile per thread,
//                       row-major float32 tables read through the read-only cache,
//                       L at run time. Slow but simple; also a cross-check in tests.
//   screen_merge        merges the per-chunk top-k lists [nchunk, R, k] into [R, k]
//                       when the table rows were split over several blocks.
//
// Requirements checked by the launcher: Wp % 4 == 0 and Wp <= 65535 (slot indices
// are packed as 16 bits), k <= SCREEN_KMAX, nchunk <= SCREEN_MAXCHUNK, profiles'
// slot indices in range (offsets[l] + g < W).

#ifndef SCREEN_L
#define SCREEN_L 24            // loci per profile (compile-time: indices live in registers)
#endif
#ifndef SCREEN_ROWS
#define SCREEN_ROWS 4          // table rows per staged group: 4, 2 or 1
#endif
#ifndef SCREEN_PPT
#define SCREEN_PPT 2           // profiles per thread (4 spills at 128 registers, L = 24)
#endif
#ifndef SCREEN_THREADS
#define SCREEN_THREADS 256     // threads per block of the smem kernel
#endif
#ifndef SCREEN_MIN_BLOCKS
#define SCREEN_MIN_BLOCKS 2    // __launch_bounds__ occupancy hint (caps registers at 128)
#endif
#ifndef SCREEN_KMAX
#define SCREEN_KMAX 32         // largest k this build supports (size of the local top-k)
#endif
#ifndef SCREEN_MAXCHUNK
#define SCREEN_MAXCHUNK 64     // largest number of table chunks screen_merge merges
#endif

#define SCREEN_NPACK ((SCREEN_L + 1) / 2)
#define SCREEN_EMPTY 0x7fffffff   // index of an unused slot while selecting (written out as -1)

#if SCREEN_ROWS == 4
typedef float4 screen_vec;
#elif SCREEN_ROWS == 2
typedef float2 screen_vec;
#elif SCREEN_ROWS == 1
typedef float screen_vec;
#else
#error "SCREEN_ROWS must be 1, 2 or 4"
#endif

#if SCREEN_L < 1
#error "SCREEN_L must be >= 1 (the launcher sends L == 0 to screen_topk_simple)"
#endif

__device__ __forceinline__ float screen_get(const float4& v, int j) {
    return j == 0 ? v.x : (j == 1 ? v.y : (j == 2 ? v.z : v.w));
}
__device__ __forceinline__ float screen_get(const float2& v, int j) { return j == 0 ? v.x : v.y; }
__device__ __forceinline__ float screen_get(float v, int) { return v; }

__device__ __forceinline__ float screen_neg_inf() { return __int_as_float(0xff800000); }
__device__ __forceinline__ float screen_pos_inf() { return __int_as_float(0x7f800000); }
__device__ __forceinline__ float screen_nan() { return __int_as_float(0x7fffffff); }

// (s, t) ranks before (bs, bt): higher score, then lower table index. An unused
// slot is (-inf, SCREEN_EMPTY), so even a -inf score that passed a -inf floor
// ranks before it, as in the reference.
__device__ __forceinline__ bool screen_better(float s, int t, float bs, int bt) {
    return s > bs || (s == bs && t < bt);
}

// Insert (s, t) into the sorted list (ks, ki)[0..k) that it is known to beat at
// position k - 1. Local memory, dynamic index: only reached by the rare winners.
__device__ __forceinline__ void screen_insert(float* ks, int* ki, int k, float s, int t) {
    int m = k - 1;
    while (m > 0) {
        const float ps = ks[m - 1];
        const int pi = ki[m - 1];
        if (!screen_better(s, t, ps, pi)) break;
        ks[m] = ps;
        ki[m] = pi;
        --m;
    }
    ks[m] = s;
    ki[m] = t;
}

extern __shared__ __align__(16) unsigned char screen_smem[];

// ---- asynchronous global -> shared copies (sm_80+; plain copies elsewhere) -----

__device__ __forceinline__ void screen_copy16(void* dst_smem, const void* src_global) {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
    unsigned saddr;
    asm volatile("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }"
                 : "=r"(saddr) : "l"(dst_smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(saddr), "l"(src_global) : "memory");
#else
    *reinterpret_cast<int4*>(dst_smem) = *reinterpret_cast<const int4*>(src_global);
#endif
}

__device__ __forceinline__ void screen_copy_commit() {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

template <int N>
__device__ __forceinline__ void screen_copy_wait() {
#if defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
    asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory");
#endif
}

// Stage one group (ROWS interleaved table rows, Wp * ROWS floats) into shared memory.
__device__ __forceinline__ void screen_stage(screen_vec* dst, const screen_vec* __restrict__ src, int Wp) {
    const int n16 = Wp * SCREEN_ROWS / 4;  // 16-byte pieces; Wp % 4 == 0
    const int4* s = reinterpret_cast<const int4*>(src);
    int4* d = reinterpret_cast<int4*>(dst);
    for (int i = threadIdx.x; i < n16; i += SCREEN_THREADS) screen_copy16(d + i, s + i);
    screen_copy_commit();
}

// ---- the fast path -------------------------------------------------------------
//
// tables_il: [G, Wp] vectors of SCREEN_ROWS floats, G = ceil(T / ROWS); element
//            (g, c) holds tables[g*ROWS + j, c] in lane j (rows past T are padding)
// offsets:   [L] int32; profiles: [R, L] uint16; floors: [T] float32
// groups_per_chunk: table groups handled by one blockIdx.y
// out_*:     [gridDim.y, R, k] (the final [R, k] output when gridDim.y == 1)
//
// Dynamic shared memory: max(2 * Wp * ROWS * 4, P * L * 2) bytes, P = THREADS * PPT.
extern "C" __global__ void __launch_bounds__(SCREEN_THREADS, SCREEN_MIN_BLOCKS)
screen_topk_smem(const screen_vec* __restrict__ tables_il, int Wp, int T, int groups_per_chunk,
                 const int* __restrict__ offsets, const unsigned short* __restrict__ profiles,
                 int R, const float* __restrict__ floors, int k,
                 int* __restrict__ out_index, float* __restrict__ out_score)
{
    const int P = SCREEN_THREADS * SCREEN_PPT;
    const int tid = threadIdx.x;
    const int r_base = blockIdx.x * P;
    const int n_valid = min(P, R - r_base);

    // 1. The tile's genotype indices, read coalesced (the tile is contiguous) into
    //    shared memory, then each thread packs its profiles' slot indices.
    unsigned short* ptile = reinterpret_cast<unsigned short*>(screen_smem);
    {
        const unsigned short* src = profiles + (size_t)r_base * SCREEN_L;
        const int n = n_valid * SCREEN_L;
        for (int i = tid; i < n; i += SCREEN_THREADS) ptile[i] = src[i];
    }
    __syncthreads();

    unsigned pk[SCREEN_PPT][SCREEN_NPACK];
    float thr[SCREEN_PPT];   // score of the current k-th best (or +inf: invalid profile)
    int thri[SCREEN_PPT];    // its index (SCREEN_EMPTY while the list is not full)
    float ks[SCREEN_PPT][SCREEN_KMAX];
    int ki[SCREEN_PPT][SCREEN_KMAX];

#pragma unroll
    for (int p = 0; p < SCREEN_PPT; ++p) {
        const int lr = tid + p * SCREEN_THREADS;
        const bool valid = lr < n_valid;
#pragma unroll
        for (int h = 0; h < SCREEN_NPACK; ++h) pk[p][h] = 0u;
#pragma unroll
        for (int l = 0; l < SCREEN_L; ++l) {
            const unsigned c = valid ? (unsigned)(__ldg(offsets + l) + (int)ptile[lr * SCREEN_L + l]) : 0u;
            pk[p][l >> 1] |= (c & 0xffffu) << (16 * (l & 1));
        }
        thr[p] = valid ? screen_neg_inf() : screen_pos_inf();
        thri[p] = valid ? SCREEN_EMPTY : -1;   // (+inf, -1): nothing ever ranks before it
        for (int m = 0; m < k; ++m) {
            ks[p][m] = screen_neg_inf();
            ki[p][m] = SCREEN_EMPTY;
        }
    }
    __syncthreads();  // the tile buffer becomes the table staging buffer

    // 2. Sweep this block's chunk of table groups, double buffered.
    const int G = (T + SCREEN_ROWS - 1) / SCREEN_ROWS;
    const int g0 = blockIdx.y * groups_per_chunk;
    const int g1 = min(G, g0 + groups_per_chunk);
    screen_vec* buf0 = reinterpret_cast<screen_vec*>(screen_smem);
    screen_vec* buf1 = buf0 + Wp;

    if (g0 < g1) screen_stage(buf0, tables_il + (size_t)g0 * Wp, Wp);
    for (int g = g0; g < g1; ++g) {
        const bool odd = ((g - g0) & 1) != 0;
        const screen_vec* cur = odd ? buf1 : buf0;
        if (g + 1 < g1) {
            screen_stage(odd ? buf0 : buf1, tables_il + (size_t)(g + 1) * Wp, Wp);
            screen_copy_wait<1>();
        } else {
            screen_copy_wait<0>();
        }
        __syncthreads();

        const int tb = g * SCREEN_ROWS;
        float fl[SCREEN_ROWS];
#pragma unroll
        for (int j = 0; j < SCREEN_ROWS; ++j)
            fl[j] = (tb + j < T) ? __ldg(floors + tb + j) : screen_nan();  // NaN: padding never passes

        float acc[SCREEN_PPT][SCREEN_ROWS];
#pragma unroll
        for (int p = 0; p < SCREEN_PPT; ++p)
#pragma unroll
            for (int j = 0; j < SCREEN_ROWS; ++j) acc[p][j] = 0.0f;

#pragma unroll
        for (int l = 0; l < SCREEN_L; ++l) {
#pragma unroll
            for (int p = 0; p < SCREEN_PPT; ++p) {
                const unsigned c = (pk[p][l >> 1] >> (16 * (l & 1))) & 0xffffu;
                const screen_vec v = cur[c];
#pragma unroll
                for (int j = 0; j < SCREEN_ROWS; ++j) acc[p][j] += screen_get(v, j);
            }
        }

#pragma unroll
        for (int p = 0; p < SCREEN_PPT; ++p) {
#pragma unroll
            for (int j = 0; j < SCREEN_ROWS; ++j) {
                const float s = acc[p][j];
                const int t = tb + j;
                if (s >= fl[j] && screen_better(s, t, thr[p], thri[p])) {
                    screen_insert(ks[p], ki[p], k, s, t);
                    thr[p] = ks[p][k - 1];
                    thri[p] = ki[p][k - 1];
                }
            }
        }
        __syncthreads();  // everyone is done with `cur` before it is restaged
    }

    // 3. Write this chunk's lists.
#pragma unroll
    for (int p = 0; p < SCREEN_PPT; ++p) {
        const int lr = tid + p * SCREEN_THREADS;
        if (lr < n_valid) {
            const size_t base = ((size_t)blockIdx.y * R + (size_t)(r_base + lr)) * k;
            for (int m = 0; m < k; ++m) {
                const int i = ki[p][m];
                out_index[base + m] = (i == SCREEN_EMPTY) ? -1 : i;
                out_score[base + m] = ks[p][m];
            }
        }
    }
}

// ---- fallback: any W, any L ----------------------------------------------------
//
// tables: [T, W] float32 row-major. One profile per thread (blockIdx.x), table
// rows [blockIdx.y * rows_per_chunk, ...). Same outputs as screen_topk_smem.
extern "C" __global__ void
screen_topk_simple(const float* __restrict__ tables, int W, int T, int rows_per_chunk,
                   const int* __restrict__ offsets, const unsigned short* __restrict__ profiles,
                   int R, int L, const float* __restrict__ floors, int k,
                   int* __restrict__ out_index, float* __restrict__ out_score)
{
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= R) return;
    float ks[SCREEN_KMAX];
    int ki[SCREEN_KMAX];
    for (int m = 0; m < k; ++m) { ks[m] = screen_neg_inf(); ki[m] = SCREEN_EMPTY; }
    float thr = screen_neg_inf();
    int thri = SCREEN_EMPTY;
    const unsigned short* prof = profiles + (size_t)r * L;
    const int t0 = blockIdx.y * rows_per_chunk;
    const int t1 = min(T, t0 + rows_per_chunk);
    for (int t = t0; t < t1; ++t) {
        const float* row = tables + (size_t)t * W;
        float s = 0.0f;
        for (int l = 0; l < L; ++l) s += __ldg(row + __ldg(offsets + l) + (int)__ldg(prof + l));
        if (s >= __ldg(floors + t) && screen_better(s, t, thr, thri)) {
            screen_insert(ks, ki, k, s, t);
            thr = ks[k - 1];
            thri = ki[k - 1];
        }
    }
    const size_t base = ((size_t)blockIdx.y * R + (size_t)r) * k;
    for (int m = 0; m < k; ++m) {
        out_index[base + m] = (ki[m] == SCREEN_EMPTY) ? -1 : ki[m];
        out_score[base + m] = ks[m];
    }
}

// ---- merge of per-chunk lists --------------------------------------------------
//
// part_*: [nchunk, R, k], each list sorted best first, unused slots index -1 at
// the end; chunks hold disjoint table rows. out_*: [R, k]. One thread per profile.
extern "C" __global__ void
screen_merge(const int* __restrict__ part_index, const float* __restrict__ part_score,
             int nchunk, int R, int k, int* __restrict__ out_index, float* __restrict__ out_score)
{
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= R) return;
    unsigned short head[SCREEN_MAXCHUNK];
    for (int c = 0; c < nchunk; ++c) head[c] = 0;
    for (int m = 0; m < k; ++m) {
        int bc = -1;
        float bs = screen_neg_inf();
        int bi = SCREEN_EMPTY;
        for (int c = 0; c < nchunk; ++c) {
            const int h = head[c];
            if (h >= k) continue;
            const size_t o = ((size_t)c * R + (size_t)r) * k + h;
            const int i = part_index[o];
            if (i < 0) continue;
            const float s = part_score[o];
            if (bc < 0 || screen_better(s, i, bs, bi)) { bc = c; bs = s; bi = i; }
        }
        const size_t oo = (size_t)r * k + m;
        if (bc < 0) {
            out_index[oo] = -1;
            out_score[oo] = screen_neg_inf();
        } else {
            out_index[oo] = bi;
            out_score[oo] = bs;
            head[bc] += 1;
        }
    }
}
