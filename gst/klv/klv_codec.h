// SPDX-License-Identifier: LGPL-2.1-or-later
// KLV (SMPTE 336 key-length-value) packets as the project writes them into MPEG-TS: a 16-byte key,
// a BER length and the value. hespklvencode, hespklvdecode and `hesp read-metadata` share this
// codec; it needs neither GStreamer nor LibTorch, so it is unit-tested and fuzzed on its own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hesp::klv {

using Key = std::array<std::uint8_t, 16>;

// The key of a packet whose value is one frame's JSON (UTF-8, one compact line, the layout of
// docs/elements-output.md). It is a random (version 4) UUID of the project's own,
// cd652335-2bda-4f72-9791-146da89e4999, not a SMPTE-registered label: it cannot collide with the
// 06 0E 2B 34 labels of MISB and SMPTE data sets, which readers of those skip as unknown.
extern const Key kFrameJsonKey;

// Values larger than this are refused when parsing: a frame's JSON is a few kB, and a length
// field read from a corrupt stream must not make a reader allocate gigabytes.
constexpr std::size_t kMaxValueSize = 16u << 20;

// The BER encoding of a length: one byte below 128 (short form), else 0x80 + the number of bytes
// that follow, then the length big-endian in as few bytes as it needs (long form).
std::vector<std::uint8_t> ber_length(std::size_t length);

// The packet key + BER length + value.
std::vector<std::uint8_t> encode(const Key& key, std::string_view value);

// What parse() tells about the bytes it was given.
enum class ParseStatus {
  kOk,
  kTruncated,   // fewer bytes than the key, the length field or the value need
  kBadLength,   // indefinite (0x80) or wider than 8 bytes: not a length KLV allows
  kOversized,   // a value larger than the caller's limit
  kUnknownKey,  // a well-formed packet whose key is not the expected one
};

struct Packet {
  Key key{};
  std::string_view value;  // points into the parsed bytes
  std::size_t size = 0;    // bytes the whole packet takes: key + length field + value
};

struct ParseResult {
  ParseStatus status = ParseStatus::kTruncated;
  Packet packet;        // valid when status is kOk or kUnknownKey
  std::string message;  // why it failed, for people; empty when kOk
};

// Parses the packet at the start of data[0, size). Never throws and never reads outside the
// bytes it was given, whatever they hold; `expected` is the key a packet must carry (kOk), any
// other key gives kUnknownKey with the packet still parsed so a reader can skip it.
ParseResult parse(const std::uint8_t* data, std::size_t size, const Key& expected = kFrameJsonKey,
                  std::size_t max_value_size = kMaxValueSize) noexcept;

// Every packet of a buffer holding one or more whole packets, all with the expected key. Throws
// hesp::CorruptFileError naming the packet's byte offset and what is wrong.
std::vector<std::string_view> parse_all(const std::uint8_t* data, std::size_t size,
                                        const Key& expected = kFrameJsonKey);

// The key as 32 lowercase hex digits, for messages.
std::string key_hex(const Key& key);

}  // namespace hesp::klv
