// Fuzzes Range parsing (RFC 9110 section 14): the answer always lies inside the file.
#include <cstring>
#include <string>

#include "common/byte_range.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace sharelink;
using sharelink::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first 8 bytes choose the file size (small sizes often, huge ones too); the rest is the header.
  std::uint64_t file_size = 0;
  if (size >= 8) {
    std::memcpy(&file_size, data, 8);
    if ((file_size & 0xFF) < 0xC0) file_size %= 4096;
    data += 8;
    size -= 8;
  }
  const std::string_view header = sharelink::fuzz::text_of(data, size);
  const ByteRange range = parse_byte_range(header, file_size);
  switch (range.kind) {
    case ByteRange::Kind::full:
      require(range.first == 0 && range.length == file_size, "full is the whole file");
      break;
    case ByteRange::Kind::partial: {
      require(range.length > 0, "a partial range is not empty");
      require(range.first < file_size, "a partial range starts inside the file");
      require(range.length <= file_size - range.first, "a partial range ends inside the file");
      const std::string text = content_range(range, file_size);
      require(text == "bytes " + std::to_string(range.first) + "-" +
                          std::to_string(range.first + range.length - 1) + "/" + std::to_string(file_size),
              "Content-Range names the range");
      break;
    }
    case ByteRange::Kind::unsatisfiable:
      break;
  }
  // Surrounding whitespace is not part of the value.
  const ByteRange padded = parse_byte_range(" \t" + std::string(header) + "\t ", file_size);
  require(padded.kind == range.kind && padded.first == range.first && padded.length == range.length,
          "whitespace around the value changes nothing");
  return 0;
}
