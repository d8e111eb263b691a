// SPDX-License-Identifier: LGPL-2.1-or-later
// Random numbers for the generator. std::mt19937 and std::seed_seq are specified bit-exactly by the
// C++ standard, the std::*_distribution classes are not, so the conversions to floats live here:
// the same seed then gives the same clips with any standard library.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

namespace hesp::synth::detail {

// splitmix64 finaliser: spreads a 64-bit value over all bits.
inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) { return mix64(a ^ mix64(b)); }

// FNV-1a, for mixing names into seeds.
inline std::uint64_t hash_string(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// Independent streams drawn from one clip seed.
enum class Stream : std::uint64_t {
  kIdentity = 1,
  kScene = 2,
  kIdle = 3,
  kExpression = 4,
  kCaption = 5,
  kNoise = 6,
};

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
    gen_.seed(seq);
  }
  Rng(std::uint64_t seed, Stream stream)
      : Rng(mix_seed(seed, static_cast<std::uint64_t>(stream))) {}

  std::uint32_t bits() { return gen_(); }
  // [0, 1) with 24 random bits: exact in float and double.
  double uniform() { return (gen_() >> 8) * (1.0 / 16777216.0); }
  float uniform(float lo, float hi) { return lo + static_cast<float>(uniform()) * (hi - lo); }
  // 0 .. n-1
  int index(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }
  bool chance(double p) { return uniform() < p; }
  float sign() { return chance(0.5) ? 1.f : -1.f; }
  // Standard normal by Box-Muller (one value per call; simple and portable).
  float normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  float normal(float mean, float sd) { return mean + sd * normal(); }

 private:
  std::mt19937 gen_;
};

}  // namespace hesp::synth::detail
