// SPDX-License-Identifier: LGPL-2.1-or-later
#include "klv/klv_codec.h"

#include <algorithm>
#include <cstdio>

#include "hesp/error.h"

namespace hesp::klv {

const Key kFrameJsonKey = {0xCD, 0x65, 0x23, 0x35, 0x2B, 0xDA, 0x4F, 0x72,
                           0x97, 0x91, 0x14, 0x6D, 0xA8, 0x9E, 0x49, 0x99};

std::vector<std::uint8_t> ber_length(std::size_t length) {
  if (length < 0x80) return {static_cast<std::uint8_t>(length)};
  std::vector<std::uint8_t> digits;
  for (std::size_t rest = length; rest != 0; rest >>= 8)
    digits.push_back(static_cast<std::uint8_t>(rest & 0xFF));
  std::vector<std::uint8_t> out;
  out.reserve(digits.size() + 1);
  out.push_back(static_cast<std::uint8_t>(0x80 | digits.size()));
  out.insert(out.end(), digits.rbegin(), digits.rend());
  return out;
}

std::vector<std::uint8_t> encode(const Key& key, std::string_view value) {
  const std::vector<std::uint8_t> length = ber_length(value.size());
  std::vector<std::uint8_t> out;
  out.reserve(key.size() + length.size() + value.size());
  out.insert(out.end(), key.begin(), key.end());
  out.insert(out.end(), length.begin(), length.end());
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

std::string key_hex(const Key& key) {
  std::string out;
  char digits[3];
  for (std::uint8_t b : key) {
    std::snprintf(digits, sizeof digits, "%02x", b);
    out += digits;
  }
  return out;
}

ParseResult parse(const std::uint8_t* data, std::size_t size, const Key& expected,
                  std::size_t max_value_size) noexcept {
  ParseResult r;
  // Messages are built only on failure, and std::string may throw only on exhaustion of memory,
  // which this noexcept function then turns into termination like any allocation failure.
  if (data == nullptr || size < r.packet.key.size() + 1) {
    r.status = ParseStatus::kTruncated;
    r.message = "truncated packet: " + std::to_string(size) + " bytes, fewer than a key and length";
    return r;
  }
  std::copy(data, data + r.packet.key.size(), r.packet.key.begin());
  std::size_t pos = r.packet.key.size();
  const std::uint8_t first = data[pos++];
  std::size_t length = first;
  if (first & 0x80) {
    const std::size_t width = first & 0x7F;
    if (width == 0 || width > 8) {
      r.status = ParseStatus::kBadLength;
      r.message = width == 0
                      ? "indefinite BER length (0x80), which KLV does not allow"
                      : "BER length field of " + std::to_string(width) + " bytes (at most 8)";
      return r;
    }
    if (size - pos < width) {
      r.status = ParseStatus::kTruncated;
      r.message = "truncated packet: its length field needs " + std::to_string(width) + " bytes, " +
                  std::to_string(size - pos) + " left";
      return r;
    }
    length = 0;
    std::uint64_t wide = 0;
    for (std::size_t i = 0; i < width; ++i) wide = (wide << 8) | data[pos++];
    if (wide > max_value_size) {
      r.status = ParseStatus::kOversized;
      r.message = "value of " + std::to_string(wide) + " bytes, more than the " +
                  std::to_string(max_value_size) + " allowed";
      return r;
    }
    length = static_cast<std::size_t>(wide);
  }
  if (length > max_value_size) {
    r.status = ParseStatus::kOversized;
    r.message = "value of " + std::to_string(length) + " bytes, more than the " +
                std::to_string(max_value_size) + " allowed";
    return r;
  }
  if (size - pos < length) {
    r.status = ParseStatus::kTruncated;
    r.message = "truncated packet: its value needs " + std::to_string(length) + " bytes, " +
                std::to_string(size - pos) + " left";
    return r;
  }
  r.packet.value = std::string_view(reinterpret_cast<const char*>(data + pos), length);
  r.packet.size = pos + length;
  if (r.packet.key != expected) {
    r.status = ParseStatus::kUnknownKey;
    r.message = "packet with key " + key_hex(r.packet.key) + ", expected " + key_hex(expected);
    return r;
  }
  r.status = ParseStatus::kOk;
  return r;
}

std::vector<std::string_view> parse_all(const std::uint8_t* data, std::size_t size,
                                        const Key& expected) {
  std::vector<std::string_view> values;
  std::size_t offset = 0;
  do {
    const ParseResult r = parse(data + offset, size - offset, expected);
    if (r.status != ParseStatus::kOk)
      throw CorruptFileError("KLV packet at byte " + std::to_string(offset) + ": " + r.message);
    values.push_back(r.packet.value);
    offset += r.packet.size;
  } while (offset < size);
  return values;
}

}  // namespace hesp::klv
