// SPDX-License-Identifier: LGPL-2.1-or-later
#include "torch_util/intra_op_threads.h"

#include <ATen/Parallel.h>

#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace hesp::torch_util {

// LibTorch's OpenMP regions (`#pragma omp parallel` in at::parallel_for) take their size from the
// calling thread's own OpenMP setting, which omp_set_num_threads changes for that thread alone.
// at::set_num_threads would also change the process-wide default other threads start from and
// clear oneDNN's kernel cache, so it is not used here. at::get_num_threads() first makes LibTorch
// initialise this thread's setting, which it would otherwise do (and overwrite ours) on the first
// parallel_for.
IntraOpThreadsScope::IntraOpThreadsScope(int threads) : saved_(at::get_num_threads()) {
#ifdef _OPENMP
  omp_set_num_threads(std::max(1, threads));
#else
  (void)threads;
#endif
}

IntraOpThreadsScope::~IntraOpThreadsScope() {
#ifdef _OPENMP
  omp_set_num_threads(saved_);
#endif
}

}  // namespace hesp::torch_util
