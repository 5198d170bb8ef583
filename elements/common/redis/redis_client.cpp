// SPDX-License-Identifier: LGPL-2.1-or-later
#include "redis_client.hpp"

#include <hiredis/hiredis.h>

#include <sys/time.h>

namespace keepup::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply convert(const redisReply *r) {
  Reply out;
  if (!r)
    return out;
  switch (r->type) {
  case REDIS_REPLY_STATUS:
    out.type = Reply::Type::Status;
    out.str.assign(r->str, r->len);
    break;
  case REDIS_REPLY_ERROR:
    out.type = Reply::Type::Error;
    out.str.assign(r->str, r->len);
    break;
  case REDIS_REPLY_INTEGER:
    out.type = Reply::Type::Integer;
    out.integer = r->integer;
    break;
  case REDIS_REPLY_STRING:
    out.type = Reply::Type::String;
    out.str.assign(r->str, r->len);
    break;
  case REDIS_REPLY_ARRAY:
    out.type = Reply::Type::Array;
    out.elements.reserve(r->elements);
    for (size_t i = 0; i < r->elements; ++i)
      out.elements.push_back(convert(r->element[i]));
    break;
  default:
    out.type = Reply::Type::Nil;
  }
  return out;
}

void to_argv(const std::vector<std::string> &args, std::vector<const char *> *argv,
             std::vector<size_t> *lens) {
  argv->clear();
  lens->clear();
  for (const auto &a : args) {
    argv->push_back(a.data());
    lens->push_back(a.size());
  }
}

} // namespace

std::unique_ptr<Connection> Connection::open(const Uri &uri, std::chrono::milliseconds timeout,
                                             std::string *error) {
  redisContext *c = redisConnectWithTimeout(uri.host.c_str(), uri.port, to_timeval(timeout));
  if (!c || c->err) {
    if (error)
      *error = "cannot connect to " + uri.redacted() + ": " + (c ? c->errstr : "out of memory");
    if (c)
      redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, to_timeval(timeout));
  std::unique_ptr<Connection> conn(new Connection(c, uri));
  Reply reply;
  std::string err;
  if (!uri.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!uri.user.empty())
      auth.push_back(uri.user);
    auth.push_back(uri.password);
    if (!conn->command(auth, &reply, &err) || reply.is_error()) {
      if (error)
        *error = uri.redacted() + ": AUTH failed: " + (reply.is_error() ? reply.str : err);
      return nullptr;
    }
  }
  if (uri.db != 0) {
    if (!conn->command({"SELECT", std::to_string(uri.db)}, &reply, &err) || reply.is_error()) {
      if (error)
        *error = uri.redacted() + ": SELECT failed: " + (reply.is_error() ? reply.str : err);
      return nullptr;
    }
  }
  return conn;
}

Connection::~Connection() {
  if (c_)
    redisFree(c_);
}

std::string Connection::io_error() const {
  return uri_.redacted() + ": " +
         (c_->err ? std::string(c_->errstr) : std::string("connection lost"));
}

bool Connection::command(const std::vector<std::string> &args, Reply *reply, std::string *error) {
  if (broken_) {
    if (error)
      *error = uri_.redacted() + ": connection is broken";
    return false;
  }
  std::vector<const char *> argv;
  std::vector<size_t> lens;
  to_argv(args, &argv, &lens);
  auto *r = static_cast<redisReply *>(
      redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!r) {
    broken_ = true;
    if (error)
      *error = io_error();
    return false;
  }
  if (reply)
    *reply = convert(r);
  freeReplyObject(r);
  return true;
}

void Connection::append(const std::vector<std::string> &args) {
  if (broken_)
    return;
  std::vector<const char *> argv;
  std::vector<size_t> lens;
  to_argv(args, &argv, &lens);
  if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK)
    broken_ = true;
}

bool Connection::read_reply(Reply *reply, std::string *error) {
  if (broken_) {
    if (error)
      *error = uri_.redacted() + ": connection is broken";
    return false;
  }
  void *raw = nullptr;
  if (redisGetReply(c_, &raw) != REDIS_OK || !raw) {
    broken_ = true;
    if (error)
      *error = io_error();
    return false;
  }
  auto *r = static_cast<redisReply *>(raw);
  if (reply)
    *reply = convert(r);
  freeReplyObject(r);
  return true;
}

void Connection::set_timeout(std::chrono::milliseconds timeout) {
  redisSetTimeout(c_, to_timeval(timeout));
}

const std::string *StreamEntry::field(const std::string &name) const {
  for (const auto &[k, v] : fields)
    if (k == name)
      return &v;
  return nullptr;
}

std::vector<StreamEntry> parse_entries(const Reply &array) {
  std::vector<StreamEntry> out;
  if (array.type != Reply::Type::Array)
    return out;
  for (const auto &e : array.elements) {
    if (e.type != Reply::Type::Array || e.elements.empty())
      continue;
    StreamEntry entry;
    entry.id = e.elements[0].str;
    if (e.elements.size() > 1 && e.elements[1].type == Reply::Type::Array) {
      const auto &kv = e.elements[1].elements;
      for (size_t i = 0; i + 1 < kv.size(); i += 2)
        entry.fields.emplace_back(kv[i].str, kv[i + 1].str);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

} // namespace keepup::redis
