// SPDX-License-Identifier: LGPL-2.1-or-later
// Kernel precision of the CLIP-based packs (ModelOptions::precision, manifest open_set.precision):
// the choice rules on made-up machines, manifest validation, what the pack writers record, and
// on the tiny CLIP of the shared test data: a pack that records no precision keeps the kernel it
// ran before (bit for bit), explicit fp32 agrees with it within rounding, bad values and bf16 on a
// CPU without AVX-512 BF16 are refused by name.
#include "models/precision.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "clip/clip_checkpoint.h"
#include "clip/clip_from_pack.h"
#include "clip/clip_model.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "models/emoclip_model.h"
#include "models/hesp_model.h"
#include "nets/hesp_network.h"
#include "nets/temporal_transformer.h"
#include "scratch.h"
#include "test_data.h"
#include "util/cpu_features.h"

namespace {

using hesp::models::choose_kernel;
using hesp::models::KernelHost;
using hesp::models::kReferencePrecision;
using hesp::models::TowerKernel;

constexpr int kFrames = 4;
constexpr int kSize = 64;  // the tiny checkpoint's input side
const std::vector<std::string> kClasses = {"Happy", "Sad", "Surprise"};

std::string tiny_checkpoint() {
  return hesp::test::shared_path("clip/tiny-openai-format/clip_openai_format.pt");
}
std::string vocab() { return hesp::test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }

hesp::test::TempDir& scratch() {
  static hesp::test::TempDir dir;
  return dir;
}

// Throws `Error` and its message contains every one of `parts`.
template <typename Error, typename F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& p : parts) EXPECT_NE(what.find(p), std::string::npos) << what;
  }
}

// The same pack without open_set.precision: a pack as written before packs recorded it.
std::string without_precision(const std::string& path, const std::string& out) {
  const hesp::ModelPack pack = hesp::ModelPack::open(path);
  nlohmann::json m = pack.manifest();
  m["open_set"].erase("precision");
  hesp::write_pack(out, m, pack.tensors());
  return out;
}

// The same pack with a manifest edit.
std::string with_manifest(const std::string& path, const std::string& out,
                          const std::function<void(nlohmann::json&)>& edit) {
  const hesp::ModelPack pack = hesp::ModelPack::open(path);
  nlohmann::json m = pack.manifest();
  edit(m);
  hesp::write_pack(out, m, pack.tensors());
  return out;
}

hesp::ModelOptions with_precision(const std::string& precision) {
  hesp::ModelOptions o;
  o.precision = precision;
  return o;
}

// A hesp pack around the tiny CLIP with random learned tensors (paper variant).
const std::string& hesp_pack() {
  static const std::string path = [] {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
    const auto k = static_cast<std::int64_t>(kClasses.size());
    const hesp::clip::TensorMap clip = hesp::clip::read_checkpoint_tensors(tiny_checkpoint());
    const hesp::clip::ModelGeometry g = hesp::clip::infer_geometry(clip, tiny_checkpoint());
    const std::int64_t e = g.vision.embed_dim, side = hesp::nets::visual_prompt_side(kSize);
    hesp::models::HespPackContents c;
    c.path = scratch().file("hesp.safetensors");
    c.name = "tiny-hesp";
    c.clip_tensors = clip;
    c.class_names = kClasses;
    c.prompt_names = kClasses;
    c.input_size = kSize;
    c.frames_per_clip = kFrames;
    c.text_features = torch::randn({k, e}, gen);
    c.text_context = torch::randn({k, 4, g.text.width}, gen) * 0.02;
    c.negative_centers = torch::randn({k, e}, gen);
    c.visual_prompt = torch::randn({3, side, side}, gen) * 0.1;
    c.temporal_query = torch::randn({e}, gen);
    c.temporal_gain = torch::tensor(0.5f);
    c.radius = torch::tensor(1.0f);
    c.location = {8, 8, side};
    c.unknown_threshold = 1.0;
    c.calibration = {{"method", "none: test pack"}};
    c.training = {{"source", "random test pack"}};
    hesp::models::write_hesp_pack(c);
    return c.path;
  }();
  return path;
}

