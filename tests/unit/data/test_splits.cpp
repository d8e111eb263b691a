// SPDX-License-Identifier: LGPL-2.1-or-later
// Open-set splits: the published known-class lists, custom lists, and relabelling items into
// known (0..K-1 in list order) and unknown.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "hesp/dataset.h"
#include "hesp/error.h"

using hesp::data::parse_split;

namespace {

TEST(Splits, PresetsMatchThePublishedLists) {
  // Spot checks against the lists published with HESP (one per data set and openness level).
  EXPECT_EQ(parse_split("mafw:8:0").known, (std::vector<int>{4, 2, 5, 8, 1, 9, 6, 3}));
  EXPECT_EQ(parse_split("mafw:8:4").known, (std::vector<int>{2, 3, 6, 0, 7, 9, 10, 1}));
  EXPECT_EQ(parse_split("mafw:6:3").known, (std::vector<int>{10, 4, 8, 9, 0, 5}));
  EXPECT_EQ(parse_split("mafw:5:2").known, (std::vector<int>{1, 10, 3, 7, 4}));
  EXPECT_EQ(parse_split("mafw:3:0").known, (std::vector<int>{10, 5, 6}));
  EXPECT_EQ(parse_split("mafw:3:4").known, (std::vector<int>{2, 8, 9}));
  EXPECT_EQ(parse_split("dfew:2:0").known, (std::vector<int>{6, 1}));
  EXPECT_EQ(parse_split("dfew:3:2").known, (std::vector<int>{1, 3, 5}));
  EXPECT_EQ(parse_split("dfew:4:1").known, (std::vector<int>{6, 5, 2, 1}));
  EXPECT_EQ(parse_split("dfew:5:4").known, (std::vector<int>{4, 0, 1, 5, 6}));
  EXPECT_EQ(parse_split("afew:2:4").known, (std::vector<int>{0, 4}));
  EXPECT_EQ(parse_split("afew:5:0").known, (std::vector<int>{2, 5, 3, 6, 1}));
  EXPECT_EQ(parse_split(" MAFW:8:0 ").dataset, "mafw");
}

TEST(Splits, EveryPublishedListIsWellFormed) {
  const std::vector<std::pair<std::string, std::vector<int>>> levels = {
      {"mafw", {3, 5, 6, 8}}, {"dfew", {2, 3, 4, 5}}, {"afew", {2, 3, 4, 5}}};
  for (const auto& [dataset, ks] : levels) {
    const int n = static_cast<int>(hesp::data::class_names(dataset).size());
    for (int k : ks) {
      const auto& lists = hesp::data::published_splits(dataset, k);
      ASSERT_EQ(lists.size(), 5u) << dataset << " " << k;
      for (const auto& list : lists) {
        EXPECT_EQ(list.size(), static_cast<std::size_t>(k));
        EXPECT_EQ(std::set<int>(list.begin(), list.end()).size(), list.size());
        for (int id : list) {
          EXPECT_GE(id, 0);
          EXPECT_LT(id, n);
        }
      }
    }
  }
}

TEST(Splits, NamesAndUnknownClasses) {
  const auto s = parse_split("mafw:3:0");
  EXPECT_EQ(s.known_names(), (std::vector<std::string>{"Disappointment", "Sad", "Surprise"}));
  EXPECT_EQ(s.unknown(11), (std::vector<int>{0, 1, 2, 3, 4, 7, 8, 9}));
  EXPECT_EQ(parse_split("dfew:2:0").known_names(), (std::vector<std::string>{"Fear", "Sad"}));
}

TEST(Splits, CustomLists) {
  EXPECT_EQ(parse_split("mafw:4,2,5").known, (std::vector<int>{4, 2, 5}));
  const auto named = parse_split("dfew:happy,Fear,Sad");
  EXPECT_EQ(named.known, (std::vector<int>{0, 6, 1}));
  EXPECT_EQ(named.known_names(), (std::vector<std::string>{"Happy", "Fear", "Sad"}));
  const auto custom = parse_split("custom:0,3,12");
  EXPECT_EQ(custom.known, (std::vector<int>{0, 3, 12}));
  EXPECT_TRUE(custom.class_names.empty());
}

TEST(Splits, BadSpecsAreRejected) {
  for (const std::string bad :
       {"mafw", "mafw:7:0", "mafw:8:5", "ferv:8:0", "mafw:4", "mafw:4,4", "mafw:4,11",
        "dfew:Contempt,Happy", "mafw:8:0:1", "custom:8:0", "mafw:x:0", "mafw:,3"}) {
    EXPECT_THROW(parse_split(bad), hesp::SettingsError) << bad;
  }
  try {
    parse_split("mafw:7:0");
  } catch (const hesp::SettingsError& e) {
    EXPECT_NE(std::string(e.what()).find("3, 5, 6, 8"), std::string::npos) << e.what();
  }
}

TEST(Splits, ApplyRelabelsKnownInListOrder) {
  std::vector<hesp::data::AnnotationItem> items;
  for (int label : {0, 4, 2, 5, 7, 4, 10}) {
    hesp::data::AnnotationItem item;
    item.label = item.original_label = label;
    item.rel_path = "clip" + std::to_string(items.size());
    items.push_back(item);
  }
  const auto split = parse_split("mafw:5:0");  // [2, 5, 10, 0, 4]
  const auto out = hesp::data::apply_split(items, split);
  ASSERT_EQ(out.known.size(), 6u);
  ASSERT_EQ(out.unknown.size(), 1u);
  std::vector<int> labels, originals;
  for (const auto& item : out.known) {
    labels.push_back(item.label);
    originals.push_back(item.original_label);
  }
  EXPECT_EQ(originals, (std::vector<int>{0, 4, 2, 5, 4, 10}));
  EXPECT_EQ(labels, (std::vector<int>{3, 4, 0, 1, 4, 2}));
  EXPECT_EQ(out.unknown[0].original_label, 7);
  EXPECT_EQ(out.unknown[0].label, -1);
  EXPECT_EQ(out.unknown[0].rel_path, "clip4");
  // Applying a second split works from the original ids, not from the relabelled ones.
  const auto again = hesp::data::apply_split(out.known, parse_split("mafw:0,4"));
  EXPECT_EQ(again.known.size(), 3u);
  EXPECT_EQ(again.unknown.size(), 3u);
}

}  // namespace

