// SPDX-License-Identifier: LGPL-2.1-or-later
// The KLV codec: BER lengths at the short/long form boundaries, packets that round-trip, and a
// clear refusal of every malformed input (truncated at each byte, bad length fields, values over
// the limit, other producers' keys).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hesp/error.h"
#include "klv/klv_codec.h"

namespace {

using hesp::klv::ParseStatus;
using Bytes = std::vector<std::uint8_t>;

Bytes packet_with_length_field(const Bytes& length_field, std::size_t value_size) {
  Bytes out(hesp::klv::kFrameJsonKey.begin(), hesp::klv::kFrameJsonKey.end());
  out.insert(out.end(), length_field.begin(), length_field.end());
  out.insert(out.end(), value_size, 'x');
  return out;
}

TEST(KlvCodec, BerLengthShortAndLongForm) {
  EXPECT_EQ(hesp::klv::ber_length(0), Bytes({0x00}));
  EXPECT_EQ(hesp::klv::ber_length(127), Bytes({0x7F}));
  EXPECT_EQ(hesp::klv::ber_length(128), Bytes({0x81, 0x80}));
  EXPECT_EQ(hesp::klv::ber_length(255), Bytes({0x81, 0xFF}));
  EXPECT_EQ(hesp::klv::ber_length(256), Bytes({0x82, 0x01, 0x00}));
  EXPECT_EQ(hesp::klv::ber_length(0x123456), Bytes({0x83, 0x12, 0x34, 0x56}));
}

TEST(KlvCodec, EncodeLayoutIsKeyLengthValue) {
  const Bytes p = hesp::klv::encode(hesp::klv::kFrameJsonKey, "{}");
  ASSERT_EQ(p.size(), 16u + 1u + 2u);
  EXPECT_TRUE(
      std::equal(hesp::klv::kFrameJsonKey.begin(), hesp::klv::kFrameJsonKey.end(), p.begin()));
  EXPECT_EQ(p[16], 2);
  EXPECT_EQ(p[17], '{');
  EXPECT_EQ(p[18], '}');
  EXPECT_EQ(hesp::klv::key_hex(hesp::klv::kFrameJsonKey), "cd6523352bda4f729791146da89e4999");
}

TEST(KlvCodec, RoundTripAcrossLengthForms) {
  for (std::size_t size : {0u, 1u, 127u, 128u, 255u, 256u, 70000u}) {
    const std::string value(size, 'a');
    const Bytes p = hesp::klv::encode(hesp::klv::kFrameJsonKey, value);
    const auto r = hesp::klv::parse(p.data(), p.size());
    ASSERT_EQ(r.status, ParseStatus::kOk) << size << ": " << r.message;
    EXPECT_EQ(r.packet.value, value);
    EXPECT_EQ(r.packet.size, p.size());
    EXPECT_TRUE(r.message.empty());
  }
}

TEST(KlvCodec, EveryTruncationIsRefused) {
  const Bytes p = hesp::klv::encode(hesp::klv::kFrameJsonKey, std::string(300, 'v'));
  for (std::size_t size = 0; size < p.size(); ++size) {
    const auto r = hesp::klv::parse(p.data(), size);
    EXPECT_EQ(r.status, ParseStatus::kTruncated) << "at " << size;
    EXPECT_NE(r.message.find("truncated"), std::string::npos) << r.message;
  }
  EXPECT_EQ(hesp::klv::parse(nullptr, 0).status, ParseStatus::kTruncated);
}

TEST(KlvCodec, BadLengthFieldsAreRefused) {
  auto indefinite = hesp::klv::parse(packet_with_length_field({0x80}, 4).data(), 21);
  EXPECT_EQ(indefinite.status, ParseStatus::kBadLength);
  EXPECT_NE(indefinite.message.find("indefinite"), std::string::npos);
  const Bytes wide = packet_with_length_field({0x89, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 1);
  EXPECT_EQ(hesp::klv::parse(wide.data(), wide.size()).status, ParseStatus::kBadLength);
}

TEST(KlvCodec, OversizedValuesAreRefusedBeforeReadingThem) {
  // A length of 2^63 with no value behind it: refused for its size, not read.
  const Bytes huge = packet_with_length_field({0x88, 0x80, 0, 0, 0, 0, 0, 0, 0}, 0);
  const auto r = hesp::klv::parse(huge.data(), huge.size());
  EXPECT_EQ(r.status, ParseStatus::kOversized);
  EXPECT_NE(r.message.find("more than"), std::string::npos) << r.message;
  const Bytes p = hesp::klv::encode(hesp::klv::kFrameJsonKey, std::string(200, 'x'));
  EXPECT_EQ(hesp::klv::parse(p.data(), p.size(), hesp::klv::kFrameJsonKey, 100).status,
            ParseStatus::kOversized);
  const Bytes short_form = hesp::klv::encode(hesp::klv::kFrameJsonKey, std::string(50, 'x'));
  EXPECT_EQ(
      hesp::klv::parse(short_form.data(), short_form.size(), hesp::klv::kFrameJsonKey, 10).status,
      ParseStatus::kOversized);
}

TEST(KlvCodec, UnknownKeyIsParsedButFlagged) {
  hesp::klv::Key misb = {0x06, 0x0E, 0x2B, 0x34, 0x02, 0x0B, 0x01, 0x01,
                         0x0E, 0x01, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00};
  const Bytes p = hesp::klv::encode(misb, "abc");
  const auto r = hesp::klv::parse(p.data(), p.size());
  EXPECT_EQ(r.status, ParseStatus::kUnknownKey);
  EXPECT_EQ(r.packet.size, p.size());  // a reader can skip it
  EXPECT_NE(r.message.find("060e2b34"), std::string::npos) << r.message;
  EXPECT_EQ(hesp::klv::parse(p.data(), p.size(), misb).status, ParseStatus::kOk);
}

TEST(KlvCodec, ParseAllReadsConsecutivePacketsAndNamesTheBadOne) {
  Bytes both = hesp::klv::encode(hesp::klv::kFrameJsonKey, "one");
  const Bytes second = hesp::klv::encode(hesp::klv::kFrameJsonKey, std::string(200, '2'));
  both.insert(both.end(), second.begin(), second.end());
  const auto values = hesp::klv::parse_all(both.data(), both.size());
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], "one");
  EXPECT_EQ(values[1], std::string(200, '2'));
  both.pop_back();
  try {
    hesp::klv::parse_all(both.data(), both.size());
    FAIL() << "a truncated second packet was accepted";
  } catch (const hesp::CorruptFileError& e) {
    EXPECT_NE(std::string(e.what()).find("KLV packet at byte 20: truncated"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(hesp::klv::parse_all(nullptr, 0), hesp::CorruptFileError);
}

}  // namespace