const std::string& zeroshot_pack() {
  static const std::string path = [] {
    hesp::ClipZeroShotConvertOptions o;
    o.checkpoint = tiny_checkpoint();
    o.vocab_path = vocab();
    o.output_path = scratch().file("zeroshot.safetensors");
    o.classes = kClasses;
    const hesp::ClipZeroShotConvertReport r = hesp::convert_openai_clip(o);
    EXPECT_EQ(r.precision, "fp32");
    return o.output_path;
  }();
  return path;
}

// A few clips of random pixels, fixed by the seed.
struct Clips {
  std::vector<std::vector<std::uint8_t>> pixels;
  std::vector<hesp::ClipView> views;
};

Clips random_clips(int count) {
  Clips c;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  for (int i = 0; i < count; ++i) {
    const at::Tensor t = torch::randint(0, 256, {kFrames * kSize * kSize * 3}, gen, torch::kByte);
    c.pixels.emplace_back(t.data_ptr<std::uint8_t>(), t.data_ptr<std::uint8_t>() + t.numel());
  }
  for (const auto& p : c.pixels) c.views.push_back({p.data(), kFrames, kSize});
  return c;
}

std::vector<std::vector<double>> logits_of(hesp::ExpressionModel& model, const Clips& clips) {
  std::vector<std::vector<double>> out;
  for (const auto& r : model.classify(clips.views, -std::numeric_limits<double>::infinity()))
    out.push_back(r.logits);
  return out;
}

// What a hesp pack computed before kernels were selectable: the CLIP tower through plain
// at::linear (the default kernel), then the HESP pooling and logits. One clip per call.
std::vector<double> reference_hesp_logits(const std::string& pack_path,
                                          const hesp::ClipView& clip) {
  const hesp::ModelPack pack = hesp::ModelPack::open(pack_path);
  auto read = [&](const char* name) {
    const hesp::TensorInfo& t = pack.tensor(name);
    at::Tensor x = torch::empty(t.shape, torch::kFloat);
    std::memcpy(x.data_ptr(), t.data, t.nbytes);
    return x;
  };
  hesp::clip::ClipModel model =
      hesp::clip::build_model(hesp::clip::read_pack_clip_tensors(pack_path), pack_path);
  const auto& vp = pack.manifest()["visual_prompt"];
  const hesp::nets::PromptLocation location{
      vp["x"].get<std::int64_t>(), vp["y"].get<std::int64_t>(), vp["side"].get<std::int64_t>()};
  c10::InferenceMode guard;
  const at::Tensor bytes =
      at::from_blob(const_cast<std::uint8_t*>(clip.rgb),
                    {clip.n_frames, clip.crop_size, clip.crop_size, 3}, at::kByte);
  const at::Tensor x = bytes.permute({0, 3, 1, 2}).to(at::kFloat) / 255.0;
  const at::Tensor frames =
      hesp::nets::hesp_encode_frames(*model, x, read(hesp::kHespVisualPrompt), location);
  const at::Tensor v =
      hesp::nets::pool_frames(frames.unsqueeze(0), hesp::nets::HespVariant::kPaper,
                              read(hesp::kHespTemporalQuery), read(hesp::kHespTemporalGain));
  const at::Tensor e =
      hesp::nets::variant_logits(v, read(hesp::kHespTextFeatures), read(hesp::kHespNegativeCenters),
                                 model->logit_scale.exp(), hesp::nets::HespVariant::kPaper);
  const at::Tensor l = e[0].to(at::kDouble).contiguous();
  return {l.data_ptr<double>(), l.data_ptr<double>() + l.numel()};
}