TEST(HoldOut, StratifiedSeededAndComplete) {
  std::vector<hesp::data::AnnotationItem> items;
  for (int i = 0; i < 30; ++i) {
    hesp::data::AnnotationItem item;
    item.rel_path = "clip" + std::to_string(i);
    item.label = i < 20 ? 0 : (i < 29 ? 1 : 2);  // 20, 9 and 1 items
    items.push_back(item);
  }
  const auto a = hesp::data::hold_out(items, 0.2, 5);
  const auto b = hesp::data::hold_out(items, 0.2, 5);
  const auto c = hesp::data::hold_out(items, 0.2, 6);
  EXPECT_EQ(a.train.size() + a.validation.size(), items.size());
  std::map<int, int> held;
  for (const auto& item : a.validation) ++held[item.label];
  EXPECT_EQ(held[0], 4);
  EXPECT_EQ(held[1], 2);
  EXPECT_EQ(held[2], 0);  // a class with one item keeps it for training
  std::vector<std::string> pa, pb, pc;
  for (const auto& item : a.validation) pa.push_back(item.rel_path);
  for (const auto& item : b.validation) pb.push_back(item.rel_path);
  for (const auto& item : c.validation) pc.push_back(item.rel_path);
  EXPECT_EQ(pa, pb);
  EXPECT_NE(pa, pc);
  EXPECT_TRUE(hesp::data::hold_out(items, 0.0, 1).validation.empty());
  EXPECT_THROW(hesp::data::hold_out(items, 1.0, 1), hesp::SettingsError);
  EXPECT_THROW(hesp::data::hold_out(items, -0.1, 1), hesp::SettingsError);
}
