// SPDX-License-Identifier: LGPL-2.1-or-later
// `hesp convert faceapi` on the real npm package: the pack's tensors are the TFJS weights
// dequantised (q * scale + min) and moved into LibTorch layouts, and the manifest says what the
// model is and where it came from.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "models_support.h"

namespace hesp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::converted_pack;
using test::faceapi_package;
using test::scratch;

// The weights manifest and .bin read independently of the converter: each weight's raw bytes and
// spec.
struct RawWeight {
  json spec;
  const std::uint8_t* bytes;
};

class FaceApiBin {
 public:
  FaceApiBin() {
    const std::string dir = faceapi_package() + "/model/";
    std::ifstream(dir + "face_expression_model-weights_manifest.json") >> manifest_;
    std::ifstream in(dir + "face_expression_model.bin", std::ios::binary);
    bin_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::size_t offset = 0;
    for (const auto& w : manifest_[0]["weights"]) {
      std::size_t n = 1;
      for (const auto& d : w["shape"]) n *= d.get<std::size_t>();
      const std::size_t elem = w.contains("quantization") ? 1 : 4;
      weights_[w["name"].get<std::string>()] = {w, bin_.data() + offset};
      offset += n * elem;
    }
    total_ = offset;
  }
  const RawWeight& at(const std::string& name) const { return weights_.at(name); }
  std::size_t used_bytes() const { return total_; }
  std::size_t file_bytes() const { return bin_.size(); }

  // Element i of a weight, as TensorFlow.js decodes it.
  float value(const std::string& name, std::size_t i) const {
    const RawWeight& w = at(name);
    if (!w.spec.contains("quantization")) {
      float f;
      std::memcpy(&f, w.bytes + 4 * i, 4);
      return f;
    }
    const auto& q = w.spec["quantization"];
    EXPECT_EQ(q["dtype"], "uint8");
    return static_cast<float>(w.bytes[i] * q["scale"].get<double>() + q["min"].get<double>());
  }

 private:
  json manifest_;
  std::vector<std::uint8_t> bin_;
  std::map<std::string, RawWeight> weights_;
  std::size_t total_ = 0;
};

float pack_value(const TensorInfo& t, std::size_t i) {
  float f;
  std::memcpy(&f, static_cast<const std::uint8_t*>(t.data) + 4 * i, 4);
  return f;
}

class FaceApiConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    HESP_REQUIRE_FILE(faceapi_package() + "/model/face_expression_model.bin");
  }
};

TEST_F(FaceApiConvert, ConvertedTensorsAreDequantisedTfjsWeightsInTorchLayout) {
  const FaceApiBin tfjs;
  ASSERT_EQ(tfjs.used_bytes(), tfjs.file_bytes());
  const ModelPack pack = ModelPack::open(converted_pack());
  EXPECT_EQ(pack.tensors().size(), 49u);

  // fc/weights [256, 7], uint8-quantised -> fc.weight [7, 256].
  const TensorInfo& fc = pack.tensor("fc.weight");
  ASSERT_EQ(fc.dtype, DType::kF32);
  ASSERT_EQ(fc.shape, (std::vector<std::int64_t>{7, 256}));
  int distinct_checked = 0;
  for (std::size_t out = 0; out < 7; ++out)
    for (std::size_t in = 0; in < 256; ++in) {
      ASSERT_EQ(pack_value(fc, out * 256 + in), tfjs.value("fc/weights", in * 7 + out))
          << "fc.weight[" << out << "][" << in << "]";
      ++distinct_checked;
    }
  EXPECT_EQ(distinct_checked, 7 * 256);
  // The dequantised values really use scale and min: q = 0 gives min, not 0.
  const auto& q = tfjs.at("fc/weights").spec["quantization"];
  EXPECT_LT(q["min"].get<double>(), -0.1);

  // fc/bias is stored as float32: copied bit for bit.
  const TensorInfo& bias = pack.tensor("fc.bias");
  for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(pack_value(bias, i), tfjs.value("fc/bias", i));

  // dense0/conv0/filters [kh, kw, in, out] -> dense0.conv0.weight [out, in, kh, kw].
  const TensorInfo& conv = pack.tensor("dense0.conv0.weight");
  ASSERT_EQ(conv.shape, (std::vector<std::int64_t>{32, 3, 3, 3}));
  for (std::size_t o = 0; o < 32; ++o)
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t y = 0; y < 3; ++y)
        for (std::size_t x = 0; x < 3; ++x)
          ASSERT_EQ(pack_value(conv, ((o * 3 + i) * 3 + y) * 3 + x),
                    tfjs.value("dense0/conv0/filters", ((y * 3 + x) * 3 + i) * 32 + o));

  // dense2/conv1/depthwise_filter [kh, kw, c, 1] -> dense2.conv1.depthwise.weight [c, 1, kh, kw].
  const TensorInfo& dw = pack.tensor("dense2.conv1.depthwise.weight");
  ASSERT_EQ(dw.shape, (std::vector<std::int64_t>{128, 1, 3, 3}));
  for (std::size_t c = 0; c < 128; ++c)
    for (std::size_t y = 0; y < 3; ++y)
      for (std::size_t x = 0; x < 3; ++x)
        ASSERT_EQ(pack_value(dw, (c * 3 + y) * 3 + x),
                  tfjs.value("dense2/conv1/depthwise_filter", (y * 3 + x) * 128 + c));

  // dense3/conv2/pointwise_filter [1, 1, in, out] -> [out, in, 1, 1], and its bias.
  const TensorInfo& pw = pack.tensor("dense3.conv2.pointwise.weight");
  ASSERT_EQ(pw.shape, (std::vector<std::int64_t>{256, 256, 1, 1}));
  for (std::size_t o = 0; o < 256; o += 17)
    for (std::size_t i = 0; i < 256; ++i)
      ASSERT_EQ(pack_value(pw, o * 256 + i),
                tfjs.value("dense3/conv2/pointwise_filter", i * 256 + o));
  const TensorInfo& pb = pack.tensor("dense3.conv2.pointwise.bias");
  for (std::size_t o = 0; o < 256; ++o)
    ASSERT_EQ(pack_value(pb, o), tfjs.value("dense3/conv2/bias", o));
}

