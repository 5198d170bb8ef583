// SPDX-License-Identifier: LGPL-2.1-or-later
// The request rules of keepup-record's WHIP server, apart from any network code: stream names,
// bearer tokens, and what an SDP offer carries. Plain C++, unit-tested.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keepup::whip {

// [A-Za-z0-9_-]{1,64}: no path tricks, no surprises in file names.
bool valid_stream_name(const std::string &name);

// "Bearer <token>" (case-insensitive scheme) equal to `token`; an empty token allows all.
bool authorized(const char *authorization_header, const std::string &token);

struct RtpCodec {
  int payload_type = 0;
  std::string name; // upper case: H264, VP8, VP9, OPUS
  int clock_rate = 0;
  std::string fmtp;
};

struct OfferSummary {
  bool valid = false;
  std::string error;           // why not, for the 400 body
  std::vector<RtpCodec> video; // in the offer's order
  std::vector<RtpCodec> audio;
};

// Never throws: any text gives a summary, `valid` says whether it is an offer we can use.
// Every a=fingerprint line (session or media level) must pass fingerprint_error().
OfferSummary summarize_offer(const std::string &sdp);

// An a=fingerprint value (RFC 8122: "<hash-func> <XX:XX:...>"): empty when well formed, else
// why not. The hash function is a token; for the known ones (sha-1 ... sha-512, md5, md2)
// the number of bytes must match the hash. Hex digits of either case are accepted.
std::string fingerprint_error(const std::string &value);

// The video codec to ask for: H.264 (packetization-mode 1 preferred) unless `transcode`
// says otherwise, else VP8, else VP9. nullopt: nothing we can record.
std::optional<RtpCodec> pick_video(const OfferSummary &offer);
std::optional<RtpCodec> pick_audio(const OfferSummary &offer);

// "cam1-20261121T104500Z.ts" for a stream and a UTC time (seconds since the epoch).
std::string recording_name(const std::string &stream, long long utc_seconds);

// The first of recording_name(), "<stream>-<UTC>-2.ts", "-3", ... in `dir` that `taken`
// (a file on disk, a temp file, another live session) does not claim.
std::string unique_recording_path(const std::string &dir, const std::string &stream,
                                  long long utc_seconds,
                                  const std::function<bool(const std::string &)> &taken);

// Timestamps of H.264 access units as they leave a depayloader. Some publishers' pictures
// arrive in two parts with the same RTP time (rtph264pay config-interval=-1 with multi-slice
// IDRs puts SPS/PPS between the slices, and the depayloader starts a new unit there); the
// second part has no timestamp after h264parse, and mpegtsmux writes it without PTS/DTS, which
// players see as non-monotonic DTS. `continues_picture` says which parts to merge; `dts_for`
// gives every unit written a DTS that strictly increases (by at least one 90 kHz tick).
class AccessUnitTimeline {
public:
  static constexpr int64_t kNone = -1;
  static constexpr int64_t kTickNs = 11112; // > 1/90000 s: a distinct value in the TS

  // True when a part with this PTS belongs to the picture before it (same PTS, or none).
  bool continues_picture(int64_t pts) const {
    return have_last_pts_ && (pts == kNone || pts == last_pts_);
  }
  void started_picture(int64_t pts) {
    last_pts_ = pts;
    have_last_pts_ = pts != kNone;
  }
  int64_t dts_for(int64_t pts) {
    int64_t dts = pts;
    if (last_dts_ != kNone && (pts == kNone || pts < last_dts_ + kTickNs))
      dts = last_dts_ + kTickNs;
    if (dts == kNone)
      dts = 0;
    last_dts_ = dts;
    return dts;
  }

private:
  int64_t last_pts_ = kNone, last_dts_ = kNone;
  bool have_last_pts_ = false;
};

// The coded slices (NAL types 1-5, with their start codes) of an H.264 byte-stream chunk:
// what the second part of a split picture keeps when it is appended to the first, so the
// joined unit has one set of SPS/PPS/AUD/SEI at its start and stays one access unit.
std::vector<std::uint8_t> h264_slices_only(const std::uint8_t *data, std::size_t size);

// The HTTP connections a server holds, for closing idle ones and bounding their number.
// Time is injected (microseconds, any monotonic origin). A connection is busy from the start
// of a request's headers to its response; idle otherwise (also before its first byte, which
// is how half-open and slow-header connections are caught).
class ConnectionTable {
public:
  ConnectionTable(int64_t idle_timeout_us, std::size_t max_connections)
      : idle_timeout_us_(idle_timeout_us), max_(max_connections) {}
  // A new connection; returns those to close to stay within the bound: the longest idle
  // ones, or the new one itself when every other connection is busy.
  std::vector<std::uintptr_t> opened(std::uintptr_t id, int64_t now_us);
  bool known(std::uintptr_t id) const { return conns_.count(id) != 0; }
  void busy(std::uintptr_t id, int64_t now_us);
  void idle(std::uintptr_t id, int64_t now_us);
  void closed(std::uintptr_t id) { conns_.erase(id); }
  // Idle for longer than the timeout.
  std::vector<std::uintptr_t> expired(int64_t now_us) const;
  // Every idle connection (to look for peers that went away).
  std::vector<std::uintptr_t> idle_connections() const;
  std::size_t size() const { return conns_.size(); }

private:
  struct Conn {
    int64_t since_us = 0; // last change between busy and idle
    bool busy = false;
  };
  int64_t idle_timeout_us_;
  std::size_t max_;
  std::map<std::uintptr_t, Conn> conns_;
};

} // namespace keepup::whip
