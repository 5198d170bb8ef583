// SPDX-License-Identifier: LGPL-2.1-or-later
// Where a publish target points: keepup-analyze --publish and anything else that turns one
// string into metapublish's method and location. Header-only plain C++ (the apps include it
// without linking the core).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keepup::metapublish {

enum class Method { file, redis };

struct Target {
  Method method = Method::file;
  std::string location; // the path, or the redis:// URI (checked by metapublish at start)
};

// "redis://..." -> redis; "file://PATH", "file:PATH" or a plain path -> file. Empty, an
// unknown scheme ("http://") or "file:" alone -> nullopt with *error set.
inline std::optional<Target> parse_target(std::string_view text, std::string *error) {
  auto fail = [&](std::string why) -> std::optional<Target> {
    if (error)
      *error = std::move(why);
    return std::nullopt;
  };
  if (text.empty())
    return fail("empty publish target (a redis:// URI, file:PATH or a path)");
  Target t;
  if (text.rfind("redis://", 0) == 0) {
    t.method = Method::redis;
    t.location = std::string(text);
    return t;
  }
  if (text.rfind("file://", 0) == 0) {
    text.remove_prefix(7);
  } else if (text.rfind("file:", 0) == 0) {
    text.remove_prefix(5);
  } else if (const auto scheme = text.find("://"); scheme != std::string_view::npos) {
    std::string why = "unsupported publish target scheme '";
    why.append(text.substr(0, scheme));
    why += "' (redis:// or file:)";
    return fail(std::move(why));
  }
  if (text.empty())
    return fail("file: publish target without a path");
  t.method = Method::file;
  t.location = std::string(text);
  return t;
}

} // namespace keepup::metapublish
