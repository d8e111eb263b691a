// SPDX-License-Identifier: LGPL-2.1-or-later
// Helpers for the Google Benchmark programs in tests/bench.
#pragma once

#include <benchmark/benchmark.h>

#include <string>

#include "hesp/expression_model.h"

namespace hesp::test {

// What `model` gives (it sets the reason when it gives nullptr); on nullptr the benchmark is
// marked skipped with that reason.
inline hesp::ExpressionModel* model_or_skip(benchmark::State& state,
                                            hesp::ExpressionModel* (*model)(std::string*)) {
  std::string why;
  hesp::ExpressionModel* m = model(&why);
  if (!m) state.SkipWithError(why.c_str());
  return m;
}

}  // namespace hesp::test
