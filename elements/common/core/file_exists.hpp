// SPDX-License-Identifier: LGPL-2.1-or-later
// Whether a path names anything on disk (file, directory, FIFO, ...), for the cores and tools.
#pragma once

#include <string>
#include <sys/stat.h>

namespace keepup {

// True when stat() succeeds: a dangling symlink or an unreadable directory counts as absent.
inline bool file_exists(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

} // namespace keepup
