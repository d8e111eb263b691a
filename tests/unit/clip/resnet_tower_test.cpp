// SPDX-License-Identifier: LGPL-2.1-or-later
// The ResNet image tower as a module: the released checkpoints' geometries (RN50 to RN50x64) as
// derived from their tensor shapes, a full-size RN50 tower's output shape, and training (batch
// statistics, gradients, fresh models that save and load back).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "clip/clip_checkpoint.h"
#include "clip/clip_init.h"
#include "clip/clip_model.h"

namespace {

using hesp::clip::ModelGeometry;
using hesp::clip::TensorMap;

// A released ResNet CLIP's sizes, as OpenAI's model cards and build_model state them.
struct Released {
  const char* name;
  std::vector<int64_t> blocks;
  int64_t width, image, embed, text_width, text_layers;
};

const Released kReleased[] = {
    {"RN50", {3, 4, 6, 3}, 64, 224, 1024, 512, 12},
    {"RN101", {3, 4, 23, 3}, 64, 224, 512, 512, 12},
    {"RN50x4", {4, 6, 10, 6}, 80, 288, 640, 640, 12},
    {"RN50x16", {6, 8, 18, 8}, 96, 384, 768, 768, 12},
    {"RN50x64", {3, 15, 36, 10}, 128, 448, 1024, 1024, 12},
};

// A tensor of the given shape that takes no memory: only shapes matter to infer_geometry.
at::Tensor shaped(std::vector<int64_t> shape) { return at::zeros({1}).expand(shape); }

// The tensors infer_geometry reads, shaped like the released file's.
TensorMap released_shapes(const Released& r) {
  TensorMap t;
  int64_t in = r.width;
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = r.width << s;
    for (int64_t b = 0; b < r.blocks[s]; ++b) {
      const std::string p = "visual.layer" + std::to_string(s + 1) + "." + std::to_string(b);
      t[p + ".conv1.weight"] = shaped({planes, in, 1, 1});
      t[p + ".bn1.running_mean"] = shaped({planes});
      in = planes * 4;
    }
  }
  const int64_t grid = r.image / 32;
  t["visual.attnpool.positional_embedding"] = shaped({grid * grid + 1, r.width * 32});
  t["visual.attnpool.c_proj.weight"] = shaped({r.embed, r.width * 32});
  t["ln_final.weight"] = shaped({r.text_width});
  for (int64_t i = 0; i < r.text_layers; ++i)
    t["transformer.resblocks." + std::to_string(i) + ".attn.in_proj_weight"] =
        shaped({3 * r.text_width, r.text_width});
  t["positional_embedding"] = shaped({77, r.text_width});
  t["token_embedding.weight"] = shaped({49408, r.text_width});
  t["text_projection"] = shaped({r.text_width, r.embed});
  return t;
}

TEST(ResNetTowerTest, ReleasedGeometriesFollowFromTheShapes) {
  for (const Released& r : kReleased) {
    SCOPED_TRACE(r.name);
    const ModelGeometry g = hesp::clip::infer_geometry(released_shapes(r), r.name);
    EXPECT_TRUE(g.vision.resnet());
    EXPECT_EQ(std::vector<int64_t>(g.vision.stage_blocks.begin(), g.vision.stage_blocks.end()),
              r.blocks);
    EXPECT_EQ(g.vision.width, r.width);
    EXPECT_EQ(g.vision.image_size, r.image);
    EXPECT_EQ(g.vision.heads, r.width * 32 / 64);
    EXPECT_EQ(g.vision.embed_dim, r.embed);
    EXPECT_EQ(g.vision.grid(), r.image / 32);
    EXPECT_EQ(g.text.width, r.text_width);
    EXPECT_EQ(g.text.heads, r.text_width / 64);
  }
}

ModelGeometry tiny_resnet() {
  ModelGeometry g;
  g.vision.tower = hesp::clip::VisionTower::kResNet;
  g.vision.patch_size = 0;
  g.vision.image_size = 64;
  g.vision.width = 8;
  g.vision.stage_blocks = {1, 2, 1, 1};
  g.vision.layers = 5;
  g.vision.heads = 4;
  g.vision.embed_dim = 64;
  g.text.width = 64;
  g.text.layers = 1;
  g.text.heads = 1;
  g.text.embed_dim = 64;
  g.text.context_length = 16;
  g.text.vocab_size = 100;
  return g;
}

TEST(ResNetTowerTest, FullSizeRN50TowerMapsImagesToEmbeddings) {
  torch::NoGradGuard no_grad;
  ModelGeometry g = hesp::clip::infer_geometry(released_shapes(kReleased[0]), "RN50");
  auto tower = hesp::clip::ModifiedResNet(g.vision, std::make_shared<hesp::clip::LinearKernel>());
  tower->eval();
  int64_t parameters = 0;
  for (const auto& p : tower->parameters()) parameters += p.numel();
  // OpenAI's RN50 image tower: 38.3 M parameters (ResNet-50's 23.5 M trunk, bigger stem, and
  // the 14.8 M attention pool).
  EXPECT_NEAR(parameters / 1e6, 38.3, 0.1);
  const at::Tensor out = tower->forward(torch::randn({1, 3, 224, 224}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 1024}));
  EXPECT_TRUE(out.isfinite().all().item<bool>());
}

TEST(ResNetTowerTest, TrainsWithBatchStatistics) {
  auto model = hesp::clip::random_clip_model(tiny_resnet(), 3);
  ASSERT_TRUE(model->visual_resnet);
  EXPECT_TRUE(model->image_tower().is_training());
  const at::Tensor images = torch::randn({4, 3, 64, 64});
  const auto& bn1 = model->visual_resnet->bn1;
  const at::Tensor mean_before = bn1->running_mean.clone();
  const at::Tensor train_out = model->encode_image(images);
  EXPECT_EQ(train_out.sizes(), (std::vector<int64_t>{4, 64}));
  // Train mode normalises with the batch's statistics and updates the running ones.
  EXPECT_FALSE(at::equal(bn1->running_mean, mean_before));
  train_out.pow(2).sum().backward();
  for (const auto& p : model->image_tower().named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(p.value().grad().isfinite().all().item<bool>()) << p.key();
  }
  EXPECT_GT(model->visual_resnet->conv1->weight.grad().abs().sum().item<double>(), 0.0);
  // Every bottleneck starts as its shortcut (OpenAI zeroes each block's last BatchNorm scale).
  const auto& block = model->visual_resnet->layer2[1]->as<hesp::clip::BottleneckImpl>();
  EXPECT_EQ(block->bn3->weight.abs().sum().item<double>(), 0.0);

  // Eval mode uses the running statistics instead: another result for the same images.
  model->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor eval_out = model->encode_image(images);
  EXPECT_GT((eval_out - train_out.detach()).abs().max().item<double>(), 1e-4);

  // Saved under OpenAI's names (statistics included) and loaded back, the model is the same.
  const TensorMap saved = hesp::clip::openai_tensors(*model);
  EXPECT_EQ(saved.count("visual.layer2.1.bn3.running_var"), 1u);
  EXPECT_EQ(saved.count("visual.bn1.num_batches_tracked"), 0u);
  auto loaded = hesp::clip::build_model(saved, "saved");
  EXPECT_TRUE(at::allclose(loaded->encode_image(images), eval_out, 1e-5, 1e-6));
}

}  // namespace
