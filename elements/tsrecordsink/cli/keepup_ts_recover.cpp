// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-ts-recover: turn TS recordings cut short by a crash into playable files.
//
//   keepup-ts-recover FILE... [-o OUT]
//
// For each FILE (typically a tsrecordsink temp file, cam1.recording.ts), writes the
// playable part to OUT (one FILE only) or to <name>.recovered-<n>.ts beside it, and reports
// what it kept. The input is never modified. A file counts as recovered only when the output
// plays: a PAT, a PMT, and at least one complete PES on a stream the PMT lists (0x47 bytes
// at a packet stride are not enough); sync is searched over the whole file. Otherwise it
// says what it found and writes nothing. Exit status: 0 when every file was recovered, 1
// when one held nothing playable or could not be read or written, 2 on bad usage.
#include "ts_writer.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace {

void usage(const char *argv0) {
  std::fprintf(stderr, "usage: %s FILE... [-o OUT]\n", argv0);
}

std::string default_output(const std::string &in) {
  // cam1.recording.ts -> cam1.recovered-<n>.ts; anything else -> <name>.recovered-<n>.ts
  namespace ts = keepup::ts;
  return ts::recovered_path_for(ts::is_temp_name(in) ? ts::final_path_for_temp(in) : in);
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> inputs;
  std::string output;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-o" || a == "--output") {
      if (i + 1 >= argc) {
        usage(argv[0]);
        return 2;
      }
      output = argv[++i];
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      usage(argv[0]);
      return 2;
    } else {
      inputs.push_back(a);
    }
  }
  if (inputs.empty() || (!output.empty() && inputs.size() > 1)) {
    usage(argv[0]);
    if (inputs.size() > 1)
      std::fprintf(stderr, "-o takes one input file only\n");
    return 2;
  }
  int status = 0;
  for (const auto &in : inputs) {
    const std::string out = output.empty() ? default_output(in) : output;
    const keepup::ts::RecoveryReport r = keepup::ts::recover_ts(in, out);
    if (!r.ok) {
      std::fprintf(stderr, "%s: %s\n", in.c_str(), r.error.c_str());
      status = 1;
      continue;
    }
    std::printf("%s -> %s: kept %llu of %llu bytes (%llu packets of %zu bytes, %.2f s), "
                "cut %llu trailing bytes, skipped %llu bytes of garbage; %s\n",
                in.c_str(), out.c_str(), static_cast<unsigned long long>(r.kept_bytes),
                static_cast<unsigned long long>(r.input_bytes),
                static_cast<unsigned long long>(r.packets), r.packet_size,
                static_cast<double>(r.duration_ns) / 1e9,
                static_cast<unsigned long long>(r.cut_tail_bytes),
                static_cast<unsigned long long>(r.skipped_bytes), r.contents.c_str());
  }
  return status;
}
