// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's SDP offer summary (whip_core: summarize_offer, pick_video, pick_audio) on
// arbitrary request bodies. It must never throw, and what it reports must hold together.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "whip_core.hpp"

namespace whip = keepup::whip;

namespace {

bool same_codec(const whip::RtpCodec &a, const whip::RtpCodec &b) {
  return a.payload_type == b.payload_type && a.name == b.name && a.clock_rate == b.clock_rate &&
         a.fmtp == b.fmtp;
}

bool same_codecs(const std::vector<whip::RtpCodec> &a, const std::vector<whip::RtpCodec> &b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same_codec(a[i], b[i]))
      return false;
  return true;
}

bool contains(const std::vector<whip::RtpCodec> &list, const whip::RtpCodec &c) {
  for (const auto &x : list)
    if (same_codec(x, c))
      return true;
  return false;
}

void check_codec(const whip::RtpCodec &c) {
  for (char ch : c.name)
    FUZZ_CHECK(!(ch >= 'a' && ch <= 'z')); // names are upper-cased for comparison
  FUZZ_CHECK(c.fmtp.empty() || c.fmtp.front() != ' ');
}

void check_summary(const whip::OfferSummary &s) {
  // valid <=> no error, and a valid offer has a video or an audio codec (the 400 body needs
  // the reason).
  FUZZ_CHECK(s.valid == s.error.empty());
  FUZZ_CHECK(!s.valid || !s.video.empty() || !s.audio.empty());
  for (const auto &c : s.video)
    check_codec(c);
  for (const auto &c : s.audio)
    check_codec(c);

  bool any_h264 = false, any_h264_mode1 = false, any_known = false;
  for (const auto &c : s.video) {
    any_h264 = any_h264 || c.name == "H264";
    any_h264_mode1 = any_h264_mode1 ||
                     (c.name == "H264" && c.fmtp.find("packetization-mode=1") != std::string::npos);
    any_known = any_known || c.name == "H264" || c.name == "VP8" || c.name == "VP9";
  }
  const auto video = whip::pick_video(s);
  FUZZ_CHECK(video.has_value() == any_known);
  if (video) {
    FUZZ_CHECK(contains(s.video, *video));
    FUZZ_CHECK(!any_h264 || video->name == "H264");
    FUZZ_CHECK(!any_h264_mode1 || video->fmtp.find("packetization-mode=1") != std::string::npos);
  }
  bool any_opus = false;
  for (const auto &c : s.audio)
    any_opus = any_opus || c.name == "OPUS";
  const auto audio = whip::pick_audio(s);
  FUZZ_CHECK(audio.has_value() == any_opus);
  FUZZ_CHECK(!audio || (audio->name == "OPUS" && contains(s.audio, *audio)));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string sdp(reinterpret_cast<const char *>(data), size);
  const auto summary = whip::summarize_offer(sdp);
  check_summary(summary);

  // Browsers send CRLF, curl users LF: both must read the same.
  if (sdp.find('\r') == std::string::npos) {
    std::string crlf;
    for (char c : sdp) {
      if (c == '\n')
        crlf += '\r';
      crlf += c;
    }
    const auto again = whip::summarize_offer(crlf);
    FUZZ_CHECK(again.valid == summary.valid && again.error == summary.error);
    FUZZ_CHECK(same_codecs(again.video, summary.video) && same_codecs(again.audio, summary.audio));
  }
  return 0;
}
