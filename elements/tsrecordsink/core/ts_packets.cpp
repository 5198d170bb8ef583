// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ts_packets.hpp"

#include <algorithm>

namespace keepup::ts {

std::optional<uint64_t> pcr_base(const uint8_t *p) {
  if (!has_adaptation(p) || p[4] < 7 || (p[5] & 0x10) == 0)
    return std::nullopt;
  return (static_cast<uint64_t>(p[6]) << 25) | (static_cast<uint64_t>(p[7]) << 17) |
         (static_cast<uint64_t>(p[8]) << 9) | (static_cast<uint64_t>(p[9]) << 1) |
         (static_cast<uint64_t>(p[10]) >> 7);
}

size_t payload_offset(const uint8_t *p) {
  if (!has_payload(p))
    return kPacket;
  size_t off = 4;
  if (has_adaptation(p))
    off += 1 + p[4];
  return std::min(off, kPacket);
}

std::optional<PesStart> pes_start(const uint8_t *p) {
  if (!payload_unit_start(p) || !has_payload(p))
    return std::nullopt;
  const size_t off = payload_offset(p);
  if (off + 9 > kPacket || p[off] != 0 || p[off + 1] != 0 || p[off + 2] != 1)
    return std::nullopt;
  PesStart pes;
  pes.length = (static_cast<uint32_t>(p[off + 4]) << 8) | p[off + 5];
  const uint8_t stream_id = p[off + 3];
  const bool has_header = stream_id != 0xBC && stream_id != 0xBE && stream_id != 0xBF &&
                          stream_id != 0xF0 && stream_id != 0xF1 && stream_id != 0xFF &&
                          stream_id != 0xF2 && stream_id != 0xF8;
  if (has_header && (p[off + 7] & 0x80) != 0 && off + 14 <= kPacket) {
    const uint8_t *t = p + off + 9;
    pes.pts = (static_cast<uint64_t>((t[0] >> 1) & 0x07) << 30) |
              (static_cast<uint64_t>(t[1]) << 22) | (static_cast<uint64_t>(t[2] >> 1) << 15) |
              (static_cast<uint64_t>(t[3]) << 7) | (static_cast<uint64_t>(t[4]) >> 1);
  }
  return pes;
}

int64_t ticks_90k_to_ns(uint64_t from, uint64_t to) {
  const uint64_t diff = (to - from) & ((uint64_t{1} << 33) - 1);
  return static_cast<int64_t>(diff * 100000 / 9);
}

// ---- PacketAligner ------------------------------------------------------------------------

PacketAligner::PacketAligner(size_t packet_size)
    : size_(packet_size), offset_(sync_offset(packet_size)) {
  carry_.reserve(size_);
}

void PacketAligner::reset() {
  synced_ = ever_synced_ = false;
  carry_.clear();
  search_.clear();
  skipped_ = unsynced_ = 0;
}

void PacketAligner::push(const uint8_t *data, size_t len, const Sink &sink) {
  if (synced_) {
    push_synced(data, len, sink);
    return;
  }
  search_.insert(search_.end(), data, data + len);
  search(sink);
}

void PacketAligner::push_synced(const uint8_t *data, size_t len, const Sink &sink) {
  size_t pos = 0;
  if (!carry_.empty()) {
    const size_t take = std::min(size_ - carry_.size(), len);
    carry_.insert(carry_.end(), data, data + take);
    pos = take;
    if (carry_.size() < size_)
      return;
    if (!sync_at(carry_.data())) {
      synced_ = false;
      search_.assign(carry_.begin(), carry_.end());
      carry_.clear();
      search_.insert(search_.end(), data + pos, data + len);
      search(sink);
      return;
    }
    sink(carry_.data(), 1);
    carry_.clear();
  }
  while (pos + size_ <= len) {
    size_t run = 0;
    while (pos + (run + 1) * size_ <= len && sync_at(data + pos + run * size_))
      ++run;
    if (run > 0) {
      sink(data + pos, run);
      pos += run * size_;
    }
    if (pos + size_ <= len) { // a whole unit without its sync byte: sync is lost
      synced_ = false;
      search_.assign(data + pos, data + len);
      search(sink);
      return;
    }
  }
  carry_.assign(data + pos, data + len);
}

void PacketAligner::search(const Sink &sink) {
  const size_t need = 2 * size_ + offset_ + 1;
  auto count_skipped = [this](size_t n) {
    skipped_ += n;
    if (!ever_synced_)
      unsynced_ += n;
  };
  for (size_t p = 0; p + need <= search_.size(); ++p) {
    const uint8_t *s = search_.data() + p + offset_;
    if (s[0] == kSyncByte && s[size_] == kSyncByte && s[2 * size_] == kSyncByte) {
      count_skipped(p);
      synced_ = ever_synced_ = true;
      std::vector<uint8_t> rest(search_.begin() + static_cast<std::ptrdiff_t>(p), search_.end());
      search_.clear();
      push_synced(rest.data(), rest.size(), sink);
      return;
    }
  }
  if (search_.size() >= need) {
    const size_t drop = search_.size() - (need - 1);
    count_skipped(drop);
    search_.erase(search_.begin(), search_.begin() + static_cast<std::ptrdiff_t>(drop));
  }
}

size_t PacketAligner::finish() {
  const size_t left = carry_.size() + search_.size();
  if (!ever_synced_)
    unsynced_ += search_.size();
  carry_.clear();
  search_.clear();
  return left;
}

// ---- PsiCache -----------------------------------------------------------------------------

void PsiCache::observe(const uint8_t *p) {
  if (!payload_unit_start(p) || !has_payload(p))
    return;
  const uint16_t id = pid(p);
  if (id == 0) {
    const size_t off = payload_offset(p);
    if (off >= kPacket)
      return;
    const size_t s = off + 1 + p[off]; // pointer_field
    if (s + 8 > kPacket || p[s] != 0x00)
      return;
    const size_t section_length = (static_cast<size_t>(p[s + 1] & 0x0f) << 8) | p[s + 2];
    const size_t end = std::min(kPacket, s + 3 + section_length) - 4; // before the CRC
    std::vector<uint16_t> pids;
    for (size_t e = s + 8; e + 4 <= end; e += 4) {
      const uint16_t program = static_cast<uint16_t>((p[e] << 8) | p[e + 1]);
      if (program != 0)
        pids.push_back(static_cast<uint16_t>(((p[e + 2] & 0x1f) << 8) | p[e + 3]));
    }
    pat_.assign(p, p + kPacket);
    if (pids != pmt_pids_) {
      pmt_pids_ = pids;
      pmts_.assign(pids.size(), {});
    }
    return;
  }
  for (size_t i = 0; i < pmt_pids_.size(); ++i)
    if (pmt_pids_[i] == id)
      pmts_[i].assign(p, p + kPacket);
}

std::vector<uint8_t> PsiCache::tables() const {
  if (pat_.empty() || pmts_.empty())
    return {};
  std::vector<uint8_t> out(pat_);
  for (const auto &pmt : pmts_) {
    if (pmt.empty())
      return {};
    out.insert(out.end(), pmt.begin(), pmt.end());
  }
  return out;
}

// ---- DurationTracker ----------------------------------------------------------------------

void DurationTracker::observe(const uint8_t *p) {
  if (auto pcr = pcr_base(p)) {
    const uint16_t id = pid(p);
    if (!pcr_pid_)
      pcr_pid_ = id;
    if (*pcr_pid_ == id) {
      if (!first_pcr_)
        first_pcr_ = *pcr;
      last_pcr_ = *pcr;
    }
  }
  if (payload_unit_start(p)) {
    if (auto pes = pes_start(p); pes && pes->pts) {
      if (!first_pts_)
        first_pts_ = last_pts_ = *pes->pts;
      else if (ticks_90k_to_ns(*first_pts_, *pes->pts) > ticks_90k_to_ns(*first_pts_, *last_pts_) &&
               ticks_90k_to_ns(*first_pts_, *pes->pts) < 3600LL * 1'000'000'000)
        last_pts_ = *pes->pts; // later than any so far (PTS are reordered with B-frames)
    }
  }
}

int64_t DurationTracker::duration_ns() const {
  if (first_pcr_ && last_pcr_ && *first_pcr_ != *last_pcr_)
    return ticks_90k_to_ns(*first_pcr_, *last_pcr_);
  if (first_pts_ && last_pts_)
    return ticks_90k_to_ns(*first_pts_, *last_pts_);
  return 0;
}

} // namespace keepup::ts
