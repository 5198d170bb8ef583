// SPDX-License-Identifier: LGPL-2.1-or-later
// tsrecordsink's file names, one rule each: the `location` pattern (at most one %d-style
// conversion, "%d", "%5d", "%05d", numbers rotated files, and "%%" is a literal percent
// sign; the location is user text, never a printf format: it is parsed and expanded by
// hand), the temp name a file has while it is written, and the name a recovery writes to.
// The sink, keepup-ts-recover and keepup-record all use these.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace keepup::ts {

// What replaces the .ts extension while a file is written: cam1.ts is cam1.recording.ts.
inline constexpr const char *kDefaultTempSuffix = ".recording.ts";

// "cam1.ts" (or "cam1.m2ts") -> "cam1" + suffix; other names just get the suffix.
std::string temp_path_for(const std::string &final_path,
                          std::string_view temp_suffix = kDefaultTempSuffix);
// Whether `path` is a temp name: it ends in the suffix, with something before it.
bool is_temp_name(std::string_view path, std::string_view temp_suffix = kDefaultTempSuffix);
// The final name a temp name stands for, with the .ts extension ("cam1.recording.ts" ->
// "cam1.ts"; a .m2ts recording's temp name maps to .ts too); "" when `path` is not one.
std::string final_path_for_temp(std::string_view temp_path,
                                std::string_view temp_suffix = kDefaultTempSuffix);
// "<stem>.recovered-<n>.ts" with the first n that does not exist yet.
std::string recovered_path_for(const std::string &final_path);

class LocationPattern {
public:
  // Widest number a conversion may ask for: "%0100000000d" would pad every name with a
  // hundred million zeros.
  static constexpr std::size_t kMaxWidth = 64;

  LocationPattern() = default;
  // Throws std::invalid_argument, naming the location, for any other conversion ("%s",
  // "%x", "%1"), more than one %d, or a width over kMaxWidth. A '%' at the very end is text.
  explicit LocationPattern(const std::string &location);

  bool numbered() const { return numbered_; }
  // The location as it was given.
  const std::string &text() const { return location_; }
  // The file name for rotation index `index`; without a %d, the location as it was given.
  std::string path(int index) const;

private:
  std::string location_;
  std::string before_, after_; // the text around the %d, "%%" folded to '%'
  bool numbered_ = false;
  bool zero_pad_ = false;
  std::size_t width_ = 0;
};

} // namespace keepup::ts
