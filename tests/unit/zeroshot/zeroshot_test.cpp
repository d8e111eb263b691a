// SPDX-License-Identifier: LGPL-2.1-or-later
// clip-zeroshot packs made from the tiny random-weight CLIP checkpoint: what the converter
// stores, and how ClipZeroShotModel classifies. Nothing here measures accuracy: the weights are
// random, so only structure, agreement with the encoder and the reference, determinism and batch
// independence are checked.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "hesp/clip_encoder.h"
#include "hesp/error.h"
#include "hesp/expression_model.h"
#include "hesp/model_pack.h"
#include "hesp/pack_converters.h"
#include "hesp/tokenizer.h"
#include "models/clip_zeroshot_model.h"
#include "zeroshot_support.h"

namespace {

using hesp::test::clip_vocab;
using hesp::test::tiny_checkpoint;
using hesp::test::zeroshot_dir;

constexpr const char* kVocabSha256 =
    "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a";
const std::string kHappiness =
    "An expression of contentment and pleasure, with a smile and the corners of the mouth turned "
    "up.";

// Packs converted once for the whole program.
std::string names_pack() {
  static const std::string path = [] {
    hesp::ClipZeroShotConvertOptions o;
    o.checkpoint = tiny_checkpoint();
    o.vocab_path = clip_vocab();
    o.classes = {"happy", "sad", "angry"};
    o.output_path = zeroshot_dir() + "/names.safetensors";
    hesp::convert_openai_clip(o);
    return o.output_path;
  }();
  return path;
}

std::string descriptions_pack() {
  static const std::string path = [] {
    const std::string file = zeroshot_dir() + "/classes.tsv";
    hesp::test::write_text(file,
                           "# class<TAB>prompt\n"
                           "happiness\t" +
                               kHappiness +
                               "\n"
                               "\n"
                               "fear\tThe person looks fearful: wide eyes, raised brows, lips "
                               "stretched.\ta face showing fear\n"
                               "neutral\tneutral\n");
    hesp::ClipZeroShotConvertOptions o;
    o.checkpoint = tiny_checkpoint();
    o.vocab_path = clip_vocab();
    o.descriptions_path = file;
    o.output_path = zeroshot_dir() + "/descriptions.safetensors";
    hesp::convert_openai_clip(o);
    return o.output_path;
  }();
  return path;
}

std::vector<float> pack_row(const hesp::ModelPack& pack, int row) {
  const hesp::TensorInfo& t = pack.tensor(hesp::kClassEmbeddingsTensor);
  const std::size_t d = static_cast<std::size_t>(t.shape[1]);
  std::vector<float> all(t.numel());
  std::memcpy(all.data(), t.data, t.nbytes);
  return {all.begin() + row * d, all.begin() + (row + 1) * d};
}

std::vector<float> unit(std::vector<float> v) {
  double n = 0;
  for (float x : v) n += double(x) * x;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(n));
  return v;
}

// Unit-length text embedding of one prompt by the encoder loaded from the .pt file.
std::vector<float> encoder_text(const std::string& prompt) {
  static const auto encoder = hesp::ClipEncoder::load(tiny_checkpoint());
  static const hesp::Tokenizer tokenizer(clip_vocab());
  hesp::Embeddings e = encoder->encode_text({tokenizer.tokenize(prompt)});
  e.normalize();
  return e.row_vector(0);
}

std::vector<float> reference_text(const std::string& prompt) {
  std::ifstream in(hesp::test::tiny_reference());
  const auto ref = nlohmann::json::parse(in);
  for (const auto& t : ref["text_embeddings"])
    if (t["text"] == prompt) return unit(t["embedding"].get<std::vector<float>>());
  ADD_FAILURE() << "no reference embedding for '" << prompt << "'";
  return {};
}

void expect_near(const std::vector<float>& a, const std::vector<float>& b, double tol,
                 const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], tol) << what << " [" << i << "]";
}

hesp::ClipZeroShotModel& as_zeroshot(hesp::ExpressionModel& m) {
  auto* z = dynamic_cast<hesp::ClipZeroShotModel*>(&m);
  if (!z) throw std::runtime_error("not a ClipZeroShotModel: " + m.kind());
  return *z;
}

class ZeroShot : public ::testing::Test {
 protected:
  void SetUp() override { HESP_REQUIRE_TINY_CLIP(); }
};

