// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-ts-recover's core (ts_writer: recover_ts) on arbitrary files: a crashed recording's
// temp file can hold anything. Files live in a private scratch folder (tmpfs when there is
// one), removed after every input.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "file_exists.hpp"
#include "fuzz_check.hpp"
#include "ts_fuzz_util.hpp"
#include "ts_packets.hpp"
#include "ts_writer.hpp"

namespace ts = keepup::ts;

namespace {

const std::string &scratch_dir() {
  static const std::string dir = [] {
    std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "";
    if (base.empty()) {
      const char *tmp = std::getenv("TMPDIR");
      base = tmp && *tmp ? tmp : "/tmp";
    }
    std::string templ = base + "/keepup-ts-recover-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(templ.data()) != nullptr);
    std::atexit([] { rmdir(scratch_dir().c_str()); });
    return templ;
  }();
  return dir;
}

std::vector<uint8_t> read_all(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_all(const std::string &path, const uint8_t *data, size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  FUZZ_CHECK(f.good());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string in = scratch_dir() + "/cam1.recording.ts";
  const std::string out = scratch_dir() + "/cam1.recovered-1.ts";
  write_all(in, data, size);
  const std::vector<uint8_t> input(data, data + size);

  const ts::RecoveryReport r = ts::recover_ts(in, out);

  FUZZ_CHECK(read_all(in) == input); // never modifies its input
  FUZZ_CHECK(!keepup::file_exists(out + ".partial"));
  if (!r.ok) {
    FUZZ_CHECK(!r.error.empty());
    FUZZ_CHECK(!keepup::file_exists(out)); // nothing written
  } else {
    FUZZ_CHECK(r.error.empty());
    const std::vector<uint8_t> kept = read_all(out);
    // A whole number of packets, each starting with 0x47, each one of the input's, in order.
    FUZZ_CHECK(r.packets > 0);
    FUZZ_CHECK(kept.size() == r.kept_bytes && r.kept_bytes == r.packets * r.packet_size);
    keepup::fuzz::check_packets_from(kept, input, r.packet_size);
    FUZZ_CHECK(r.input_bytes == size);
    FUZZ_CHECK(r.skipped_bytes + r.kept_bytes + r.cut_tail_bytes == r.input_bytes);
    FUZZ_CHECK(r.duration_ns >= 0);
    // What was kept is the start of what the aligner finds in the whole file.
    ts::PacketAligner aligner(r.packet_size);
    std::vector<uint8_t> aligned;
    aligner.push(data, size, [&](const uint8_t *d, size_t packets) {
      aligned.insert(aligned.end(), d, d + packets * r.packet_size);
    });
    FUZZ_CHECK(aligned.size() >= kept.size());
    FUZZ_CHECK(std::equal(kept.begin(), kept.end(), aligned.begin()));
  }
  unlink(in.c_str());
  unlink(out.c_str());
  return 0;
}
