// SPDX-License-Identifier: LGPL-2.1-or-later
// The CLIP tokenizer against ids made by the reference Python tokenizer, and its errors.
#include "hesp/tokenizer.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "error_capture.h"
#include "hesp/error.h"
#include "scratch.h"
#include "shared_per_suite.h"
#include "test_data.h"

namespace {

using hesp::Tokenizer;

std::string vocab_path() { return hesp::test::shared_path("clip/bpe_simple_vocab_16e6.txt.gz"); }
std::string golden_path() { return hesp::test::shared_path("clip/tokenizer_golden.jsonl"); }

struct GoldenLine {
  std::string text;
  std::vector<int> ids;
  std::vector<int> bpe_ids;
};

std::vector<GoldenLine> read_golden() {
  std::vector<GoldenLine> lines;
  std::ifstream in(golden_path());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    lines.push_back({j.at("text").get<std::string>(), j.at("ids").get<std::vector<int>>(),
                     j.at("bpe_ids_no_sot_eot").get<std::vector<int>>()});
  }
  return lines;
}

using hesp::test::read_bytes;
using hesp::test::TempDir;
using hesp::test::write_bytes;

std::string gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(f);
  return out;
}

// The message of the E that loading the vocabulary at `path` throws.
template <typename E>
std::string vocabulary_error(const std::string& path) {
  return hesp::test::error_message<E>([&] { Tokenizer t(path); });
}

class TokenizerTest : public hesp::test::SharedPerSuite<TokenizerTest, Tokenizer> {
 public:
  static std::string required_file() { return vocab_path(); }
  static std::unique_ptr<Tokenizer> make() { return std::make_unique<Tokenizer>(vocab_path()); }
};

TEST_F(TokenizerTest, MatchesReferenceOnEveryGoldenLine) {
  HESP_REQUIRE_FILE(golden_path());
  const auto golden = read_golden();
  ASSERT_GE(golden.size(), 30u);
  for (const GoldenLine& g : golden) {
    EXPECT_EQ(shared_->encode(g.text), g.bpe_ids) << "text: " << g.text;
    EXPECT_EQ(shared_->tokenize(g.text, Tokenizer::kContextLength, false), g.ids)
        << "text: " << g.text;
  }
}

TEST_F(TokenizerTest, PadsToContextLengthAndKeepsEndTokenWhenTruncating) {
  const std::vector<int> short_ids = shared_->tokenize("a photo of a happy face.");
  ASSERT_EQ(short_ids.size(), 77u);
  EXPECT_EQ(short_ids[0], Tokenizer::kStartToken);
  EXPECT_EQ(short_ids[8], Tokenizer::kEndToken);
  for (std::size_t i = 9; i < short_ids.size(); ++i) EXPECT_EQ(short_ids[i], 0) << i;

  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "word ";
  const std::vector<int> long_ids = shared_->tokenize(long_text);
  ASSERT_EQ(long_ids.size(), 77u);
  EXPECT_EQ(long_ids.front(), Tokenizer::kStartToken);
  EXPECT_EQ(long_ids.back(), Tokenizer::kEndToken);
  EXPECT_EQ(shared_->encode(long_text).size(), 200u);

  const std::vector<int> short_context = shared_->tokenize("a photo of a happy face.", 5);
  EXPECT_EQ(short_context,
            (std::vector<int>{Tokenizer::kStartToken, 320, 1125, 539, Tokenizer::kEndToken}));
  EXPECT_THROW(shared_->tokenize("x", 1), hesp::SettingsError);
}

