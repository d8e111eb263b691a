// SPDX-License-Identifier: LGPL-2.1-or-later
// The KLV codec (gst/klv/klv_codec.h) on arbitrary bytes, as `hesp read-metadata` and
// hespklvdecode meet them in a stream: parse() never reads outside the input and says why it
// refuses, an accepted packet encodes back to the same key and value, and parse_all() either
// returns every packet or throws CorruptFileError.
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "hesp/error.h"
#include "klv/klv_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using hesp::klv::ParseStatus;
  // A small limit as well as the default, so that the oversized path is reached with short inputs.
  for (std::size_t limit : {hesp::klv::kMaxValueSize, std::size_t{64}}) {
    const auto r = hesp::klv::parse(data, size, hesp::klv::kFrameJsonKey, limit);
    if (r.status == ParseStatus::kOk || r.status == ParseStatus::kUnknownKey) {
      HESP_FUZZ_CHECK(r.packet.size <= size);
      HESP_FUZZ_CHECK(r.packet.value.size() <= limit);
      HESP_FUZZ_CHECK(r.packet.value.data() >= reinterpret_cast<const char*>(data));
      HESP_FUZZ_CHECK(r.packet.value.data() + r.packet.value.size() <=
                      reinterpret_cast<const char*>(data) + size);
      HESP_FUZZ_CHECK((r.status == ParseStatus::kOk) == (r.packet.key == hesp::klv::kFrameJsonKey));
      // Encoders write the shortest BER length; an input may use a longer one for the same value.
      const auto again = hesp::klv::encode(r.packet.key, r.packet.value);
      HESP_FUZZ_CHECK(again.size() <= r.packet.size);
      const auto back = hesp::klv::parse(again.data(), again.size(), r.packet.key, limit);
      HESP_FUZZ_CHECK(back.status == ParseStatus::kOk && back.packet.value == r.packet.value);
    } else {
      HESP_FUZZ_CHECK(!r.message.empty());
    }
  }
  try {
    std::size_t total = 0;
    for (const auto& value : hesp::klv::parse_all(data, size)) total += value.size();
    HESP_FUZZ_CHECK(total <= size);
  } catch (const hesp::CorruptFileError&) {
  }
  return 0;
}
