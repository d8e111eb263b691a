// SPDX-License-Identifier: LGPL-2.1-or-later
// What the commands that learn from or score an annotated data set (`hesp train emoclip|hesp|
// probe`, `hesp eval --pack`) read before they start: the class names, from --classes or --split,
// and the annotated clips of the known classes. One place, so that every command finds the same
// classes file and says the same about the lines it skipped.
#pragma once

#include <string>
#include <vector>

#include "hesp/dataset.h"

namespace hesp::cli {

// The folder part of a path; "." for a bare file name.
std::string folder_of(const std::string& path);

// The classes file to read: `given`, else classes.txt next to the annotation file where there is
// one (as hesp synth writes it), else "".
std::string classes_file_for(const std::string& given, const std::string& annotation_file);

// The classes of a run: a classes file (--classes, or classes.txt next to the annotation file) or
// the split's data set names every class; the split picks the known ones.
struct RunClasses {
  std::vector<std::string> all;    // by class id; "" for an id the data set does not use
  data::OpenSetSplit split;        // spec "all" (every named class) without --split
  std::vector<std::string> known;  // the known classes' names, in label order
};

// `classes` and `split` are the options as given ("" when not). Throws SettingsError when
// neither names the classes, or the split names a class id the classes file lacks.
RunClasses resolve_classes(const std::string& classes, const std::string& split,
                           const std::string& annotation_file);

// How annotation files are read.
struct AnnotationReading {
  std::string root;       // folder the media paths start from; "" = the annotation file's
  bool skip_bad = false;  // skip bad lines (counted and reported) instead of stopping
};

// The items of an annotation file whose labels index `class_names`. Says on stderr how many lines
// were skipped and why (the first five) and how many clips hold another number of frames than
// annotated, even with --quiet: no clip is dropped or changed silently.
data::Annotations read_annotation_file(const std::string& file,
                                       const std::vector<std::string>& class_names,
                                       const AnnotationReading& how);

// The clips of the known classes of an annotation file. Throws InputError when it has none.
std::vector<data::AnnotationItem> known_items(const std::string& file, const RunClasses& classes,
                                              const AnnotationReading& how);

}  // namespace hesp::cli
