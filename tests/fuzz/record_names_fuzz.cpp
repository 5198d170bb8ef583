// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's file-name and command rules (recordings.cpp: servable_recording_name,
// parse_recording_name, parse_hook_command). Input: line 1 a file name from a GET
// /recordings/<name> URL, the rest an --on-segment-complete command.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "recordings.hpp"

namespace whip = keepup::whip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  const auto nl = text.find('\n');
  const std::string name = text.substr(0, nl);
  const std::string command = nl == std::string::npos ? std::string() : text.substr(nl + 1);

  // A servable name never leaves the folder and is never a file being written.
  if (whip::servable_recording_name(name)) {
    FUZZ_CHECK(name.find('/') == std::string::npos && name.find('\\') == std::string::npos);
    FUZZ_CHECK(name.find("..") == std::string::npos && name.front() != '.');
    FUZZ_CHECK(name.size() >= 4 && name.compare(name.size() - 3, 3, ".ts") == 0);
    FUZZ_CHECK(name.size() < 13 || name.compare(name.size() - 13, 13, ".recording.ts") != 0);
    for (char c : name)
      FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f);
  }
  const whip::RecordingName n = whip::parse_recording_name(name);
  FUZZ_CHECK(n.segment >= -1);
  if (!n.stream.empty())
    FUZZ_CHECK(name.rfind(n.stream + "-", 0) == 0);
  else if (n.start_utc == -1)
    FUZZ_CHECK(n.segment == -1); // no time in the name: nothing else is read from it

  // A command splits into words or says why not; never both, never an empty argv.
  const whip::HookCommand cmd = whip::parse_hook_command(command);
  FUZZ_CHECK(cmd.error.empty() != cmd.argv.empty());
  // Splitting is stable: words without quotes or blanks split back to themselves.
  if (cmd.error.empty()) {
    bool plain = true;
    std::string joined;
    for (const auto &w : cmd.argv) {
      plain = plain && !w.empty() && w.find_first_of(" \t\n'\"\\") == std::string::npos;
      joined += (joined.empty() ? "" : " ") + w;
    }
    if (plain)
      FUZZ_CHECK(whip::parse_hook_command(joined).argv == cmd.argv);
  }
  return 0;
}
