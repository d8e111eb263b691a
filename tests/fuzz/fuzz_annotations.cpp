// SPDX-License-Identifier: LGPL-2.1-or-later
// read_annotations and read_class_file on arbitrary text. Media probing (OpenCV) is replaced by a
// stub below that answers from the path, so the checks that follow it run without real files.
// Strict mode must refuse with FileNotFoundError or CorruptFileError; skip_bad mode must not
// throw at all, and every line it reads must end up as an item or a skipped entry.
#include <cstdint>
#include <string>
#include <vector>

#include "data/media.h"
#include "fuzz_support.h"
#include "hesp/dataset.h"
#include "hesp/error.h"

namespace hesp::data::detail {

MediaInfo probe_media(const std::string& path) {
  if (path.find("missing") != std::string::npos) throw FileNotFoundError(path + " is missing");
  if (path.find("broken") != std::string::npos) throw CorruptFileError(path + " is broken");
  return {MediaKind::kVideo, static_cast<int>(path.size() % 20)};
}

}  // namespace hesp::data::detail

namespace {

using hesp::data::AnnotationOptions;

void check_lenient(const std::string& path, AnnotationOptions options) {
  options.skip_bad = true;
  const auto a = hesp::data::read_annotations(path, options);
  HESP_FUZZ_CHECK(static_cast<int>(a.items.size() + a.skipped.size()) == a.lines);
  HESP_FUZZ_CHECK(a.frame_count_mismatches <= static_cast<int>(a.items.size()));
  const int n_classes = static_cast<int>(options.class_names.size());
  for (const auto& item : a.items) {
    HESP_FUZZ_CHECK(item.num_frames >= 1 && item.label >= 0 && item.line >= 1);
    HESP_FUZZ_CHECK(n_classes == 0 || item.label < n_classes);
    HESP_FUZZ_CHECK(!item.path.empty());
  }
  (void)a.skip_summary();
}

void check_strict(const std::string& path, const AnnotationOptions& options) {
  try {
    const auto a = hesp::data::read_annotations(path, options);
    HESP_FUZZ_CHECK(a.skipped.empty() && static_cast<int>(a.items.size()) == a.lines);
  } catch (const hesp::FileNotFoundError&) {
  } catch (const hesp::CorruptFileError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static hesp::fuzz::InputFile input;
  const std::string& path = input.write(data, size);

  AnnotationOptions plain;
  plain.check_media = false;
  AnnotationOptions mafw;
  mafw.class_names = hesp::data::mafw_class_names();
  mafw.class_names[2].clear();  // a gap in the ids, as a class file with a subset leaves
  mafw.check_label_text = true;
  mafw.root = "/nonexistent-root";
  for (const AnnotationOptions* options : {&plain, &mafw}) {
    check_strict(path, *options);
    check_lenient(path, *options);
  }

  try {
    const auto names = hesp::data::read_class_file(path);
    HESP_FUZZ_CHECK(!names.empty() && !names.back().empty());
  } catch (const hesp::CorruptFileError&) {
  }
  return 0;
}
