// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ts_scan.hpp"

#include "ts_packets.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace keepup::ts {

namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i << 24;
    for (int b = 0; b < 8; ++b)
      c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

// The one-packet PSI section with `table_id` in packet p: [begin, end) without its CRC.
// False when absent, cut by the packet end, or its CRC does not match.
bool psi_section(const uint8_t *p, uint8_t table_id, size_t min_length, size_t &begin,
                 size_t &end) {
  if (!payload_unit_start(p) || !has_payload(p))
    return false;
  const size_t off = payload_offset(p);
  if (off >= kPacket)
    return false;
  const size_t s = off + 1 + p[off]; // after the pointer_field
  if (s + 3 > kPacket || p[s] != table_id || (p[s + 1] & 0x80) == 0)
    return false;
  const size_t length = (static_cast<size_t>(p[s + 1] & 0x0f) << 8) | p[s + 2];
  if (length < min_length || s + 3 + length > kPacket || crc32_mpeg(p + s, 3 + length) != 0)
    return false;
  begin = s;
  end = s + 3 + length - 4;
  return true;
}

const char *stream_type_name(uint8_t type) {
  switch (type) {
  case 0x01:
  case 0x02:
    return "MPEG video";
  case 0x03:
  case 0x04:
    return "MPEG audio";
  case 0x0f:
    return "AAC";
  case 0x1b:
    return "H.264";
  case 0x24:
    return "H.265";
  case 0x06:
    return "private data";
  case 0x81:
    return "AC-3";
  default:
    return "type";
  }
}

std::string hex_pid(uint16_t pid) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", pid);
  return buf;
}

} // namespace

uint32_t crc32_mpeg(const uint8_t *data, size_t len) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < len; ++i)
    crc = (crc << 8) ^ kCrcTable[((crc >> 24) ^ data[i]) & 0xff];
  return crc;
}

bool ScanResult::playable() const {
  return access_units() > 0;
}

uint64_t ScanResult::access_units() const {
  uint64_t n = 0;
  for (const auto &s : streams)
    n += s.access_units;
  return n;
}

std::string ScanResult::describe() const {
  if (packet_size == 0)
    return "not an MPEG-TS file: no MPEG-TS sync (0x47 at a 188- or 192-byte stride) anywhere "
           "in it";
  std::string out =
      std::to_string(packets) + " packets of " + std::to_string(packet_size) + " bytes";
  if (!pat)
    return out + ", but no PAT (program table), so no program to play";
  if (!pmt) {
    std::string pids;
    for (uint16_t pid : pmt_pids)
      pids += (pids.empty() ? "" : ", ") + hex_pid(pid);
    return out + ", a PAT" + (pids.empty() ? " listing no program" : " (PMT PID " + pids + ")") +
           ", but no PMT (stream table) after it";
  }
  if (streams.empty())
    return out + ", a PAT and a PMT that lists no elementary stream";
  out += ", a PAT, a PMT";
  std::string list;
  for (const auto &s : streams) {
    char type[8];
    std::snprintf(type, sizeof type, " 0x%02x", s.stream_type);
    const char *name = stream_type_name(s.stream_type);
    list += (list.empty() ? "" : ", ") + hex_pid(s.pid) + " (" + name +
            (std::string(name) == "type" ? type : "") + "): " + std::to_string(s.access_units) +
            " access units";
  }
  out += " and " + std::to_string(streams.size()) + " stream" + (streams.size() == 1 ? "" : "s") +
         ": " + list;
  if (!playable())
    out +=
        " (" + std::to_string(pes_starts) + " PES starts in all, none complete on a listed stream)";
  return out;
}

TsScanner::TsScanner(size_t packet_size, uint64_t keep)
    : size_(packet_size), sync_(sync_offset(packet_size)), keep_(keep) {
  r_.packet_size = packet_size;
}

