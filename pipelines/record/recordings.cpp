// SPDX-License-Identifier: LGPL-2.1-or-later
#include "recordings.hpp"

#include <algorithm>
#include <cctype>

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
  if (!ends_with(".ts") || ends_with(".recording.ts"))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
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
