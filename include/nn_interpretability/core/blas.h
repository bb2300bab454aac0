#pragma once
// The system BLAS's thread count.
//
// Debian's LibTorch runs small convolutions (batch 1 at MNIST/CIFAR sizes) through the system BLAS.
// With OpenBLAS, its own thread pool competes with LibTorch's OpenMP threads, which makes those
// calls erratic (measured on 2 cores: the same call 3.8–8 ms instead of a steady 3 ms). One BLAS
// thread avoids that: set OPENBLAS_NUM_THREADS=1 in the environment, or call
// `nn_interpretability::set_blas_threads(1)` at the start of main (OpenBLAS reads the variable only
// when it is loaded; the call works at any time).

#include <string>

namespace nn_interpretability {

struct BlasInfo {
  std::string library;  ///< path of the shared library providing dgemm_, or "unknown"
  int threads = -1;     ///< OpenBLAS's current thread count; -1 when the BLAS is not OpenBLAS
};

/// Sets OpenBLAS's thread count; returns false (and does nothing) when the BLAS is not OpenBLAS.
bool set_blas_threads(int threads);

/// Which BLAS LibTorch calls, and with how many threads.
BlasInfo blas_info();

}  // namespace nn_interpretability
