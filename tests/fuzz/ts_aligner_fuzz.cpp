// SPDX-License-Identifier: LGPL-2.1-or-later
// tsrecordsink's packet scanner (ts_packets: PacketAligner, PsiCache, DurationTracker and the
// header readers) on arbitrary byte streams cut into arbitrary buffers.
// Input: byte 0 picks the stride (bit 0: 192-byte m2ts) and seeds the buffer sizes; the rest
// is the stream.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_check.hpp"
#include "ts_fuzz_util.hpp"
#include "ts_packets.hpp"

namespace ts = keepup::ts;

namespace {

struct Run {
  std::vector<uint8_t> out;
  uint64_t skipped = 0, unsynced = 0;
  size_t left = 0;
  bool ever_synced = false;
};

// Feeds `in` in buffers whose sizes come from `seed` (0: one buffer).
Run align(ts::PacketAligner &aligner, const std::vector<uint8_t> &in, unsigned seed) {
  Run r;
  const size_t unit = aligner.packet_size();
  auto sink = [&](const uint8_t *d, size_t packets) {
    FUZZ_CHECK(packets > 0);
    r.out.insert(r.out.end(), d, d + packets * unit);
  };
  if (seed == 0) {
    aligner.push(in.data(), in.size(), sink);
  } else {
    unsigned state = seed;
    for (size_t pos = 0; pos < in.size();) {
      state = state * 1103515245u + 12345u;
      // Mostly odd sizes around a packet, sometimes single bytes and empty buffers.
      const size_t want = (state >> 16) % 7 == 0 ? (state >> 8) % 3 : (state >> 16) % 450;
      const size_t n = std::min(want, in.size() - pos);
      aligner.push(in.data() + pos, n, sink);
      pos += n;
    }
  }
  r.skipped = aligner.skipped_bytes();
  r.ever_synced = aligner.ever_synced();
  r.left = aligner.finish();
  r.unsynced = aligner.unsynced_bytes();
  return r;
}

void check_run(const Run &r, const std::vector<uint8_t> &in, size_t unit) {
  keepup::fuzz::check_packets_from(r.out, in, unit);
  // Every input byte is accounted for exactly once: in a packet, skipped, or left over.
  FUZZ_CHECK(r.out.size() + r.skipped + r.left == in.size());
  FUZZ_CHECK(r.unsynced <= r.skipped + r.left);
  FUZZ_CHECK(r.ever_synced == !r.out.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  const size_t unit = (data[0] & 1) ? ts::kM2tsPacket : ts::kPacket;
  const unsigned seed = data[0] | 1u;
  const std::vector<uint8_t> in(data + 1, data + size);

  ts::PacketAligner whole(unit);
  const Run one = align(whole, in, 0);
  check_run(one, in, unit);

  // Buffer edges must not change what comes out (the element sees whatever upstream pushes).
  ts::PacketAligner pieces(unit);
  const Run cut = align(pieces, in, seed);
  check_run(cut, in, unit);
  FUZZ_CHECK(cut.out == one.out);
  FUZZ_CHECK(cut.skipped == one.skipped && cut.left == one.left);

  // reset() gives a fresh aligner.
  pieces.reset();
  const Run again = align(pieces, in, 0);
  FUZZ_CHECK(again.out == one.out && again.skipped == one.skipped && again.left == one.left &&
             again.unsynced == one.unsynced);

  // The header readers and the caches on each packet, copied to exactly 188 bytes so the
  // sanitizer sees any read past its end.
  ts::PsiCache psi;
  ts::DurationTracker duration;
  std::vector<std::vector<uint8_t>> seen;
  for (size_t at = 0; at < one.out.size(); at += unit) {
    std::vector<uint8_t> p(one.out.begin() +
                               static_cast<std::ptrdiff_t>(at + ts::sync_offset(unit)),
                           one.out.begin() + static_cast<std::ptrdiff_t>(at + unit));
    FUZZ_CHECK(p.size() == ts::kPacket);
    FUZZ_CHECK(ts::payload_offset(p.data()) <= ts::kPacket);
    if (auto pcr = ts::pcr_base(p.data()))
      FUZZ_CHECK(*pcr < (uint64_t{1} << 33));
    if (auto pes = ts::pes_start(p.data()); pes && pes->pts)
      FUZZ_CHECK(*pes->pts < (uint64_t{1} << 33));
    psi.observe(p.data());
    duration.observe(p.data());
    seen.push_back(std::move(p));
  }
  FUZZ_CHECK(duration.duration_ns() >= 0);
  // Tables to start a rotated file with: whole packets, each one that was seen.
  const auto tables = psi.tables();
  FUZZ_CHECK(tables.size() % ts::kPacket == 0);
  for (size_t at = 0; at < tables.size(); at += ts::kPacket) {
    bool found = false;
    for (const auto &p : seen)
      found = found || std::memcmp(p.data(), tables.data() + at, ts::kPacket) == 0;
    FUZZ_CHECK(found);
  }
  return 0;
}
