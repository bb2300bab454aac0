#pragma once
// How many threads the library's computations use.
//
// LibTorch sizes its intra-op pool from the *physical* cores it counts, so on a machine with two
// hyper-threads of one core (a common small VM) `at::get_num_threads()` starts at 1 and half the
// machine is idle. `set_threads()` sizes it from what this process may actually use instead: the
// CPU affinity mask, capped by a cgroup CPU quota (containers, Slurm). The CLI, the examples, the
// benchmark and the gallery call it at start; call it in your own programs, or pass a number.
//
// The BLAS: Debian's LibTorch runs some small convolutions through the system BLAS (OpenBLAS after
// the set-up). OpenBLAS's own pthreads then compete with LibTorch's OpenMP threads for the same
// cores; measured on 2 cores (docs/benchmarks.md, "Threads"), one BLAS thread is never slower by
// more than noise once LibTorch has all cores, and two of each oversubscribe the machine (up to 3x
// slower). So `set_threads` gives OpenBLAS one thread unless told otherwise.

namespace nn_interpretability {

/// Cores this process may run on: the affinity mask's count, capped by a cgroup v2 `cpu.max` or v1
/// `cpu.cfs_quota_us` quota (rounded up), at least 1.
int available_cores();

struct ThreadSettings {
  int intra_op = 0;  ///< LibTorch's intra-op threads (`at::get_num_threads()`)
  int blas = -1;     ///< OpenBLAS's threads; -1 when the BLAS is not OpenBLAS
};

/// Sets LibTorch's intra-op threads to `threads` (<= 0: $OMP_NUM_THREADS if set, else
/// `available_cores()`) and OpenBLAS's to
/// `blas_threads` (<= 0: $OPENBLAS_NUM_THREADS if set, else 1; see above). Returns what is in effect afterwards. Set it before the
/// first parallel LibTorch call of the process: OpenMP sizes its pool once per thread.
ThreadSettings set_threads(int threads = 0, int blas_threads = 0);

/// What is in effect now.
ThreadSettings current_threads();

}  // namespace nn_interpretability