TEST_F(FaceApiConvert, ManifestDescribesModelProvenanceAndCalibration) {
  const ModelPack pack = ModelPack::open(converted_pack());
  const json& m = pack.manifest();
  EXPECT_EQ(m["kind"], "fer-cnn");
  EXPECT_EQ(m["format_version"], kModelPackFormatVersion);
  EXPECT_EQ(m["classes"],
            json({"neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"}));
  EXPECT_EQ(m["input"]["size"], 112);
  EXPECT_EQ(m["input"]["mean"], json({122.782, 117.001, 104.298}));
  EXPECT_EQ(m["provenance"]["package"], "@vladmandic/face-api");
  EXPECT_EQ(m["provenance"]["version"], "1.7.15");
  EXPECT_EQ(m["provenance"]["license"], "MIT");
  const json& os = m["open_set"];
  const std::string rule = os["score"];
  EXPECT_EQ(rule, FaceApiConvertOptions().score_rule);
  // The stored threshold is the calibrated one of the stored rule, and it keeps ~95% of the
  // known calibration clips.
  const json& stats = os["calibration"]["rules"][rule];
  EXPECT_EQ(os["unknown_threshold"].get<double>(), stats["threshold"].get<double>());
  EXPECT_GE(stats["tpr"].get<double>(), 0.95);
  EXPECT_LT(stats["tpr"].get<double>(), 0.97);
  for (const char* r : {"max_logit", "max_softmax", "energy"}) {
    const double auroc = os["calibration"]["rules"][r]["auroc"];
    EXPECT_GT(auroc, 0.5) << r;
    EXPECT_LE(auroc, 1.0) << r;
  }
}

TEST_F(FaceApiConvert, SamePackageGivesTheSamePack) {
  FaceApiConvertOptions options;
  options.package_dir = faceapi_package();
  options.output_path = scratch().file("again.safetensors");
  convert_faceapi(options);
  const ModelPack a = ModelPack::open(converted_pack());
  const ModelPack b = ModelPack::open(options.output_path);
  EXPECT_EQ(a.manifest(), b.manifest());
  ASSERT_EQ(a.file_size(), b.file_size());
  for (const auto& t : a.tensors())
    EXPECT_EQ(std::memcmp(t.data, b.tensor(t.name).data, t.nbytes), 0) << t.name;
}

TEST_F(FaceApiConvert, MissingOrDamagedPackageIsReportedByName) {
  FaceApiConvertOptions options;
  options.output_path = scratch().file("never.safetensors");
  options.package_dir = scratch().file("no-such-package");
  EXPECT_THROW(convert_faceapi(options), FileNotFoundError);

  // A copy of the package whose .bin lost its last bytes, like an interrupted download.
  const fs::path copy = scratch().file("damaged-package");
  fs::create_directories(copy / "model");
  fs::copy_file(faceapi_package() + "/package.json", copy / "package.json");
  fs::copy_file(faceapi_package() + "/model/face_expression_model-weights_manifest.json",
                copy / "model/face_expression_model-weights_manifest.json");
  const fs::path bin = copy / "model/face_expression_model.bin";
  fs::copy_file(faceapi_package() + "/model/face_expression_model.bin", bin);
  fs::resize_file(bin, fs::file_size(bin) - 100);
  options.package_dir = copy.string();
  try {
    convert_faceapi(options);
    FAIL() << "no exception";
  } catch (const CorruptFileError& e) {
    EXPECT_NE(std::string(e.what()).find("face_expression_model.bin"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(options.output_path));

  // Without the demo photos the threshold cannot be calibrated: say so, write nothing.
  fs::copy_file(faceapi_package() + "/model/face_expression_model.bin", bin,
                fs::copy_options::overwrite_existing);
  try {
    convert_faceapi(options);
    FAIL() << "no exception";
  } catch (const FileNotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find("sample1.jpg"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(options.output_path));
  EXPECT_FALSE(fs::exists(options.output_path + ".uncalibrated"));
}

}  // namespace
}  // namespace hesp
