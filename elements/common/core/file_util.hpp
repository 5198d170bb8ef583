// SPDX-License-Identifier: LGPL-2.1-or-later
// Whole-file reading for the command-line tools (plain C++).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace keepup {

// The file's bytes into `out`; false when it cannot be opened.
inline bool read_whole_file(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}

} // namespace keepup