TEST_F(TokenizerTest, CleaningFollowsTheReference) {
  EXPECT_EQ(Tokenizer::clean("  Lots \t of\n\nSPACE  "), "lots of space");
  EXPECT_EQ(Tokenizer::clean("fish &amp;amp; chips &lt;3 &notit; &#x41;&#66"),
            "fish & chips <3 ¬it; ab");
  // Decomposed input (e + combining acute) is composed first, so it tokenizes like the
  // precomposed character.
  EXPECT_EQ(shared_->encode("cafe\xcc\x81"), shared_->encode("caf\xc3\xa9"));
  EXPECT_EQ(Tokenizer::clean("\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3\xce\x91"),  // ΟΔΟΣ ΣΑ
            "\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xcf\x83\xce\xb1");                   // οδος σα
  // Invalid UTF-8 becomes U+FFFD instead of failing.
  EXPECT_EQ(Tokenizer::clean("a\xff"
                             "b"),
            "a\xef\xbf\xbd"
            "b");
}

TEST_F(TokenizerTest, DecodeInvertsEncode) {
  EXPECT_EQ(shared_->decode(shared_->tokenize("A photo of a HAPPY face!")),
            "a photo of a happy face ! ");
  EXPECT_EQ(shared_->decode(shared_->tokenize("größe 你好")), "größe 你好 ");
  EXPECT_THROW(shared_->decode({49408}), hesp::InputError);
}

TEST_F(TokenizerTest, IsSafeToShareBetweenThreads) {
  HESP_REQUIRE_FILE(golden_path());
  const auto golden = read_golden();
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (const GoldenLine& g : golden)
          if (shared_->encode(g.text) != g.bpe_ids) ++failures[t];
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST_F(TokenizerTest, ReadsADecompressedVocabulary) {
  TempDir dir;
  const std::string plain = dir.file("vocab.txt");
  write_bytes(plain, gunzip(vocab_path()));
  Tokenizer t(plain);
  EXPECT_EQ(t.tokenize("a photo of a happy face.", 77, false),
            (std::vector<int>{49406, 320, 1125, 539, 320, 900, 1710, 269, 49407}));
}

TEST(TokenizerErrors, MissingVocabularyIsFileNotFound) {
  const std::string msg =
      vocabulary_error<hesp::FileNotFoundError>("no-such-folder/bpe_simple_vocab_16e6.txt.gz");
  EXPECT_NE(msg.find("no-such-folder/bpe_simple_vocab_16e6.txt.gz"), std::string::npos) << msg;
}

TEST(TokenizerErrors, TruncatedGzipIsCorrupt) {
  HESP_REQUIRE_FILE(vocab_path());
  TempDir dir;
  const std::string bytes = read_bytes(vocab_path());
  const std::string path = dir.file("truncated.txt.gz");
  write_bytes(path, bytes.substr(0, bytes.size() / 2));
  const std::string msg = vocabulary_error<hesp::CorruptFileError>(path);
  EXPECT_NE(msg.find("truncated.txt.gz"), std::string::npos) << msg;
}

TEST(TokenizerErrors, RandomBytesAreCorrupt) {
  TempDir dir;
  std::mt19937 rng(7);
  std::string bytes(100000, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
  const std::string path = dir.file("random.gz");
  write_bytes(path, bytes);
  EXPECT_THROW(Tokenizer t(path), hesp::CorruptFileError);
}

// Merge lists that are not what the tokenizer needs: the file written, the error it gives.
TEST(TokenizerErrors, BadMergeListsAreCorrupt) {
  struct BadMerges {
    const char* file;
    const char* contents;
    const char* message_part;
  };
  const BadMerges cases[] = {
      {"short.txt", "#version: 0.2\ni n\nt h\n", "has 2 merges"},         // too few merges
      {"bad.txt", "#version: 0.2\ni n\nthree symbols here\n", "line 3"},  // malformed line
  };
  for (const BadMerges& c : cases) {
    TempDir dir;
    const std::string path = dir.file(c.file);
    write_bytes(path, c.contents);
    const std::string msg = vocabulary_error<hesp::CorruptFileError>(path);
    EXPECT_NE(msg.find(c.message_part), std::string::npos) << msg;
  }
}

}  // namespace