TEST_F(ZeroShot, ManifestDescribesThePack) {
  const hesp::ModelPack pack = hesp::ModelPack::open(names_pack());
  const auto& m = pack.manifest();
  EXPECT_EQ(pack.kind(), "clip-zeroshot");
  EXPECT_EQ(pack.name(), "names");
  EXPECT_EQ(m["classes"], nlohmann::json({"happy", "sad", "angry"}));
  EXPECT_EQ(m["input"]["size"], 64);  // the tiny checkpoint's input side
  EXPECT_NEAR(m["input"]["mean"][0].get<double>(), 0.48145466 * 255, 1e-9);
  EXPECT_NEAR(m["input"]["std"][2].get<double>(), 0.27577711 * 255, 1e-9);
  EXPECT_EQ(m["frames_per_clip"], 8);
  EXPECT_EQ(m["open_set"]["score"], "max_logit");
  EXPECT_NEAR(m["open_set"]["unknown_threshold"].get<double>(), 0.2 * 100.0, 1e-3);
  EXPECT_EQ(m["text"]["templates"], nlohmann::json({"a photo of a {} face."}));
  EXPECT_EQ(m["provenance"]["checkpoint"], "clip_openai_format.pt");
  EXPECT_EQ(m["provenance"]["vocab_sha256"], kVocabSha256);
  EXPECT_EQ(m["provenance"]["checkpoint_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(hesp::manifest_problem(m), "");
  const hesp::TensorInfo& emb = pack.tensor(hesp::kClassEmbeddingsTensor);
  EXPECT_EQ(emb.shape, (std::vector<std::int64_t>{3, 64}));
  EXPECT_EQ(pack.tensor("vocab").dtype, hesp::DType::kU8);
  // Weights keep the checkpoint's dtypes: fp16 matrices, fp32 LayerNorms.
  EXPECT_EQ(pack.tensor("clip.visual.conv1.weight").dtype, hesp::DType::kF16);
  EXPECT_EQ(pack.tensor("clip.ln_final.weight").dtype, hesp::DType::kF32);
}

TEST_F(ZeroShot, ClassEmbeddingsAreTheEncodersAndTheReferences) {
  const hesp::ModelPack pack = hesp::ModelPack::open(names_pack());
  const char* classes[] = {"happy", "sad", "angry"};
  for (int k = 0; k < 3; ++k)
    expect_near(pack_row(pack, k),
                encoder_text(std::string("a photo of a ") + classes[k] + " face."), 1e-5,
                classes[k]);
  // The reference model has the same prompt for "happy".
  expect_near(pack_row(pack, 0), reference_text("a photo of a happy face."), 1e-4, "reference");
}

TEST_F(ZeroShot, DescriptionsAreUsedVerbatimAndSeveralPromptsAveraged) {
  const hesp::ModelPack pack = hesp::ModelPack::open(descriptions_pack());
  EXPECT_EQ(pack.manifest()["classes"], nlohmann::json({"happiness", "fear", "neutral"}));
  expect_near(pack_row(pack, 0), reference_text(kHappiness), 1e-4, "happiness vs reference");
  expect_near(pack_row(pack, 2), reference_text("neutral"), 1e-4, "neutral vs reference");
  const auto a = encoder_text("The person looks fearful: wide eyes, raised brows, lips stretched.");
  const auto b = encoder_text("a face showing fear");
  std::vector<float> mean(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) mean[i] = a[i] + b[i];
  expect_near(pack_row(pack, 1), unit(mean), 1e-5, "fear = renormalised mean of two prompts");
  // The renormalised mean is neither prompt's embedding.
  EXPECT_LT(hesp::cosine_similarity(pack_row(pack, 1).data(), a.data(), 64), 0.9999);
}

TEST_F(ZeroShot, PackWeightsLoadIntoTheEncoder) {
  const auto from_pt = hesp::ClipEncoder::load(tiny_checkpoint());
  const auto from_pack = hesp::ClipEncoder::load(names_pack());
  EXPECT_FLOAT_EQ(from_pack->logit_scale(), from_pt->logit_scale());
  EXPECT_EQ(from_pack->input_size(), 64);
  const auto rgb = hesp::test::random_clip(3, 64, 7);
  const auto a = from_pt->encode_rgb_crops(rgb.data(), 3, 64);
  const auto b = from_pack->encode_rgb_crops(rgb.data(), 3, 64);
  EXPECT_EQ(a.values, b.values);  // the same fp16 values, cast to fp32 the same way
}

TEST_F(ZeroShot, ModelLoadsFromThePack) {
  auto model = hesp::ExpressionModel::load(names_pack());
  EXPECT_EQ(model->kind(), "clip-zeroshot");
  EXPECT_EQ(model->class_names(), (std::vector<std::string>{"happy", "sad", "angry"}));
  EXPECT_EQ(model->input_size(), 64);
  EXPECT_EQ(model->frames_per_clip(), 8);
  EXPECT_EQ(model->score_rule(), "max_logit");
  EXPECT_NEAR(model->default_unknown_threshold(), 20.0, 1e-3);
  EXPECT_NEAR(as_zeroshot(*model).logit_scale(), 100.0, 1e-3);
}

struct Clips {
  std::vector<std::vector<std::uint8_t>> data;
  std::vector<hesp::ClipView> views;
};

// Clips of several lengths and crop sizes (64 = the input side, others resized).
Clips make_clips() {
  Clips c;
  const int frames[] = {8, 8, 3, 8, 1};
  const int crops[] = {64, 64, 112, 112, 64};
  for (int i = 0; i < 5; ++i)
    c.data.push_back(hesp::test::random_clip(frames[i], crops[i], 100 + i));
  for (int i = 0; i < 5; ++i) c.views.push_back({c.data[i].data(), frames[i], crops[i]});
  return c;
}

TEST_F(ZeroShot, ResultsHaveTheExpectedStructureAndValues) {
  auto model = hesp::ExpressionModel::load(names_pack());
  auto& z = as_zeroshot(*model);
  const Clips clips = make_clips();
  const auto results = model->classify(clips.views, model->default_unknown_threshold());
  ASSERT_EQ(results.size(), clips.views.size());
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    ASSERT_EQ(r.class_scores.size(), 3u);
    ASSERT_EQ(r.logits.size(), 3u);
    EXPECT_NEAR(std::accumulate(r.class_scores.begin(), r.class_scores.end(), 0.0), 1.0, 1e-9);
    EXPECT_EQ(r.open_set_score, *std::max_element(r.logits.begin(), r.logits.end()));
    EXPECT_EQ(r.is_unknown, r.open_set_score < model->default_unknown_threshold());
    if (r.is_unknown) {
      EXPECT_EQ(r.label, "unknown");
      EXPECT_EQ(r.label_id, -1);
    } else {
      ASSERT_GE(r.label_id, 0);
      EXPECT_EQ(r.label, model->class_names()[r.label_id]);
    }
    // Logits are logit_scale x cosine(mean frame embedding, class embedding).
    const auto e = z.encoder().encode_rgb_crops(clips.views[i].rgb, clips.views[i].n_frames,
                                                clips.views[i].crop_size);
    std::vector<float> mean(e.dim, 0.f);
    for (int f = 0; f < e.count; ++f)
      for (int k = 0; k < e.dim; ++k) mean[k] += e.row(f)[k];
    for (int k = 0; k < 3; ++k) {
      const float* t = z.class_embeddings().data() + k * e.dim;
      EXPECT_NEAR(r.logits[k], 100.0 * hesp::cosine_similarity(mean.data(), t, e.dim), 1e-3);
    }
  }
  // The threshold decides: +inf makes everything unknown, -inf nothing.
  for (const auto& r : model->classify(clips.views, std::numeric_limits<double>::infinity()))
    EXPECT_TRUE(r.is_unknown);
  for (const auto& r : model->classify(clips.views, -std::numeric_limits<double>::infinity()))
    EXPECT_FALSE(r.is_unknown);
}

TEST_F(ZeroShot, ResultsAreDeterministicAndIndependentOfBatching) {
  auto model = hesp::ExpressionModel::load(names_pack());
  auto again = hesp::ExpressionModel::load(names_pack());
  const Clips clips = make_clips();
  const auto all = model->classify(clips.views, 0.0);
  const auto repeat = again->classify(clips.views, 0.0);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].logits, repeat[i].logits) << "clip " << i;
    const auto one = model->classify({clips.views[i]}, 0.0)[0];
    EXPECT_EQ(one.label, all[i].label) << "clip " << i;
    for (std::size_t k = 0; k < one.logits.size(); ++k) {
      EXPECT_NEAR(one.logits[k], all[i].logits[k], 1e-4) << "clip " << i;
      EXPECT_NEAR(one.class_scores[k], all[i].class_scores[k], 1e-5) << "clip " << i;
    }
    EXPECT_NEAR(one.open_set_score, all[i].open_set_score, 1e-4) << "clip " << i;
  }
  // Different clips give different results (the test could not pass with a constant model).
  EXPECT_NE(all[0].logits, all[1].logits);
}

