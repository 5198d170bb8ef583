// SPDX-License-Identifier: LGPL-2.1-or-later
// What an aligned MPEG-TS packet stream holds, for recovery: where the playable part ends
// (no trailing incomplete PES) and whether it plays at all. A recovered file is playable
// when a PAT (CRC checked) lists a PMT, that PMT (CRC checked) lists an elementary stream,
// and after that PMT the stream carries at least one complete PES (an access unit: from a
// payload-unit start with the 00 00 01 prefix to its declared length, or to the next start
// on the same PID, with no continuity-counter gap in between). 0x47 bytes at a packet stride alone
// (a file of 0x47, random data cut into packets) are not. PSI sections must fit in one packet, as
// mpegtsmux writes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace keepup::ts {

// CRC-32/MPEG-2 (PSI sections): 0 over a whole section including its CRC field.
uint32_t crc32_mpeg(const uint8_t *data, size_t len);

struct ElementaryStream {
  uint16_t pid = 0;
  uint8_t stream_type = 0;
  uint64_t access_units = 0; // complete PES after the PMT that lists it
};

struct ScanResult {
  size_t packet_size = 0; // 0: the stream never synced
  uint64_t packets = 0;
  bool pat = false;               // a valid PAT
  std::vector<uint16_t> pmt_pids; // the programs' PMT PIDs it lists
  bool pmt = false;               // a valid PMT on one of them
  std::vector<ElementaryStream> streams;
  uint64_t pes_starts = 0;       // PES starts on any PID
  uint64_t playable_end = 0;     // bytes: whole packets up to the newest incomplete PES
  bool playable() const;         // some stream has an access unit
  uint64_t access_units() const; // over all streams
  std::string describe() const;  // what was found, for people
};

// Feed it every aligned packet (packet_size bytes: 188, or 192 with the m2ts prefix) in
// order; packet i sits at byte i * packet_size of the aligned output. Only what lies before
// `keep` bytes counts (tables found, access units that end there): run once with the
// default to learn `playable_end`, then again with keep = that end to judge the cut file.
class TsScanner {
public:
  explicit TsScanner(size_t packet_size, uint64_t keep = std::numeric_limits<uint64_t>::max());
  void observe(const uint8_t *unit);
  ScanResult result() const;

private:
  struct Pes {
    uint64_t start = 0;        // offset of the packet with the payload-unit start
    uint32_t length = 0;       // PES_packet_length, 0 = unbounded (video)
    uint64_t payload_seen = 0; // PES bytes so far
    uint64_t last_end = 0;     // end offset of its newest packet
    bool listed = false;       // a PMT seen before its start lists the PID
    bool counted = false;
    bool broken = false; // a continuity-counter gap: packets of it are missing
    uint8_t cc = 0;      // continuity counter of its newest packet
  };
  void on_pat(const uint8_t *p, uint64_t offset);
  void on_pmt(const uint8_t *p, uint64_t offset);
  void unit_done(uint16_t pid, const Pes &pes);

  size_t size_;
  size_t sync_;
  uint64_t keep_;
  uint64_t offset_ = 0;
  ScanResult r_;
  std::map<uint16_t, Pes> pes_;
  std::map<uint16_t, size_t> stream_index_; // pid -> r_.streams index
};

} // namespace keepup::ts
