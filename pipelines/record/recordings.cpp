// SPDX-License-Identifier: LGPL-2.1-or-later
#include "recordings.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "ts_location.hpp"

namespace keepup::whip {

bool servable_recording_name(const std::string &name) {
  if (name.size() < 4 || name.size() > 200 || name.front() == '.')
    return false;
  if (name.find("..") != std::string::npos)
    return false;
  const auto ends_with = [&](const std::string &suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (!ends_with(".ts") || keepup::ts::is_temp_name(name))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

RecordingName parse_recording_name(const std::string &name) {
  RecordingName r;
  const auto digits = [&](std::size_t at, std::size_t n) {
    if (at + n > name.size())
      return false;
    for (std::size_t i = at; i < at + n; ++i)
      if (name[i] < '0' || name[i] > '9')
        return false;
    return true;
  };
  // "-YYYYMMDDTHHMMSSZ": the last such run in the name (a stream name may hold digits).
  std::size_t time_at = std::string::npos;
  for (std::size_t i = 1; i + 17 <= name.size(); ++i)
    if (name[i - 1] == '-' && digits(i, 8) && name[i + 8] == 'T' && digits(i + 9, 6) &&
        name[i + 15] == 'Z')
      time_at = i;
  if (time_at == std::string::npos)
    return r;
  const auto num = [&](std::size_t at, std::size_t n) { return std::stoi(name.substr(at, n)); };
  std::tm tm{};
  tm.tm_year = num(time_at, 4) - 1900;
  tm.tm_mon = num(time_at + 4, 2) - 1;
  tm.tm_mday = num(time_at + 6, 2);
  tm.tm_hour = num(time_at + 9, 2);
  tm.tm_min = num(time_at + 11, 2);
  tm.tm_sec = num(time_at + 13, 2);
  r.start_utc = static_cast<long long>(timegm(&tm));
  r.stream = name.substr(0, time_at - 1);
  // ".<digits>.ts" right after the time (or after "-n"): a segment.
  std::size_t at = time_at + 16;
  if (at < name.size() && name[at] == '-')
    while (++at < name.size() && name[at] >= '0' && name[at] <= '9') {
    }
  if (at < name.size() && name[at] == '.') {
    std::size_t end = at + 1;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9')
      ++end;
    if (end > at + 1 && end - at - 1 <= 9 && name.compare(end, std::string::npos, ".ts") == 0)
      r.segment = std::stoi(name.substr(at + 1, end - at - 1));
  }
  return r;
}

std::vector<std::string> files_to_delete(const std::vector<RecordedFile> &files,
                                         const RetentionLimits &limits, std::int64_t now_s) {
  std::vector<const RecordedFile *> by_age;
  std::uint64_t total = 0;
  for (const auto &f : files) {
    total += f.bytes;
    by_age.push_back(&f);
  }
  std::sort(by_age.begin(), by_age.end(), [](const RecordedFile *a, const RecordedFile *b) {
    return a->mtime_s != b->mtime_s ? a->mtime_s < b->mtime_s : a->path < b->path;
  });
  std::vector<std::string> out;
  for (const RecordedFile *f : by_age) {
    if (f->being_written)
      continue;
    const bool too_old = limits.max_age_hours > 0 &&
                         static_cast<double>(now_s - f->mtime_s) > limits.max_age_hours * 3600.0;
    const bool too_big = limits.max_bytes > 0 && total > limits.max_bytes;
    if (too_old || too_big) {
      out.push_back(f->path);
      total -= f->bytes;
    }
  }
  return out;
}

HookCommand parse_hook_command(const std::string &command) {
  HookCommand r;
  std::string word;
  bool in_word = false;
  std::size_t i = 0;
  const auto fail = [&](const char *why) {
    r.argv.clear();
    r.error = why;
    return r;
  };
  while (i < command.size()) {
    const char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word)
        r.argv.push_back(word);
      word.clear();
      in_word = false;
      ++i;
    } else if (c == '\'') {
      const auto end = command.find('\'', i + 1);
      if (end == std::string::npos)
        return fail("unterminated ' quote");
      word += command.substr(i + 1, end - i - 1);
      in_word = true;
      i = end + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < command.size()) {
        const char d = command[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < command.size() &&
            (command[i + 1] == '"' || command[i + 1] == '\\' || command[i + 1] == '$' ||
             command[i + 1] == '`')) {
          word += command[i + 1];
          i += 2;
          continue;
        }
        word += d;
        ++i;
      }
      if (!closed)
        return fail("unterminated \" quote");
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= command.size())
        return fail("trailing backslash");
      word += command[i + 1];
      in_word = true;
      i += 2;
    } else {
      word += c;
      in_word = true;
      ++i;
    }
  }
  if (in_word)
    r.argv.push_back(word);
  if (r.argv.empty())
    return fail("empty command");
  return r;
}

HookQueue::Submit HookQueue::submit(const std::string &path) {
  if (running_ < max_running_) {
    ++running_;
    return Submit::kStartNow;
  }
  if (waiting_.size() >= max_waiting_)
    return Submit::kRefused;
  waiting_.push_back(path);
  return Submit::kQueued;
}

std::optional<std::string> HookQueue::finished() {
  if (running_ > 0)
    --running_;
  if (waiting_.empty() || running_ >= max_running_)
    return std::nullopt;
  ++running_;
  std::string next = waiting_.front();
  waiting_.pop_front();
  return next;
}

} // namespace keepup::whip