void expect_close(const std::vector<std::vector<double>>& a,
                  const std::vector<std::vector<double>>& b, double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size());
    for (std::size_t j = 0; j < a[i].size(); ++j)
      EXPECT_NEAR(a[i][j], b[i][j], tolerance * (1.0 + std::abs(b[i][j])))
          << "clip " << i << " class " << j;
  }
}

#define REQUIRE_TINY_CLIP()               \
  do {                                    \
    HESP_REQUIRE_FILE(tiny_checkpoint()); \
    HESP_REQUIRE_FILE(vocab());           \
  } while (0)

// --- The rules, on made-up machines ----------------------------------------------------------

const KernelHost kAvx2{/*cpu=*/true, /*onednn=*/true, /*bf16=*/false};
const KernelHost kAvx512Bf16{true, true, true};
const KernelHost kCuda{false, true, false};
const KernelHost kNoOneDnn{true, false, false};

TEST(PrecisionChoice, AutoRunsTheRecordedPrecisionWhereTheMachineCan) {
  TowerKernel k = choose_kernel("auto", "fp32", "fp32", kAvx2);
  EXPECT_EQ(k.precision, "fp32");
  EXPECT_TRUE(k.onednn);
  EXPECT_FALSE(k.bf16);
  k = choose_kernel("auto", "bf16", "fp32", kAvx512Bf16);
  EXPECT_EQ(k.precision, "bf16");
  EXPECT_TRUE(k.onednn && k.bf16);
  // Recorded bf16 on a CPU without it: fp32, no error.
  k = choose_kernel("auto", "bf16", "fp32", kAvx2);
  EXPECT_EQ(k.precision, "fp32");
  EXPECT_FALSE(k.bf16);
  k = choose_kernel("auto", "bf16", "fp32", kCuda);
  EXPECT_EQ(k.precision, "fp32");
  EXPECT_FALSE(k.onednn || k.bf16);
}

TEST(PrecisionChoice, UnrecordedPacksKeepTheKernelTheyRan) {
  // hesp packs: the plain at::linear kernel they were calibrated with.
  TowerKernel k = choose_kernel("auto", "", kReferencePrecision, kAvx512Bf16);
  EXPECT_EQ(k.precision, kReferencePrecision);
  EXPECT_FALSE(k.onednn || k.bf16);
  // On CUDA that kernel is fp32 itself.
  EXPECT_EQ(choose_kernel("auto", "", kReferencePrecision, kCuda).precision, "fp32");
  // Explicit fp32 switches them to oneDNN.
  k = choose_kernel("fp32", "", kReferencePrecision, kAvx2);
  EXPECT_EQ(k.precision, "fp32");
  EXPECT_TRUE(k.onednn);
  // The embedding classifiers always ran oneDNN fp32 (ClipEncoder's default).
  k = choose_kernel("auto", "", "fp32", kAvx2);
  EXPECT_EQ(k.precision, "fp32");
  EXPECT_TRUE(k.onednn);
  // Without oneDNN in LibTorch, fp32 is the plain kernel and says so.
  k = choose_kernel("fp32", "fp32", "fp32", kNoOneDnn);
  EXPECT_EQ(k.precision, kReferencePrecision);
  EXPECT_FALSE(k.onednn);
}

TEST(PrecisionChoice, ExplicitBf16NeedsTheInstructions) {
  const TowerKernel k = choose_kernel("bf16", "fp32", "fp32", kAvx512Bf16);
  EXPECT_EQ(k.precision, "bf16");
  EXPECT_TRUE(k.bf16);
  expect_error<hesp::SettingsError>([] { choose_kernel("bf16", "", "fp32", kAvx2); },
                                    {"bf16", "AVX-512 BF16", "fp32 or auto"});
  expect_error<hesp::SettingsError>([] { choose_kernel("bf16", "bf16", "fp32", kCuda); },
                                    {"bf16", "CPU only"});
  expect_error<hesp::SettingsError>(
      [] {
        choose_kernel("bf16", "", "fp32", {true, false, true});
      },
      {"oneDNN"});
}

