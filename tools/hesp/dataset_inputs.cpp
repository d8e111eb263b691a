// SPDX-License-Identifier: LGPL-2.1-or-later
#include "dataset_inputs.h"

#include <unistd.h>

#include <cstdio>

#include "hesp/error.h"

namespace hesp::cli {

std::string folder_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string classes_file_for(const std::string& given, const std::string& annotation_file) {
  if (!given.empty()) return given;
  const std::string beside = folder_of(annotation_file) + "/classes.txt";
  return access(beside.c_str(), R_OK) == 0 ? beside : "";
}

RunClasses resolve_classes(const std::string& classes, const std::string& split,
                           const std::string& annotation_file) {
  RunClasses c;
  const std::string file = classes_file_for(classes, annotation_file);
  if (!file.empty()) c.all = data::read_class_file(file);
  if (!split.empty()) {
    c.split = data::parse_split(split);
    if (c.all.empty()) c.all = c.split.class_names;
  }
  if (c.all.empty())
    throw SettingsError("no class names: give --classes FILE or a --split of a known data set");
  if (split.empty()) {
    c.split.spec = "all";
    for (int id = 0; id < static_cast<int>(c.all.size()); ++id)
      if (!c.all[id].empty()) c.split.known.push_back(id);
  }
  for (int id : c.split.known) {
    if (id < 0 || id >= static_cast<int>(c.all.size()) || c.all[id].empty())
      throw SettingsError("split '" + split + "' names class id " + std::to_string(id) +
                          ", which the classes file does not have");
    c.known.push_back(c.all[id]);
  }
  return c;
}

data::Annotations read_annotation_file(const std::string& file,
                                       const std::vector<std::string>& class_names,
                                       const AnnotationReading& how) {
  data::AnnotationOptions read;
  read.root = how.root;
  read.class_names = class_names;
  read.skip_bad = how.skip_bad;
  data::Annotations a = data::read_annotations(file, read);
  if (!a.skipped.empty()) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), a.skip_summary().c_str());
    for (std::size_t i = 0; i < a.skipped.size() && i < 5; ++i)
      std::fprintf(stderr, "  %s\n", a.skipped[i].message.c_str());
  }
  if (a.frame_count_mismatches > 0)
    std::fprintf(stderr,
                 "%s: %d clips hold another number of frames than annotated (using what is "
                 "there)\n",
                 file.c_str(), a.frame_count_mismatches);
  return a;
}

std::vector<data::AnnotationItem> known_items(const std::string& file, const RunClasses& classes,
                                              const AnnotationReading& how) {
  std::vector<data::AnnotationItem> items =
      data::apply_split(read_annotation_file(file, classes.all, how).items, classes.split).known;
  if (items.empty()) throw InputError("'" + file + "' has no clips of the known classes");
  return items;
}

}  // namespace hesp::cli