void TsScanner::on_pat(const uint8_t *p, uint64_t) {
  size_t begin = 0, end = 0;
  if (!psi_section(p, 0x00, 9, begin, end))
    return;
  std::vector<uint16_t> pids;
  for (size_t e = begin + 8; e + 4 <= end; e += 4) {
    const uint16_t program = static_cast<uint16_t>((p[e] << 8) | p[e + 1]);
    if (program != 0) // 0 is the network PID, not a PMT
      pids.push_back(static_cast<uint16_t>(((p[e + 2] & 0x1f) << 8) | p[e + 3]));
  }
  r_.pat = true;
  for (uint16_t pid : pids)
    if (std::find(r_.pmt_pids.begin(), r_.pmt_pids.end(), pid) == r_.pmt_pids.end())
      r_.pmt_pids.push_back(pid);
}

void TsScanner::on_pmt(const uint8_t *p, uint64_t) {
  size_t begin = 0, end = 0;
  if (!psi_section(p, 0x02, 13, begin, end))
    return;
  r_.pmt = true;
  const size_t info = (static_cast<size_t>(p[begin + 10] & 0x0f) << 8) | p[begin + 11];
  for (size_t e = begin + 12 + info; e + 5 <= end;) {
    const uint16_t pid = static_cast<uint16_t>(((p[e + 1] & 0x1f) << 8) | p[e + 2]);
    if (!stream_index_.count(pid)) {
      stream_index_[pid] = r_.streams.size();
      r_.streams.push_back({pid, p[e], 0});
    }
    e += 5 + ((static_cast<size_t>(p[e + 3] & 0x0f) << 8) | p[e + 4]);
  }
}

void TsScanner::unit_done(uint16_t pid, const Pes &pes) {
  if (!pes.listed || pes.broken || pes.last_end > keep_)
    return;
  if (auto it = stream_index_.find(pid); it != stream_index_.end())
    ++r_.streams[it->second].access_units;
}

void TsScanner::observe(const uint8_t *unit) {
  const uint8_t *p = unit + sync_;
  const uint64_t at = offset_;
  offset_ += size_;
  const bool kept = at + size_ <= keep_;
  const uint16_t id = pid(p);
  if (kept) {
    ++r_.packets;
    if (id == 0)
      on_pat(p, at);
    else if (std::find(r_.pmt_pids.begin(), r_.pmt_pids.end(), id) != r_.pmt_pids.end())
      on_pmt(p, at);
  }
  const uint8_t cc = p[3] & 0x0f;
  if (const auto start = pes_start(p)) {
    if (kept)
      ++r_.pes_starts;
    if (auto it = pes_.find(id);
        it != pes_.end() && !it->second.counted && it->second.length == 0) {
      Pes &done = it->second; // an unbounded PES ends where the next one starts...
      done.broken |= cc != ((done.cc + 1) & 0x0f); // ...if nothing between went missing
      unit_done(id, done);
    }
    Pes next;
    next.start = at;
    next.length = start->length;
    next.listed = kept && stream_index_.count(id) > 0;
    next.cc = static_cast<uint8_t>((cc + 15) & 0x0f); // this packet continues it below
    pes_[id] = next;
  }
  if (auto it = pes_.find(id); it != pes_.end() && has_payload(p)) {
    Pes &cur = it->second;
    if (cc == cur.cc)
      return; // a duplicate packet (allowed once): nothing new
    cur.broken |= cc != ((cur.cc + 1) & 0x0f);
    cur.cc = cc;
    cur.payload_seen += kPacket - payload_offset(p);
    cur.last_end = at + size_;
    if (!cur.counted && cur.length != 0 && cur.payload_seen >= cur.length + 6u) {
      cur.counted = true;
      unit_done(id, cur);
    }
  }
}

ScanResult TsScanner::result() const {
  ScanResult out = r_;
  // A PES that stops before its declared length, or an unbounded one (video: its end is
  // only known when the next one starts), is cut: the decoder gets whole frames only.
  out.playable_end = offset_;
  for (const auto &[id, pes] : pes_)
    if (pes.length == 0 || pes.payload_seen < pes.length + 6u)
      out.playable_end = std::min(out.playable_end, pes.start);
  return out;
}

} // namespace keepup::ts
