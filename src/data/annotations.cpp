// SPDX-License-Identifier: LGPL-2.1-or-later
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/media.h"
#include "hesp/dataset.h"
#include "hesp/error.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace hesp::data {

namespace {

// A whole token as a non-negative int; false for anything else ("3.0", "-1", "12a", overflow).
bool parse_int(const std::string& text, long max, int& out) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  out = static_cast<int>(v);
  return true;
}

std::vector<std::string> split_ws(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string tok; in >> tok;) out.push_back(tok);
  return out;
}

// Error with its kind, so that skip_bad can record it and strict mode can throw the right type.
struct LineError {
  SkipReason reason;
  std::string message;
};

[[noreturn]] void throw_line_error(const LineError& e) {
  if (e.reason == SkipReason::kMissingPath) throw FileNotFoundError(e.message);
  throw CorruptFileError(e.message);
}

}  // namespace

const std::vector<std::string>& mafw_class_names() {
  static const std::vector<std::string> names = {
      "Angry",    "Disgust",  "Fear",    "Happy",        "Neutral",       "Sad",
      "Surprise", "Contempt", "Anxiety", "Helplessness", "Disappointment"};
  return names;
}

const std::vector<std::string>& dfew_class_names() {
  static const std::vector<std::string> names = {"Happy",    "Sad",     "Neutral", "Angry",
                                                 "Surprise", "Disgust", "Fear"};
  return names;
}

const std::vector<std::string>& afew_class_names() {
  static const std::vector<std::string> names = {"Angry",   "Disgust", "Fear",    "Happy",
                                                 "Neutral", "Sad",     "Surprise"};
  return names;
}

const std::vector<std::string>& class_names(const std::string& dataset) {
  const std::string d = util::lower(dataset);
  if (d == "mafw") return mafw_class_names();
  if (d == "dfew") return dfew_class_names();
  if (d == "afew") return afew_class_names();
  throw SettingsError("unknown data set '" + dataset + "' (known: mafw, dfew, afew)");
}

std::vector<std::string> read_class_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw FileNotFoundError("classes file '" + path + "' not found");
    throw CorruptFileError("cannot read classes file '" + path + "'");
  }
  std::map<int, std::string> by_id;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto tokens = split_ws(line);
    if (tokens.empty() || tokens[0][0] == '#') continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    int id = 0;
    if (tokens.size() != 2)
      throw CorruptFileError(where + "expected '<id> <Name>', found " +
                             std::to_string(tokens.size()) + " columns");
    if (!parse_int(tokens[0], 9999, id))
      throw CorruptFileError(where + "class id '" + tokens[0] + "' is not a non-negative integer");
    if (!by_id.emplace(id, tokens[1]).second)
      throw CorruptFileError(where + "class id " + std::to_string(id) + " appears twice");
  }
  if (by_id.empty()) throw CorruptFileError(path + ": no classes");
  std::vector<std::string> names(static_cast<std::size_t>(by_id.rbegin()->first) + 1);
  for (const auto& [id, name] : by_id) names[static_cast<std::size_t>(id)] = name;
  return names;
}

const char* skip_reason_name(SkipReason reason) {
  switch (reason) {
    case SkipReason::kColumns:
      return "wrong column count";
    case SkipReason::kFrameCount:
      return "bad frame count";
    case SkipReason::kLabel:
      return "bad label";
    case SkipReason::kMissingPath:
      return "missing path";
    case SkipReason::kEmptyFolder:
      return "empty frame folder";
    case SkipReason::kUnreadableVideo:
      return "unreadable video";
  }
  return "?";
}

std::string Annotations::skip_summary() const {
  const int total = static_cast<int>(items.size() + skipped.size());
  if (skipped.empty()) return "skipped 0 of " + std::to_string(total) + " items";
  std::map<SkipReason, int> counts;
  for (const auto& s : skipped) ++counts[s.reason];
  std::string out =
      "skipped " + std::to_string(skipped.size()) + " of " + std::to_string(total) + " items:";
  bool first = true;
  for (const auto& [reason, n] : counts) {
    out += std::string(first ? " " : ", ") + std::to_string(n) + " " + skip_reason_name(reason);
    first = false;
  }
  return out;
}

Annotations read_annotations(const std::string& file, const AnnotationOptions& options) {
  std::ifstream in(file);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw FileNotFoundError("annotation file '" + file + "' not found");
    throw CorruptFileError("cannot read annotation file '" + file + "'");
  }
  const fs::path root =
      options.root.empty() ? fs::path(file).parent_path() : fs::path(options.root);
  const int n_classes = static_cast<int>(options.class_names.size());

  Annotations out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // files written on Windows
    const auto tokens = split_ws(line);
    if (tokens.empty() || tokens[0][0] == '#') continue;
    ++out.lines;
    const std::string where = file + ":" + std::to_string(number) + ": ";
    const auto fail = [&](SkipReason reason, const std::string& what) {
      const LineError e{reason, where + what};
      if (!options.skip_bad) throw_line_error(e);
      out.skipped.push_back({e.reason, e.message});
    };

    if (tokens.size() != 3 && tokens.size() != 4) {
      fail(SkipReason::kColumns, "expected '<path> <num_frames> <label_id> [<LabelText>]', found " +
                                     std::to_string(tokens.size()) + " columns");
      continue;
    }
    AnnotationItem item;
    item.rel_path = tokens[0];
    item.source = file;
    item.line = number;
    if (!parse_int(tokens[1], INT_MAX, item.num_frames) || item.num_frames < 1) {
      fail(SkipReason::kFrameCount, "num_frames '" + tokens[1] + "' is not a positive integer");
      continue;
    }
    if (!parse_int(tokens[2], INT_MAX, item.label)) {
      fail(SkipReason::kLabel, "label id '" + tokens[2] + "' is not a non-negative integer");
      continue;
    }
    if (n_classes > 0 && (item.label >= n_classes || options.class_names[item.label].empty())) {
      fail(SkipReason::kLabel, "label id " + tokens[2] + " is not in the class list (" +
                                   std::to_string(n_classes) + " ids, 0-" +
                                   std::to_string(n_classes - 1) + ")");
      continue;
    }
    item.original_label = item.label;
    if (tokens.size() == 4) item.label_text = tokens[3];
    if (options.check_label_text && n_classes > 0 && !item.label_text.empty() &&
        util::lower(item.label_text) != util::lower(options.class_names[item.label])) {
      fail(SkipReason::kLabel, "label text '" + item.label_text + "' does not match class " +
                                   tokens[2] + " (" + options.class_names[item.label] + ")");
      continue;
    }
    const fs::path rel(item.rel_path);
    item.path = (rel.is_absolute() ? rel : root / rel).lexically_normal().string();
    if (options.check_media) {
      try {
        const detail::MediaInfo info = detail::probe_media(item.path);
        item.kind = info.kind;
        item.available_frames = info.frames;
      } catch (const FileNotFoundError&) {
        fail(SkipReason::kMissingPath,
             "'" + item.rel_path + "' does not exist (looked for '" + item.path + "')");
        continue;
      } catch (const Error& e) {
        std::error_code ec;
        const bool folder = fs::is_directory(item.path, ec);
        fail(folder ? SkipReason::kEmptyFolder : SkipReason::kUnreadableVideo, e.what());
        continue;
      }
      if (item.available_frames != item.num_frames) ++out.frame_count_mismatches;
    }
    out.items.push_back(std::move(item));
  }
  if (in.bad()) throw CorruptFileError("error while reading annotation file '" + file + "'");
  return out;
}

}  // namespace hesp::data