TEST(PrecisionChoice, UnknownSettingsAreRefusedWithTheValidOnes) {
  for (const char* bad : {"fp16", "", "FP32", "fp32-reference"})
    expect_error<hesp::SettingsError>([&] { choose_kernel(bad, "", "fp32", kAvx2); },
                                      {"'" + std::string(bad) + "'", "auto, fp32 or bf16"});
  expect_error<hesp::SettingsError>([] { hesp::models::calibration_kernel("half", kAvx2); },
                                    {"'half'", "auto, fp32 or bf16"});
}

TEST(PrecisionChoice, TrainersCalibrateWithFp32UnlessBf16IsAsked) {
  using hesp::models::calibration_kernel;
  using hesp::models::recorded_name;
  EXPECT_EQ(recorded_name(calibration_kernel("auto", kAvx512Bf16)), "fp32");
  EXPECT_TRUE(calibration_kernel("fp32", kAvx2).onednn);
  EXPECT_EQ(recorded_name(calibration_kernel("fp32", kCuda)), "fp32");
  EXPECT_EQ(recorded_name(calibration_kernel("bf16", kAvx512Bf16)), "bf16");
  expect_error<hesp::SettingsError>([] { calibration_kernel("bf16", kAvx2); }, {"AVX-512 BF16"});
}

TEST(PrecisionChoice, ThisMachine) {
  const KernelHost host = hesp::models::kernel_host("cpu");
  EXPECT_TRUE(host.cpu);
  EXPECT_EQ(host.bf16, hesp::util::cpu_has_avx512_bf16());
  EXPECT_FALSE(hesp::models::kernel_host("cuda:0").cpu);
}

// --- Packs ----------------------------------------------------------------------------------

TEST(PrecisionPacks, ManifestValueIsValidatedOnReadAndWrite) {
  REQUIRE_TINY_CLIP();
  const std::string good = zeroshot_pack();
  for (const nlohmann::json& bad : {nlohmann::json("fp16"), nlohmann::json(32)}) {
    // The writer refuses it...
    expect_error<hesp::SettingsError>(
        [&] {
          with_manifest(good, scratch().file("bad.safetensors"),
                        [&](nlohmann::json& m) { m["open_set"]["precision"] = bad; });
        },
        {"open_set.precision"});
    // ...and a pack that holds it anyway is refused by name.
    const hesp::ModelPack pack = hesp::ModelPack::open(good);
    std::string header = hesp::test::read_bytes(good);
    const std::string from = "\\\"precision\\\":\\\"fp32\\\"";
    const auto at = header.find(from);
    ASSERT_NE(at, std::string::npos);
    // Same length, so the safetensors header length stays right.
    header.replace(at, from.size(), "\\\"precision\\\":\\\"fp16\\\"");
    const std::string path = scratch().file("fp16.safetensors");
    hesp::test::write_bytes(path, header);
    expect_error<hesp::CorruptFileError>([&] { hesp::ModelPack::open(path); },
                                         {"open_set.precision", "fp16"});
    expect_error<hesp::CorruptFileError>([&] { hesp::ExpressionModel::load(path); },
                                         {"open_set.precision"});
  }
}

