// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ts_location.hpp"

#include "file_exists.hpp"

#include <cctype>
#include <charconv>
#include <stdexcept>

namespace keepup::ts {

static std::string strip_ts(const std::string &path) {
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash) &&
      (path.compare(dot, std::string::npos, ".ts") == 0 ||
       path.compare(dot, std::string::npos, ".m2ts") == 0))
    return path.substr(0, dot);
  return path;
}

std::string temp_path_for(const std::string &final_path, std::string_view temp_suffix) {
  return strip_ts(final_path).append(temp_suffix);
}

bool is_temp_name(std::string_view path, std::string_view temp_suffix) {
  return !temp_suffix.empty() && path.size() > temp_suffix.size() && path.ends_with(temp_suffix);
}

std::string final_path_for_temp(std::string_view temp_path, std::string_view temp_suffix) {
  if (!is_temp_name(temp_path, temp_suffix))
    return {};
  return std::string(temp_path.substr(0, temp_path.size() - temp_suffix.size())) + ".ts";
}

std::string recovered_path_for(const std::string &final_path) {
  const std::string stem = strip_ts(final_path);
  for (int n = 1;; ++n) {
    std::string candidate = stem + ".recovered-" + std::to_string(n) + ".ts";
    if (!keepup::file_exists(candidate))
      return candidate;
  }
}

LocationPattern::LocationPattern(const std::string &location) : location_(location) {
  std::string text; // the literal text read so far, "%%" folded
  int conversions = 0;
  for (std::size_t i = 0; i < location.size(); ++i) {
    if (location[i] != '%' || i + 1 == location.size()) {
      text += location[i];
      continue;
    }
    if (location[i + 1] == '%') {
      text += '%';
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    const bool zero = location[j] == '0';
    if (zero)
      ++j;
    const std::size_t digits = j;
    while (j < location.size() && std::isdigit(static_cast<unsigned char>(location[j])))
      ++j;
    if (j == location.size() || location[j] != 'd')
      throw std::invalid_argument("location '" + location + "' has an unsupported conversion '" +
                                  location.substr(i, 2) +
                                  "' (only %d, %05d and the like are allowed)");
    std::size_t width = 0;
    if (j > digits) {
      const auto [end, ec] = std::from_chars(location.data() + digits, location.data() + j, width);
      if (ec != std::errc() || end != location.data() + j || width > kMaxWidth)
        throw std::invalid_argument("location '" + location + "' asks for a %d wider than " +
                                    std::to_string(kMaxWidth) + " digits");
    }
    if (++conversions == 1) {
      before_ = text;
      text.clear();
      zero_pad_ = zero;
      width_ = width;
    }
    i = j;
  }
  if (conversions > 1)
    throw std::invalid_argument("location '" + location + "' has more than one %d pattern");
  numbered_ = conversions == 1;
  after_ = text;
}

std::string LocationPattern::path(int index) const {
  if (!numbered_)
    return location_;
  std::string number = std::to_string(index);
  if (number.size() < width_)
    number.insert(0, width_ - number.size(), zero_pad_ ? '0' : ' ');
  return before_ + number + after_;
}

} // namespace keepup::ts
