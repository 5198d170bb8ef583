// SPDX-License-Identifier: LGPL-2.1-or-later
#include "redis_uri.hpp"

#include <charconv>

namespace keepup::redis {
namespace {

bool parse_int(std::string_view s, int lo, int hi, int *out) {
  if (s.empty() || s.size() > 6)
    return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

// %XX decoding for user and password (RFC 3986 userinfo).
bool percent_decode(std::string_view in, std::string *out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size())
      return false;
    int v = 0;
    auto [p, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
    if (ec != std::errc() || p != in.data() + i + 3)
      return false;
    out->push_back(static_cast<char>(v));
    i += 2;
  }
  return true;
}

std::optional<Uri> fail(std::string *error, std::string msg) {
  if (error)
    *error = std::move(msg);
  return std::nullopt;
}

} // namespace

std::string Uri::redacted() const {
  // Appended piece by piece: GCC 12 -O3 reports a false -Wrestrict on "lit" + std::string&&.
  std::string s = "redis://";
  if (!user.empty() || !password.empty()) {
    s += user;
    s += ":***@";
  }
  const bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6)
    s += '[';
  s += host;
  if (ipv6)
    s += ']';
  s += ':';
  s += std::to_string(port);
  s += '/';
  s += std::to_string(db);
  return s;
}

std::optional<Uri> parse_uri(std::string_view text, std::string *error) {
  constexpr std::string_view kScheme = "redis://";
  if (text.substr(0, kScheme.size()) != kScheme)
    return fail(error, "not a redis:// URI: expected redis://[:password@]host[:port][/db]");
  std::string_view rest = text.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return fail(error, "query strings and fragments are not supported in a redis:// URI");
  Uri uri;
  // userinfo: everything up to the last '@' (passwords may contain '@' only percent-encoded,
  // but take the last one so an unencoded one still works).
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    std::string_view u =
        colon == std::string_view::npos ? std::string_view{} : userinfo.substr(0, colon);
    std::string_view pw = colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1);
    if (!percent_decode(u, &uri.user) || !percent_decode(pw, &uri.password))
      return fail(error, "bad percent-encoding in the redis:// user or password");
  }
  std::string_view hostport = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parse_int(db, 0, 15, &uri.db))
      return fail(error,
                  "redis:// database must be a number from 0 to 15, got '" + std::string(db) + "'");
  }
  std::string_view host = hostport, port;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos)
      return fail(error, "unterminated [IPv6] host in redis:// URI");
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return fail(error, "unexpected text after [IPv6] host in redis:// URI");
      port = after.substr(1);
      if (port.empty())
        return fail(error, "empty port in redis:// URI");
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
    if (port.empty())
      return fail(error, "empty port in redis:// URI");
  }
  if (host.empty())
    return fail(error, "redis:// URI has no host");
  uri.host = std::string(host);
  if (!port.empty() && !parse_int(port, 1, 65535, &uri.port))
    return fail(error,
                "redis:// port must be a number from 1 to 65535, got '" + std::string(port) + "'");
  return uri;
}

} // namespace keepup::redis
