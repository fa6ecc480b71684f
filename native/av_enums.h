// Reading FFmpeg's enum fields that may hold any int. Demuxers and decoders
// copy some bitstream values into them unchecked (a colour space of 205 from
// a crafted AV1 or MPEG-4 header, a fuzzer finding), and loading a value
// outside an enum's range as that enum type is undefined behaviour in C++.
// These read the field's bytes as an int instead.
#pragma once

#include <cstring>
#include <type_traits>

namespace framesnap {

template <typename Enum>
int rawEnumValue(const Enum& field) {
  static_assert(std::is_enum_v<Enum> && sizeof(Enum) == sizeof(int), "an int-sized enum field");
  int value = 0;
  std::memcpy(&value, &field, sizeof value);
  return value;
}

// The field's value when it lies in 0..count-1, else `fallback`.
template <typename Enum>
Enum checkedEnum(const Enum& field, int count, Enum fallback) {
  const int value = rawEnumValue(field);
  return value >= 0 && value < count ? static_cast<Enum>(value) : fallback;
}

}  // namespace framesnap
