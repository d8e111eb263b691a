// SPDX-License-Identifier: LGPL-2.1-or-later
#include "data/media.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "hesp/error.h"

namespace fs = std::filesystem;

namespace hesp::data {

namespace {

bool is_image_name(const std::string& name) {
  const auto dot = name.find_last_of('.');
  if (dot == std::string::npos || name[0] == '.') return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "bmp" || ext == "webp" ||
         ext == "tif" || ext == "tiff";
}

// Natural order: runs of digits compare by value, so frame 2 sorts before frame 10 whether or
// not the names are zero-padded.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      const int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      if (ie - i != je - j) return ie - i < je - j;  // fewer leading zeros first
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

cv::VideoCapture open_video(const std::string& path) {
  // FFmpeg first: it reads the common containers without a pipeline per file; other backends
  // (GStreamer) as a fallback.
  cv::VideoCapture cap;
  cap.open(path, cv::CAP_FFMPEG);
  if (!cap.isOpened()) cap.open(path, cv::CAP_ANY);
  return cap;
}

RgbFrame to_rgb(const cv::Mat& bgr) {
  RgbFrame f;
  f.width = bgr.cols;
  f.height = bgr.rows;
  f.rgb.resize(static_cast<std::size_t>(f.width) * f.height * 3);
  cv::Mat out(f.height, f.width, CV_8UC3, f.rgb.data());
  if (bgr.channels() == 1) {
    cv::cvtColor(bgr, out, cv::COLOR_GRAY2RGB);
  } else if (bgr.channels() == 4) {
    cv::cvtColor(bgr, out, cv::COLOR_BGRA2RGB);
  } else {
    cv::cvtColor(bgr, out, cv::COLOR_BGR2RGB);
  }
  return f;
}

}  // namespace

std::vector<std::string> list_frames(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    if (!fs::exists(folder, ec)) throw FileNotFoundError("frame folder '" + folder + "' not found");
    throw InputError("'" + folder + "' is not a folder");
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (is_image_name(name) && entry.is_regular_file(ec)) names.push_back(name);
  }
  if (ec) throw CorruptFileError("cannot list frame folder '" + folder + "': " + ec.message());
  std::sort(names.begin(), names.end(), natural_less);
  for (auto& n : names) n = (fs::path(folder) / n).string();
  return names;
}

std::vector<RgbFrame> read_frames(const std::string& path, const std::vector<int>& indices) {
  int decoded = -1;
  std::vector<RgbFrame> frames = detail::read_frames_partial(path, indices, &decoded);
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (frames[i].width == 0)
      throw InputError("frame " + std::to_string(indices[i]) + " is past the end of '" + path +
                       "' (" + std::to_string(decoded) + " frames)");
  return frames;
}

namespace detail {

MediaInfo probe_media(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw FileNotFoundError("'" + path + "' does not exist");
  MediaInfo info;
  if (fs::is_directory(st)) {
    info.kind = MediaKind::kFrameFolder;
    info.frames = static_cast<int>(list_frames(path).size());
    if (info.frames == 0) throw CorruptFileError("frame folder '" + path + "' holds no images");
    return info;
  }
  if (!fs::is_regular_file(st))
    throw CorruptFileError("'" + path + "' is neither a folder nor a file");
  info.kind = MediaKind::kVideo;
  cv::VideoCapture cap = open_video(path);
  if (!cap.isOpened()) throw CorruptFileError("'" + path + "' is not a readable video");
  cv::Mat frame;
  if (!cap.read(frame) || frame.empty())
    throw CorruptFileError("'" + path + "' is not a readable video (no frame decodes)");
  // Containers usually state the count; when they do not, count by decoding.
  const double reported = cap.get(cv::CAP_PROP_FRAME_COUNT);
  if (reported >= 1.0 && reported < 1e7) {
    info.frames = static_cast<int>(reported + 0.5);
  } else {
    int n = 1;
    while (cap.grab()) ++n;
    info.frames = n;
  }
  return info;
}

std::vector<RgbFrame> read_frames_partial(const std::string& path, const std::vector<int>& indices,
                                          int* decoded) {
  std::vector<RgbFrame> out(indices.size());
  if (indices.empty()) return out;
  for (int i : indices)
    if (i < 0) throw InputError("negative frame index " + std::to_string(i));
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const std::vector<std::string> files = list_frames(path);
    if (decoded) *decoded = static_cast<int>(files.size());
    std::map<int, RgbFrame> cache;  // repeated indices decode once
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const int i = indices[k];
      if (i >= static_cast<int>(files.size())) continue;
      auto it = cache.find(i);
      if (it == cache.end()) {
        const cv::Mat img = cv::imread(files[i], cv::IMREAD_COLOR);
        if (img.empty()) throw CorruptFileError("'" + files[i] + "' is not a readable image");
        it = cache.emplace(i, to_rgb(img)).first;
      }
      out[k] = it->second;
    }
    return out;
  }
  if (!fs::exists(path, ec)) throw FileNotFoundError("'" + path + "' does not exist");
  cv::VideoCapture cap = open_video(path);
  if (!cap.isOpened()) throw CorruptFileError("'" + path + "' is not a readable video");
  // Decode forward and keep what is needed: seeking is frame-exact in few codecs.
  const int last = *std::max_element(indices.begin(), indices.end());
  std::map<int, RgbFrame> wanted;
  for (int i : indices) wanted.emplace(i, RgbFrame{});
  cv::Mat frame;
  int n = 0;
  for (; n <= last; ++n) {
    if (!cap.read(frame) || frame.empty()) break;
    auto it = wanted.find(n);
    if (it != wanted.end()) it->second = to_rgb(frame);
  }
  if (n == 0) throw CorruptFileError("'" + path + "' is not a readable video (no frame decodes)");
  // Exact when the video ended early (the case callers act on), a lower bound otherwise.
  if (decoded) *decoded = n;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const auto it = wanted.find(indices[k]);
    if (it != wanted.end() && it->second.width > 0) out[k] = it->second;
  }
  return out;
}

}  // namespace detail

}  // namespace hesp::data
