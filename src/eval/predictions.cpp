// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading and writing prediction files (docs/evaluation.md). The reader is strict: a file that
// evaluates without complaint must mean what its author thought, so every field is type-checked and
// every problem names the file and the clip.
#include "hesp/predictions.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hesp/error.h"

namespace hesp::eval {

namespace {

using nlohmann::json;

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw CorruptFileError(source_ + ": " + what);
  }

  // "known[3]" or, when the clip has an id, "known[3] (clip 'a/b.mp4')".
  static std::string where(const char* list, std::size_t i, const std::string& id) {
    std::string s = std::string(list) + "[" + std::to_string(i) + "]";
    if (!id.empty()) s += " (clip '" + id + "')";
    return s;
  }

  std::vector<std::string> classes(const json& doc) const {
    if (!doc.contains("classes")) fail("missing field 'classes' (the known class names)");
    const json& c = doc["classes"];
    if (!c.is_array() || c.empty()) fail("'classes' must be a non-empty array of class names");
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (!c[i].is_string() || c[i].get<std::string>().empty())
        fail("classes[" + std::to_string(i) + "] must be a non-empty string");
      names.push_back(c[i].get<std::string>());
      if (!seen.insert(names.back()).second)
        fail("class '" + names.back() + "' is listed twice in 'classes'");
    }
    return names;
  }

  ClipPrediction clip(const json& c, const char* list, std::size_t i,
                      const std::vector<std::string>& classes, bool known) const {
    ClipPrediction p;
    if (!c.is_object()) fail(where(list, i, "") + " must be an object");
    if (c.contains("clip")) {
      if (!c["clip"].is_string()) fail(where(list, i, "") + ": 'clip' must be a string");
      p.id = c["clip"].get<std::string>();
    }
    const std::string at = where(list, i, p.id);
    if (!c.contains("logits")) fail(at + ": missing field 'logits'");
    const json& l = c["logits"];
    if (!l.is_array()) fail(at + ": 'logits' must be an array of numbers");
    if (l.size() != classes.size())
      fail(at + ": 'logits' has " + std::to_string(l.size()) + " values, expected " +
           std::to_string(classes.size()) + " (one per class)");
    for (std::size_t j = 0; j < l.size(); ++j) {
      if (!l[j].is_number()) fail(at + ": logits[" + std::to_string(j) + "] is not a number");
      p.logits.push_back(l[j].get<double>());
      if (!std::isfinite(p.logits.back()))
        fail(at + ": logits[" + std::to_string(j) + "] is not finite");
    }
    if (known) p.label = label(c, at, classes);
    if (c.contains("open_set_score")) {
      const json& s = c["open_set_score"];
      if (!s.is_number() || !std::isfinite(s.get<double>()))
        fail(at + ": 'open_set_score' must be a finite number");
      p.open_set_score = s.get<double>();
    }
    return p;
  }

 private:
  int label(const json& c, const std::string& at, const std::vector<std::string>& classes) const {
    if (!c.contains("label")) fail(at + ": missing field 'label' (known clips need one)");
    const json& l = c["label"];
    const int k = static_cast<int>(classes.size());
    if (l.is_number_integer()) {
      const auto v = l.get<std::int64_t>();
      if (v < 0 || v >= k)
        fail(at + ": label " + std::to_string(v) + " is out of range 0.." + std::to_string(k - 1));
      return static_cast<int>(v);
    }
    if (l.is_string()) {
      for (int i = 0; i < k; ++i)
        if (classes[i] == l.get<std::string>()) return i;
      fail(at + ": label '" + l.get<std::string>() + "' is not one of the classes");
    }
    fail(at + ": 'label' must be a class index (integer) or a class name");
  }

  std::string source_;
};

}  // namespace

