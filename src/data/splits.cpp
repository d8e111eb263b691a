// SPDX-License-Identifier: LGPL-2.1-or-later
// The open-set known/unknown class splits published with HESP (five random known-class lists per
// data set and openness level), and custom splits.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "hesp/dataset.h"
#include "hesp/error.h"
#include "util/strings.h"

namespace hesp::data {

namespace {

using Lists = std::vector<std::vector<int>>;

const std::map<std::pair<std::string, int>, Lists>& tables() {
  static const std::map<std::pair<std::string, int>, Lists> t = {
      {{"mafw", 3}, {{10, 5, 6}, {1, 5, 3}, {1, 10, 2}, {6, 2, 4}, {2, 8, 9}}},
      {{"mafw", 5},
       {{2, 5, 10, 0, 4}, {0, 5, 2, 6, 8}, {1, 10, 3, 7, 4}, {4, 1, 6, 3, 2}, {8, 0, 4, 3, 6}}},
      {{"mafw", 6},
       {{2, 4, 7, 10, 1, 0},
        {9, 10, 5, 4, 1, 2},
        {6, 9, 1, 10, 7, 2},
        {10, 4, 8, 9, 0, 5},
        {5, 2, 3, 8, 9, 4}}},
      {{"mafw", 8},
       {{4, 2, 5, 8, 1, 9, 6, 3},
        {2, 9, 6, 1, 0, 8, 3, 4},
        {5, 4, 8, 0, 10, 3, 6, 1},
        {0, 7, 6, 9, 2, 4, 5, 1},
        {2, 3, 6, 0, 7, 9, 10, 1}}},
      {{"dfew", 2}, {{6, 1}, {5, 4}, {4, 0}, {3, 1}, {1, 5}}},
      {{"dfew", 3}, {{1, 4, 6}, {0, 1, 5}, {1, 3, 5}, {2, 1, 5}, {0, 2, 1}}},
      {{"dfew", 4}, {{0, 1, 2, 5}, {6, 5, 2, 1}, {3, 5, 1, 4}, {5, 0, 2, 3}, {5, 4, 0, 2}}},
      {{"dfew", 5},
       {{2, 4, 0, 3, 6}, {3, 5, 1, 0, 2}, {0, 6, 5, 4, 3}, {4, 0, 2, 5, 6}, {4, 0, 1, 5, 6}}},
      {{"afew", 2}, {{5, 3}, {6, 3}, {1, 5}, {1, 2}, {0, 4}}},
      {{"afew", 3}, {{3, 1, 2}, {0, 4, 1}, {2, 3, 5}, {6, 3, 4}, {4, 6, 5}}},
      {{"afew", 4}, {{6, 0, 3, 5}, {2, 1, 6, 0}, {5, 3, 4, 1}, {0, 2, 3, 1}, {3, 4, 0, 2}}},
      {{"afew", 5},
       {{2, 5, 3, 6, 1}, {3, 0, 4, 6, 1}, {6, 0, 4, 1, 5}, {5, 6, 1, 3, 4}, {4, 6, 2, 1, 0}}},
  };
  return t;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const auto next = s.find(sep, pos);
    out.push_back(
        util::trim(s.substr(pos, next == std::string::npos ? std::string::npos : next - pos)));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> OpenSetSplit::known_names() const {
  std::vector<std::string> out;
  for (int id : known)
    out.push_back(id >= 0 && id < static_cast<int>(class_names.size())
                      ? class_names[id]
                      : "class" + std::to_string(id));
  return out;
}

std::vector<int> OpenSetSplit::unknown(int num_classes) const {
  std::vector<int> out;
  for (int id = 0; id < num_classes; ++id)
    if (std::find(known.begin(), known.end(), id) == known.end()) out.push_back(id);
  return out;
}

const std::vector<std::vector<int>>& published_splits(const std::string& dataset, int known) {
  const auto it = tables().find({util::lower(dataset), known});
  if (it == tables().end())
    throw SettingsError("no published split for " + dataset + " with " + std::to_string(known) +
                        " known classes (mafw: 3, 5, 6, 8; dfew and afew: 2, 3, 4, 5)");
  return it->second;
}

OpenSetSplit parse_split(const std::string& spec_in) {
  const std::string spec = util::trim(spec_in);
  const auto usage = [&](const std::string& why) {
    return SettingsError("split '" + spec_in + "': " + why +
                         " (expected DATASET:K:LIST such as mafw:8:0, DATASET:ID,ID,... or "
                         "DATASET:Name,Name,...)");
  };
  const auto colon = spec.find(':');
  if (colon == std::string::npos) throw usage("no data set");
  OpenSetSplit s;
  s.spec = spec;
  s.dataset = util::lower(util::trim(spec.substr(0, colon)));
  if (s.dataset != "custom") s.class_names = class_names(s.dataset);
  const std::string rest = util::trim(spec.substr(colon + 1));
  const std::vector<std::string> parts = split(rest, ':');
  if (parts.size() == 2) {
    if (s.dataset == "custom") throw usage("custom splits list their class ids");
    if (!all_digits(parts[0]) || !all_digits(parts[1]) || parts[0].size() > 3 ||
        parts[1].size() > 3)
      throw usage("known count and list number must be integers");
    const int k = std::stoi(parts[0]), list = std::stoi(parts[1]);
    const Lists& lists = published_splits(s.dataset, k);
    if (list < 0 || list >= static_cast<int>(lists.size()))
      throw usage("list number must be 0-" + std::to_string(lists.size() - 1));
    s.known = lists[static_cast<std::size_t>(list)];
    return s;
  }
  if (parts.size() != 1) throw usage("too many ':'");
  const std::vector<std::string> entries = split(rest, ',');
  if (entries.size() < 2) throw usage("a split needs at least two known classes");
  std::set<int> seen;
  for (const std::string& e : entries) {
    int id = -1;
    if (all_digits(e) && e.size() <= 5) {
      id = std::stoi(e);
      if (!s.class_names.empty() && id >= static_cast<int>(s.class_names.size()))
        throw usage("class id " + e + " is outside " + s.dataset + "'s 0-" +
                    std::to_string(s.class_names.size() - 1));
    } else {
      for (std::size_t i = 0; i < s.class_names.size(); ++i)
        if (util::lower(s.class_names[i]) == util::lower(e)) id = static_cast<int>(i);
      if (id < 0) throw usage("'" + e + "' is not a class id or a class name of " + s.dataset);
    }
    if (!seen.insert(id).second) throw usage("class " + e + " is listed twice");
    s.known.push_back(id);
  }
  return s;
}

SplitItems apply_split(const std::vector<AnnotationItem>& items, const OpenSetSplit& split) {
  std::map<int, int> position;
  for (std::size_t k = 0; k < split.known.size(); ++k)
    position[split.known[k]] = static_cast<int>(k);
  SplitItems out;
  for (const AnnotationItem& item : items) {
    AnnotationItem copy = item;
    const auto it = position.find(item.original_label);
    if (it != position.end()) {
      copy.label = it->second;
      out.known.push_back(std::move(copy));
    } else {
      copy.label = -1;
      out.unknown.push_back(std::move(copy));
    }
  }
  return out;
}

}  // namespace hesp::data

namespace hesp::data {

HeldOut hold_out(const std::vector<AnnotationItem>& items, double fraction, std::uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    throw SettingsError("validation fraction must be in [0, 1), not " + std::to_string(fraction));
  std::map<int, std::vector<std::size_t>> by_label;
  for (std::size_t i = 0; i < items.size(); ++i) by_label[items[i].label].push_back(i);
  std::vector<bool> held(items.size(), false);
  std::mt19937_64 rng(seed ^ 0x76616c6964ull);
  for (auto& [label, indices] : by_label) {
    if (fraction == 0.0 || indices.size() < 2) continue;
    // Partial Fisher-Yates on raw generator output: the same choice with every standard library.
    const std::size_t take = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::lround(fraction * double(indices.size()))));
    for (std::size_t k = 0; k < take && k + 1 < indices.size(); ++k) {
      const std::size_t j = k + rng() % (indices.size() - k);
      std::swap(indices[k], indices[j]);
      held[indices[k]] = true;
    }
  }
  HeldOut out;
  for (std::size_t i = 0; i < items.size(); ++i)
    (held[i] ? out.validation : out.train).push_back(items[i]);
  return out;
}

}  // namespace hesp::data
