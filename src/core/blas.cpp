// Looks OpenBLAS up at run time, so the library neither links nor requires it.
#include "nn_interpretability/core/blas.h"

#include <dlfcn.h>

namespace nn_interpretability {

bool set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set == nullptr) return false;
  set(threads);
  return true;
}

BlasInfo blas_info() {
  BlasInfo info;
  info.library = "unknown";
  if (void* gemm = dlsym(RTLD_DEFAULT, "dgemm_")) {
    Dl_info where;
    if (dladdr(gemm, &where) != 0 && where.dli_fname != nullptr) info.library = where.dli_fname;
  }
  using GetThreads = int (*)();
  if (auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) info.threads = get();
  return info;
}

}  // namespace nn_interpretability