TEST(PrecisionPacks, ZeroShotConverterRecordsItsKernel) {
  REQUIRE_TINY_CLIP();
  const auto m = hesp::ModelPack::open(zeroshot_pack()).manifest();
  EXPECT_EQ(m["open_set"]["precision"], "fp32");
  const auto model = hesp::ExpressionModel::load(zeroshot_pack());
  EXPECT_EQ(model->precision(), "fp32");

  hesp::ClipZeroShotConvertOptions o;
  o.checkpoint = tiny_checkpoint();
  o.vocab_path = vocab();
  o.output_path = scratch().file("zeroshot-bad.safetensors");
  o.classes = kClasses;
  o.precision = "half";
  expect_error<hesp::SettingsError>([&] { hesp::convert_openai_clip(o); }, {"'half'"});
  o.precision = "bf16";
  if (hesp::util::cpu_has_avx512_bf16()) {
    EXPECT_EQ(hesp::convert_openai_clip(o).precision, "bf16");
    EXPECT_EQ(hesp::ModelPack::open(o.output_path).manifest()["open_set"]["precision"], "bf16");
  } else {
    expect_error<hesp::SettingsError>([&] { hesp::convert_openai_clip(o); }, {"AVX-512 BF16"});
  }
}

TEST(PrecisionPacks, ZeroShotPackWithoutRecordRunsAsBefore) {
  REQUIRE_TINY_CLIP();
  const std::string old = without_precision(zeroshot_pack(), scratch().file("zs-old.safetensors"));
  const auto recorded = hesp::ExpressionModel::load(zeroshot_pack());
  const auto unrecorded = hesp::ExpressionModel::load(old);
  // Embedding-classifier packs always ran ClipEncoder's default, oneDNN fp32.
  EXPECT_EQ(unrecorded->precision(), "fp32");
  const Clips clips = random_clips(3);
  EXPECT_EQ(logits_of(*unrecorded, clips), logits_of(*recorded, clips));
}

TEST(PrecisionPacks, HespWriterRecordsTheCalibrationPrecision) {
  REQUIRE_TINY_CLIP();
  const auto m = hesp::ModelPack::open(hesp_pack()).manifest();
  EXPECT_EQ(m["open_set"]["precision"], "fp32");
  const auto model = hesp::ExpressionModel::load(hesp_pack());
  EXPECT_EQ(model->precision(), "fp32");
  EXPECT_EQ(model->kind(), "hesp");
}

TEST(PrecisionPacks, OldHespPackKeepsThePlainKernelBitForBit) {
  REQUIRE_TINY_CLIP();
  const std::string old = without_precision(hesp_pack(), scratch().file("hesp-old.safetensors"));
  const auto model = hesp::ExpressionModel::load(old);
  EXPECT_EQ(model->precision(), kReferencePrecision);
  // One clip per call, as the reference runs it (the plain kernel's rounding may depend on the
  // number of frames in a product).
  const Clips clips = random_clips(3);
  for (std::size_t i = 0; i < clips.views.size(); ++i) {
    const auto r = model->classify({clips.views[i]}, -std::numeric_limits<double>::infinity());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].logits, reference_hesp_logits(old, clips.views[i])) << "clip " << i;
  }
}

TEST(PrecisionPacks, ExplicitFp32AgreesWithTheReferenceWithinRounding) {
  REQUIRE_TINY_CLIP();
  const std::string old = without_precision(hesp_pack(), scratch().file("hesp-old2.safetensors"));
  const Clips clips = random_clips(3);
  const auto reference = hesp::ExpressionModel::load(old);
  const auto fp32_old = hesp::ExpressionModel::load(old, with_precision("fp32"));
  EXPECT_EQ(fp32_old->precision(), "fp32");
  const auto fp32_new = hesp::ExpressionModel::load(hesp_pack(), with_precision("fp32"));
  const auto auto_new = hesp::ExpressionModel::load(hesp_pack(), with_precision("auto"));
  EXPECT_EQ(auto_new->precision(), "fp32");
  const auto ref = logits_of(*reference, clips);
  expect_close(logits_of(*fp32_old, clips), ref, 1e-4);
  // A pack that records fp32 runs exactly what explicit fp32 runs.
  EXPECT_EQ(logits_of(*auto_new, clips), logits_of(*fp32_new, clips));
  EXPECT_EQ(logits_of(*fp32_new, clips), logits_of(*fp32_old, clips));
}