TEST_F(ZeroShot, CachedFramesGiveTheResultsOfRecomputation) {
  auto plain = hesp::ExpressionModel::load(names_pack());
  auto cached = hesp::ExpressionModel::load(names_pack());
  cached->set_frame_cache(16);
  const Clips clips = make_clips();
  // Two overlapping clips of one track: the second shares its first frames with the first.
  const hesp::ClipView& a = clips.views[0];
  ASSERT_GE(a.n_frames, 2);
  std::vector<std::uint64_t> keys(a.n_frames + 1);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = 1000 + i;
  hesp::ClipView first = a, second = a;
  first.frame_keys = keys.data();
  second.frame_keys = keys.data();  // the same frames again, as a clip that repeats them
  first.track = second.track = 7;
  const auto want = plain->classify({a}, 0.0)[0];
  for (const hesp::ClipView& clip : {first, second}) {
    const auto got = cached->classify({clip}, 0.0)[0];
    EXPECT_EQ(got.label, want.label);
    for (std::size_t k = 0; k < want.logits.size(); ++k)
      EXPECT_NEAR(got.logits[k], want.logits[k], 1e-5);
  }
  EXPECT_EQ(cached->frames_computed(), static_cast<std::uint64_t>(a.n_frames));
  EXPECT_EQ(cached->frames_reused(), static_cast<std::uint64_t>(a.n_frames));
}

