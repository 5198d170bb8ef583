// SPDX-License-Identifier: LGPL-2.1-or-later
// MPEG-TS packet handling without GStreamer: alignment of an arbitrary byte stream into whole
// packets (188, or 192 for m2ts with its 4-byte prefix), lost-sync recovery, and the few
// header fields a recorder needs (PID, random access, PCR, PES PTS, PAT/PMT).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace keepup::ts {

inline constexpr uint8_t kSyncByte = 0x47;
inline constexpr size_t kPacket = 188;
inline constexpr size_t kM2tsPacket = 192;

// Where the 188-byte TS packet starts inside one unit of `size` bytes.
inline size_t sync_offset(size_t packet_size) {
  return packet_size == kM2tsPacket ? 4 : 0;
}

// Header fields of one 188-byte TS packet (p points at the 0x47).
inline uint16_t pid(const uint8_t *p) {
  return static_cast<uint16_t>(((p[1] & 0x1f) << 8) | p[2]);
}
inline bool payload_unit_start(const uint8_t *p) {
  return (p[1] & 0x40) != 0;
}
inline bool has_adaptation(const uint8_t *p) {
  return (p[3] & 0x20) != 0;
}
inline bool has_payload(const uint8_t *p) {
  return (p[3] & 0x10) != 0;
}
inline bool random_access(const uint8_t *p) {
  return has_adaptation(p) && p[4] > 0 && (p[5] & 0x40) != 0;
}
std::optional<uint64_t> pcr_base(const uint8_t *p); // 90 kHz units
size_t payload_offset(const uint8_t *p);            // 188 when there is no payload
// PES start in this packet: its PTS (90 kHz), and its PES_packet_length (0 = unbounded).
struct PesStart {
  std::optional<uint64_t> pts;
  uint32_t length = 0;
};
std::optional<PesStart> pes_start(const uint8_t *p);

// 33-bit 90 kHz difference, wrap-aware, in ns.
int64_t ticks_90k_to_ns(uint64_t from, uint64_t to);

// Splits a byte stream into whole packets. Partial packets at chunk edges are carried over;
// when a packet does not start with the sync byte, sync is re-found (three sync bytes at
// packet stride) and the skipped bytes are counted.
class PacketAligner {
public:
  // Called with runs of whole, sync-checked packets: data, number of packets.
  using Sink = std::function<void(const uint8_t *data, size_t packets)>;

  explicit PacketAligner(size_t packet_size = kPacket);
  void push(const uint8_t *data, size_t len, const Sink &sink);
  // End of stream: whatever is left cannot be a whole packet; returns its size.
  size_t finish();
  void reset();

  size_t packet_size() const { return size_; }
  bool ever_synced() const { return ever_synced_; }
  uint64_t skipped_bytes() const { return skipped_; }   // bytes dropped to re-find sync
  uint64_t unsynced_bytes() const { return unsynced_; } // bytes seen before the first lock

private:
  bool sync_at(const uint8_t *unit) const { return unit[offset_] == kSyncByte; }
  void push_synced(const uint8_t *data, size_t len, const Sink &sink);
  void search(const Sink &sink);

  size_t size_;
  size_t offset_;
  bool synced_ = false;
  bool ever_synced_ = false;
  std::vector<uint8_t> carry_;  // synced: the start of the next packet
  std::vector<uint8_t> search_; // unsynced: bytes in which sync is being looked for
  uint64_t skipped_ = 0;
  uint64_t unsynced_ = 0;
};

// Remembers the newest PAT and PMT packets, so a new file (rotation) can start with them
// and be playable from its first byte. Single-packet PSI sections, as mpegtsmux writes.
class PsiCache {
public:
  void observe(const uint8_t *packet); // 188-byte packet
  // The PAT then the PMTs, 188 bytes each; empty until a PAT and a PMT were seen.
  std::vector<uint8_t> tables() const;

private:
  std::vector<uint8_t> pat_;
  std::vector<uint16_t> pmt_pids_;
  std::vector<std::vector<uint8_t>> pmts_;
};

// Tracks the PCR span (else the PTS span) of what was written, for a file's duration.
class DurationTracker {
public:
  void observe(const uint8_t *packet);
  void reset() { *this = DurationTracker(); }
  int64_t duration_ns() const;

private:
  std::optional<uint16_t> pcr_pid_;
  std::optional<uint64_t> first_pcr_, last_pcr_;
  std::optional<uint64_t> first_pts_, last_pts_;
};

} // namespace keepup::ts
