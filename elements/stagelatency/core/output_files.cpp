// SPDX-License-Identifier: LGPL-2.1-or-later
#include "output_files.hpp"

#include <cerrno>
#include <cstring>

namespace keepup::stagelatency {

bool JsonLinesFile::open(const std::string &path, std::string &error) {
  std::lock_guard lk(lock_);
  if (file_)
    std::fclose(file_);
  file_ = std::fopen(path.c_str(), "w");
  if (!file_)
    error = std::strerror(errno);
  return file_ != nullptr;
}

bool JsonLinesFile::is_open() {
  std::lock_guard lk(lock_);
  return file_ != nullptr;
}

void JsonLinesFile::write(const Json &value) {
  const std::string line = dump_line(value) + '\n';
  std::lock_guard lk(lock_);
  if (!file_)
    return;
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

void JsonLinesFile::close() {
  std::lock_guard lk(lock_);
  if (file_)
    std::fclose(file_);
  file_ = nullptr;
}

bool ChromeTraceFile::open(const std::string &path, std::string &error) {
  finish();
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) {
    error = std::strerror(errno);
    return false;
  }
  first_ = true;
  std::fputs(R"({"displayTimeUnit":"ms","traceEvents":[)", file_);
  return true;
}

void ChromeTraceFile::add(const Json &event) {
  if (!file_)
    return;
  if (!first_)
    std::fputs(",\n", file_);
  first_ = false;
  const std::string text = dump_line(event);
  std::fwrite(text.data(), 1, text.size(), file_);
}

void ChromeTraceFile::finish() {
  if (!file_)
    return;
  std::fputs("]}\n", file_);
  std::fclose(file_);
  file_ = nullptr;
}

} // namespace keepup::stagelatency
