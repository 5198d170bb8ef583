// SPDX-License-Identifier: LGPL-2.1-or-later
// A blocking Redis connection over hiredis: connect with a timeout, AUTH and SELECT from the
// URI, commands as argument vectors (binary-safe, no format strings), pipelining, replies
// copied into plain values. Not thread-safe: one connection per thread. No GStreamer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "redis_uri.hpp"

struct redisContext;

namespace keepup::redis {

struct Reply {
  enum class Type { Nil, Status, Error, Integer, String, Array };
  Type type = Type::Nil;
  std::string str; // Status, Error, String
  long long integer = 0;
  std::vector<Reply> elements; // Array

  bool is_error() const { return type == Type::Error; }
  bool is_nil() const { return type == Type::Nil; }
};

class Connection {
public:
  // Connects, authenticates and selects the URI's db. Returns nullptr and sets *error
  // (a message naming the address, password redacted) when any step fails.
  static std::unique_ptr<Connection> open(const Uri &uri, std::chrono::milliseconds timeout,
                                          std::string *error);
  ~Connection();
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  // One command, one reply. An I/O failure (server gone, timeout) returns false with *error
  // set, and the connection is broken from then on (ok() == false). A Redis error reply is
  // not an I/O failure: it returns true with reply->type == Error.
  bool command(const std::vector<std::string> &args, Reply *reply, std::string *error);

  // Pipelining: queue commands with append(), then flush() and read the replies in order.
  void append(const std::vector<std::string> &args);
  bool read_reply(Reply *reply, std::string *error);

  // Per-command I/O timeout (the connect timeout applies until this is called).
  void set_timeout(std::chrono::milliseconds timeout);

  bool ok() const { return !broken_; }
  const Uri &uri() const { return uri_; }

private:
  Connection(redisContext *c, Uri uri) : c_(c), uri_(std::move(uri)) {}
  std::string io_error() const;
  redisContext *c_;
  Uri uri_;
  bool broken_ = false;
};

// Small helpers for the reply shapes Redis stream commands return.
// Field/value pairs of one stream entry ([id, [f1, v1, f2, v2, ...]]).
struct StreamEntry {
  std::string id;
  std::vector<std::pair<std::string, std::string>> fields;
  const std::string *field(const std::string &name) const;
};
// Reads an array of entries (XRANGE reply, or one stream's entry list of XREADGROUP /
// XAUTOCLAIM). Entries whose fields were deleted (nil) come back with no fields.
std::vector<StreamEntry> parse_entries(const Reply &array);

} // namespace keepup::redis
