// SPDX-License-Identifier: LGPL-2.1-or-later
// The request rules of keepup-record's WHIP server, apart from any network code: stream names,
// bearer tokens, and what an SDP offer carries. Plain C++, unit-tested.
#pragma once

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

OfferSummary summarize_offer(const std::string &sdp);

// The video codec to ask for: H.264 (packetization-mode 1 preferred) unless `transcode`
// says otherwise, else VP8, else VP9. nullopt: nothing we can record.
std::optional<RtpCodec> pick_video(const OfferSummary &offer);
std::optional<RtpCodec> pick_audio(const OfferSummary &offer);

// "cam1-20261121T104500Z.ts" for a stream and a UTC time (seconds since the epoch).
std::string recording_name(const std::string &stream, long long utc_seconds);

} // namespace keepup::whip