PredictionSet predictions_from_json(const json& doc, const std::string& source,
                                    std::optional<ScoreRule> score_rule) {
  const Reader r(source);
  if (!doc.is_object()) r.fail("a prediction file is a JSON object");
  if (doc.contains("format") &&
      (!doc["format"].is_string() || doc["format"].get<std::string>() != kPredictionsFormat)) {
    // Only a scalar is quoted back: dump() recurses once per level of nesting, so an array nested
    // a few hundred thousand deep would overflow the stack (found by tests/fuzz).
    const json& format = doc["format"];
    const std::string found =
        format.is_primitive() ? format.dump() : std::string("a JSON ") + format.type_name();
    r.fail("'format' is " + found + ", expected \"" + kPredictionsFormat + "\"");
  }
  if (doc.contains("version")) {
    if (!doc["version"].is_number_integer()) r.fail("'version' must be an integer");
    if (doc["version"].get<std::int64_t>() > kPredictionsVersion)
      r.fail("layout version " + doc["version"].dump() + " is newer than this build reads (" +
             std::to_string(kPredictionsVersion) + ")");
  }
  PredictionSet set;
  set.source = source;
  if (doc.contains("name")) {
    if (!doc["name"].is_string()) r.fail("'name' must be a string");
    set.name = doc["name"].get<std::string>();
  }
  if (set.name.empty()) set.name = std::filesystem::path(source).stem().string();
  set.classes = r.classes(doc);

  if (!doc.contains("known")) r.fail("missing field 'known' (the clips of known classes)");
  if (!doc["known"].is_array()) r.fail("'known' must be an array of clips");
  if (doc.contains("unknown") && !doc["unknown"].is_array())
    r.fail("'unknown' must be an array of clips");
  std::vector<bool> has_score;
  std::vector<std::string> where;
  for (const char* list : {"known", "unknown"}) {
    if (!doc.contains(list)) continue;
    const json& clips = doc[list];
    for (std::size_t i = 0; i < clips.size(); ++i) {
      set.clips.push_back(r.clip(clips[i], list, i, set.classes, list[0] == 'k'));
      has_score.push_back(clips[i].contains("open_set_score"));
      where.push_back(Reader::where(list, i, set.clips.back().id));
    }
  }

  std::optional<ScoreRule> rule = score_rule;
  if (!rule && doc.contains("score_rule")) {
    if (!doc["score_rule"].is_string()) r.fail("'score_rule' must be a string");
    try {
      rule = parse_score_rule(doc["score_rule"].get<std::string>());
    } catch (const SettingsError& e) {
      r.fail(e.what());
    }
  }
  const std::size_t scored = std::count(has_score.begin(), has_score.end(), true);
  if (!rule) {
    // Without a stated rule, scores on some clips and not on others cannot be read either way.
    if (scored > 0 && scored < has_score.size()) {
      const std::size_t missing =
          std::find(has_score.begin(), has_score.end(), false) - has_score.begin();
      r.fail(where[missing] + " has no 'open_set_score' while " + std::to_string(scored) +
             " other clips have one");
    }
    rule = scored > 0 ? ScoreRule::kGiven : ScoreRule::kMaxLogit;
  }
  set.score_rule = *rule;
  for (std::size_t i = 0; i < set.clips.size(); ++i) {
    if (set.score_rule != ScoreRule::kGiven) {
      set.clips[i].open_set_score = open_set_score(set.clips[i].logits, set.score_rule);
    } else if (!has_score[i]) {
      r.fail(where[i] + ": missing 'open_set_score' (the score rule is 'given')");
    }
  }
  return set;
}

PredictionSet read_predictions(const std::string& path, std::optional<ScoreRule> score_rule) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw FileNotFoundError("prediction file '" + path + "' does not exist");
  if (!S_ISREG(st.st_mode))
    throw CorruptFileError("prediction file '" + path + "' is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw CorruptFileError("prediction file '" + path +
                           "' cannot be read: " + std::strerror(errno));
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    // A syntax error (with line and column) or a number too large for a double. nlohmann's text
    // starts with a "[json.exception.parse_error.101] " tag users need not see.
    std::string what = e.what();
    const auto tag_end = what.find("] ");
    if (tag_end != std::string::npos) what = what.substr(tag_end + 2);
    throw CorruptFileError(path + ": not valid JSON: " + what);
  }
  return predictions_from_json(doc, path, score_rule);
}

json predictions_to_json(const PredictionSet& set) {
  json doc = {{"format", kPredictionsFormat},
              {"version", kPredictionsVersion},
              {"name", set.name},
              {"classes", set.classes},
              {"score_rule", score_rule_name(set.score_rule)}};
  json known = json::array();
  json unknown = json::array();
  for (const ClipPrediction& c : set.clips) {
    json j = json::object();
    if (!c.id.empty()) j["clip"] = c.id;
    if (c.label != kUnknownLabel) j["label"] = c.label;
    j["logits"] = c.logits;
    if (set.score_rule == ScoreRule::kGiven) j["open_set_score"] = c.open_set_score;
    (c.label == kUnknownLabel ? unknown : known).push_back(std::move(j));
  }
  doc["known"] = std::move(known);
  doc["unknown"] = std::move(unknown);
  return doc;
}

void write_predictions(const PredictionSet& set, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write prediction file '" + path + "': " + std::strerror(errno));
  out << predictions_to_json(set).dump(1) << '\n';
  out.close();
  if (!out) throw Error("cannot write prediction file '" + path + "': write failed");
}

}  // namespace hesp::eval
