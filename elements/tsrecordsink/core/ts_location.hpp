// SPDX-License-Identifier: LGPL-2.1-or-later
// tsrecordsink's `location` rule: at most one %d-style conversion ("%d", "%5d", "%05d")
// numbers rotated files, and "%%" is a literal percent sign. The location is user text, never
// a printf format: it is parsed and expanded by hand.
#pragma once

#include <cstddef>
#include <string>

namespace keepup::ts {

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
