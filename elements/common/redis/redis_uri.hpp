// SPDX-License-Identifier: LGPL-2.1-or-later
// redis://[[user]:password@]host[:port][/db] — the one place keepup reads a Redis address.
// Pure C++: used by metapublish, keepup-analyze --worker/--submit and keepup-record --cluster.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keepup::redis {

struct Uri {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;     // empty: AUTH with the password only (Redis < 6 style)
  std::string password; // empty: no AUTH
  int db = 0;

  // The address without the password, for logs and messages.
  std::string redacted() const;
};

// Parses a redis:// URI. On failure returns nullopt and sets *error to a message naming the
// bad part. Accepted: redis://host, redis://host:port, redis://:pw@host:port/3,
// redis://user:pw@[::1]:6380/0. Rejected: other schemes, empty host, port outside 1..65535,
// db outside 0..15 or not a number, query strings.
std::optional<Uri> parse_uri(std::string_view text, std::string *error);

} // namespace keepup::redis