TEST(PrecisionPacks, Bf16RunsOnlyWhereTheCpuHasIt) {
  REQUIRE_TINY_CLIP();
  for (const std::string& pack : {hesp_pack(), zeroshot_pack()}) {
    if (!hesp::util::cpu_has_avx512_bf16()) {
      expect_error<hesp::SettingsError>(
          [&] { hesp::ExpressionModel::load(pack, with_precision("bf16")); },
          {"bf16", "AVX-512 BF16"});
      continue;
    }
    const auto bf16 = hesp::ExpressionModel::load(pack, with_precision("bf16"));
    EXPECT_EQ(bf16->precision(), "bf16");
    const auto fp32 = hesp::ExpressionModel::load(pack, with_precision("fp32"));
    const Clips clips = random_clips(2);
    // bf16 keeps about three significant digits per product.
    expect_close(logits_of(*bf16, clips), logits_of(*fp32, clips), 0.1);
  }
  // A pack calibrated in bf16 runs fp32 under auto where the CPU lacks bf16, and bf16 where not.
  const std::string recorded_bf16 =
      with_manifest(hesp_pack(), scratch().file("hesp-bf16.safetensors"),
                    [](nlohmann::json& m) { m["open_set"]["precision"] = "bf16"; });
  EXPECT_EQ(hesp::ExpressionModel::load(recorded_bf16)->precision(),
            hesp::util::cpu_has_avx512_bf16() ? "bf16" : "fp32");
}

TEST(PrecisionPacks, InvalidSettingsAreRefusedForEveryKind) {
  REQUIRE_TINY_CLIP();
  for (const std::string& pack : {hesp_pack(), zeroshot_pack()})
    for (const char* bad : {"fp16", "int8", "fp32-reference"})
      expect_error<hesp::SettingsError>(
          [&] { hesp::ExpressionModel::load(pack, with_precision(bad)); },
          {std::string("'") + bad + "'", "auto, fp32 or bf16"});
}

TEST(PrecisionPacks, EmoClipWriterRecordsThePrecision) {
  REQUIRE_TINY_CLIP();
  hesp::clip::ClipModel clip = hesp::clip::load_clip_checkpoint(tiny_checkpoint());
  const std::int64_t e = clip->geometry().vision.embed_dim;
  hesp::nets::TemporalGeometry tg;
  tg.width = e;
  tg.frames = kFrames;
  tg.layers = 1;
  tg.heads = hesp::nets::temporal_heads_for(e);
  hesp::nets::TemporalTransformer temporal(tg);
  hesp::models::EmoClipPackContents c;
  c.clip = clip.get();
  c.temporal = temporal.get();
  c.log_logit_scale = std::log(50.0);
  c.class_names = kClasses;
  for (std::size_t i = 0; i < kClasses.size(); ++i) {
    c.class_prompts.push_back({"a " + kClasses[i] + " face"});
    std::vector<float> row(e, 0.f);
    row[i] = 1.f;
    c.class_embeddings.insert(c.class_embeddings.end(), row.begin(), row.end());
  }
  const std::string bytes = hesp::test::read_bytes(vocab());
  c.vocab.assign(bytes.begin(), bytes.end());
  c.templates = {"a {} face"};
  const std::string path = scratch().file("emoclip.safetensors");
  hesp::models::write_trained_clip_pack(path, c);
  EXPECT_EQ(hesp::ModelPack::open(path).manifest()["open_set"]["precision"], "fp32");
  const auto model = hesp::ExpressionModel::load(path);
  EXPECT_EQ(model->precision(), "fp32");
  const auto old = hesp::ExpressionModel::load(
      without_precision(path, scratch().file("emoclip-old.safetensors")));
  EXPECT_EQ(old->precision(), "fp32");
  const Clips clips = random_clips(2);
  EXPECT_EQ(logits_of(*old, clips), logits_of(*model, clips));
}

}  // namespace