TEST_F(ZeroShot, ExtraClassesAreEncodedWithThePackTemplate) {
  auto model = hesp::ExpressionModel::load(descriptions_pack());
  auto& z = as_zeroshot(*model);
  const Clips clips = make_clips();
  const auto before = model->classify(clips.views, 0.0);
  model->add_classes({"bored", "confused"});
  EXPECT_EQ(model->class_names(),
            (std::vector<std::string>{"happiness", "fear", "neutral", "bored", "confused"}));
  ASSERT_EQ(z.class_embeddings().size(), 5u * 64u);
  const std::vector<float> bored(z.class_embeddings().begin() + 3 * 64,
                                 z.class_embeddings().begin() + 4 * 64);
  expect_near(bored, encoder_text("a photo of a bored face."), 1e-5, "bored");
  const auto after = model->classify(clips.views, 0.0);
  for (std::size_t i = 0; i < after.size(); ++i) {
    ASSERT_EQ(after[i].class_scores.size(), 5u);
    // The known classes' logits do not move; only the softmax now spreads over five.
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(after[i].logits[k], before[i].logits[k], 1e-9);
    EXPECT_NEAR(std::accumulate(after[i].class_scores.begin(), after[i].class_scores.end(), 0.0),
                1.0, 1e-9);
  }
  EXPECT_THROW(model->add_classes({"fear"}), hesp::SettingsError);
  EXPECT_THROW(model->add_classes({""}), hesp::SettingsError);
}

TEST_F(ZeroShot, SeveralTemplatesAreAveraged) {
  hesp::ClipZeroShotConvertOptions o;
  o.checkpoint = tiny_checkpoint();
  o.vocab_path = clip_vocab();
  o.classes = {"sad"};
  o.templates = {"a photo of a {} face.", "a {} person"};
  o.output_path = zeroshot_dir() + "/templates.safetensors";
  const auto report = hesp::convert_openai_clip(o);
  EXPECT_EQ(report.prompts, 2);
  const hesp::ModelPack pack = hesp::ModelPack::open(o.output_path);
  const auto a = encoder_text("a photo of a sad face.");
  const auto b = encoder_text("a sad person");
  std::vector<float> mean(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) mean[i] = a[i] + b[i];
  expect_near(pack_row(pack, 0), unit(mean), 1e-5, "sad");
}

}  // namespace
