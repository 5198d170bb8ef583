// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's request rules: names, tokens, offers.
#include <gtest/gtest.h>

#include "whip_core.hpp"

#include <set>

using namespace keepup::whip;

namespace {
const char *kChromeLikeOffer = "v=0\r\n"
                               "o=- 1 2 IN IP4 127.0.0.1\r\n"
                               "s=-\r\n"
                               "t=0 0\r\n"
                               "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                               "a=rtpmap:111 opus/48000/2\r\n"
                               "m=video 9 UDP/TLS/RTP/SAVPF 96 102 106\r\n"
                               "a=rtpmap:96 VP8/90000\r\n"
                               "a=rtpmap:102 H264/90000\r\n"
                               "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0\r\n"
                               "a=rtpmap:106 H264/90000\r\n"
                               "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1\r\n";
} // namespace

TEST(WhipCore, StreamNames) {
  EXPECT_TRUE(valid_stream_name("cam-1_A"));
  EXPECT_TRUE(valid_stream_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_stream_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_stream_name(""));
  EXPECT_FALSE(valid_stream_name(".."));
  EXPECT_FALSE(valid_stream_name("a/b"));
  EXPECT_FALSE(valid_stream_name("a b"));
}

TEST(WhipCore, BearerTokens) {
  EXPECT_TRUE(authorized(nullptr, ""));
  EXPECT_TRUE(authorized("Bearer s3cret", "s3cret"));
  EXPECT_TRUE(authorized("bearer s3cret ", "s3cret"));
  EXPECT_FALSE(authorized(nullptr, "s3cret"));
  EXPECT_FALSE(authorized("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(authorized("Bearer s3cretX", "s3cret"));
  EXPECT_FALSE(authorized("Basic s3cret", "s3cret"));
}

TEST(WhipCore, OfferSummaryPrefersH264PacketizationModeOne) {
  const auto offer = summarize_offer(kChromeLikeOffer);
  ASSERT_TRUE(offer.valid) << offer.error;
  ASSERT_EQ(offer.video.size(), 3U);
  EXPECT_EQ(offer.video[0].name, "VP8");
  const auto v = pick_video(offer);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->payload_type, 106);
  EXPECT_EQ(v->clock_rate, 90000);
  const auto a = pick_audio(offer);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->payload_type, 111);
}

TEST(WhipCore, Vp8OnlyOffer) {
  const auto offer = summarize_offer("v=0\nm=video 9 RTP/AVP 96\na=rtpmap:96 VP8/90000\n");
  ASSERT_TRUE(offer.valid);
  EXPECT_EQ(pick_video(offer)->name, "VP8");
  EXPECT_FALSE(pick_audio(offer).has_value());
}

TEST(WhipCore, BadOffersSayWhy) {
  auto garbage = summarize_offer("hello world");
  EXPECT_FALSE(garbage.valid);
  EXPECT_FALSE(garbage.error.empty());
  auto data_only = summarize_offer("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
  EXPECT_FALSE(data_only.valid);
  EXPECT_NE(data_only.error.find("video or audio"), std::string::npos);
  // Audio-only offers are recorded (keepup-record --audio opus|aac).
  auto audio_only =
      summarize_offer("v=0\r\nm=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n");
  ASSERT_TRUE(audio_only.valid);
  EXPECT_FALSE(pick_video(audio_only).has_value());
  EXPECT_EQ(pick_audio(audio_only)->name, "OPUS");
  auto unknown = summarize_offer("v=0\nm=video 9 RTP/AVP 98\na=rtpmap:98 AV1/90000\n");
  ASSERT_TRUE(unknown.valid);
  EXPECT_FALSE(pick_video(unknown).has_value());
}

TEST(WhipCore, RecordingNamesCarryUtcTime) {
  EXPECT_EQ(recording_name("cam1", 0), "cam1-19700101T000000Z.ts");
  EXPECT_EQ(recording_name("cam1", 1795257900), "cam1-20261121T104500Z.ts");
}

// The recorder died on "a=fmtp:96 " (find_first_not_of -> npos -> substr threw): no input
// may make the summary throw.
TEST(WhipCore, OfferSummaryNeverThrows) {
  const auto spaces =
      summarize_offer("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"
                      "a=fmtp:96 \r\n");
  ASSERT_TRUE(spaces.valid) << spaces.error;
  EXPECT_EQ(spaces.video.at(0).fmtp, "");
  const std::vector<std::string> nasty = {
      "a=fmtp:96    \r\n",
      "a=fmtp:\r\n",
      "a=fmtp:96\r\n",
      "a=rtpmap:\r\n",
      "a=rtpmap:96 /\r\n",
      "a=rtpmap:96 H264/\r\n",
      "a=rtpmap:99999999999999999999 H264/90000\r\n",
      "m=\r\n",
      "m=video\r\n",
      "a=fingerprint:\r\n",
      "a=fingerprint: \r\n",
      "a=fingerprint:sha-256\r\n",
      "a==\r\n",
      "x\r\n",
      std::string("a=fmtp:96 \0\xff\r\n", 14),
  };
  for (const auto &line : nasty) {
    const std::string offer = "v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" + line;
    EXPECT_NO_THROW(summarize_offer(offer)) << line;
  }
  // Every prefix of a real offer, and bytes of every value.
  const std::string chrome = kChromeLikeOffer;
  for (std::size_t n = 0; n <= chrome.size(); ++n)
    EXPECT_NO_THROW(summarize_offer(chrome.substr(0, n))) << n;
  std::string noise;
  for (int i = 0; i < 4096; ++i)
    noise.push_back(static_cast<char>((i * 7919 + i / 13) & 0xff));
  EXPECT_NO_THROW(summarize_offer(noise));
}

TEST(WhipCore, FingerprintsFollowRfc8122) {
  const std::string sha256 = "sha-256 "
                             "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                             "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
  EXPECT_EQ(fingerprint_error(sha256), "");
  EXPECT_EQ(fingerprint_error("SHA-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"),
            "");
  EXPECT_EQ(fingerprint_error("x-new-hash 0A:0B"), "") << "unknown hash functions are tokens";
  for (const char *bad :
       {"", "sha-256", "sha-256 ", " 00:11", "sha-256 zz:11", "sha-256 0:11",
        "sha-256 00:11:", "sha-256 00-11", "sha-256 00:11", "sha(256) 00:11", "sha-256 00::11"}) {
    EXPECT_NE(fingerprint_error(bad), "") << "'" << bad << "'";
  }
  EXPECT_NE(fingerprint_error("sha-256 00:11").find("32 bytes"), std::string::npos);
  const auto offer = summarize_offer("v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                                     "a=fingerprint:sha-256 zz:zz\r\n");
  EXPECT_FALSE(offer.valid);
  EXPECT_NE(offer.error.find("fingerprint"), std::string::npos) << offer.error;
  const auto good = summarize_offer("v=0\r\na=fingerprint:" + sha256 +
                                    "\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n");
  EXPECT_TRUE(good.valid) << good.error;
}

TEST(WhipCore, RecordingPathsAreUniqueWithinASecond) {
  std::set<std::string> taken;
  auto is_taken = [&](const std::string &p) { return taken.count(p) != 0; };
  const std::string first = unique_recording_path("rec", "cam1", 1795257900, is_taken);
  EXPECT_EQ(first, "rec/cam1-20261121T104500Z.ts");
  taken.insert(first);
  const std::string second = unique_recording_path("rec", "cam1", 1795257900, is_taken);
  EXPECT_EQ(second, "rec/cam1-20261121T104500Z-2.ts");
  taken.insert(second);
  EXPECT_EQ(unique_recording_path("rec", "cam1", 1795257900, is_taken),
            "rec/cam1-20261121T104500Z-3.ts");
  EXPECT_EQ(unique_recording_path("rec", "cam2", 1795257900, is_taken),
            "rec/cam2-20261121T104500Z.ts");
}

// A picture split in two parts with one RTP time: the second part (same PTS, or none after
// h264parse) joins the first; DTS strictly increase by at least one 90 kHz tick.
TEST(WhipCore, AccessUnitTimelineMergesSplitPicturesAndKeepsDtsMonotonic) {
  AccessUnitTimeline t;
  const int64_t frame = 33'333'333;
  EXPECT_FALSE(t.continues_picture(1000));
  t.started_picture(1000);
  EXPECT_TRUE(t.continues_picture(1000));
  EXPECT_TRUE(t.continues_picture(AccessUnitTimeline::kNone));
  EXPECT_FALSE(t.continues_picture(1000 + frame));
  t.started_picture(1000 + frame);
  EXPECT_EQ(t.dts_for(1000), 1000);
  EXPECT_EQ(t.dts_for(1000 + frame), 1000 + frame);
  // Same or earlier PTS, or none: still one tick later.
  EXPECT_EQ(t.dts_for(1000 + frame), 1000 + frame + AccessUnitTimeline::kTickNs);
  EXPECT_EQ(t.dts_for(5), 1000 + frame + 2 * AccessUnitTimeline::kTickNs);
  EXPECT_EQ(t.dts_for(AccessUnitTimeline::kNone), 1000 + frame + 3 * AccessUnitTimeline::kTickNs);
  AccessUnitTimeline fresh;
  EXPECT_EQ(fresh.dts_for(AccessUnitTimeline::kNone), 0);
}

TEST(WhipCore, ConnectionTableClosesIdleAndBoundsTheCount) {
  const int64_t s = 1'000'000;
  ConnectionTable t(30 * s, 3);
  EXPECT_TRUE(t.opened(1, 0).empty());
  EXPECT_TRUE(t.opened(2, 1 * s).empty());
  EXPECT_TRUE(t.opened(3, 2 * s).empty());
  t.busy(2, 3 * s); // a paused WHIP POST waiting for ICE gathering is never idle
  EXPECT_TRUE(t.expired(29 * s).empty());
  EXPECT_EQ(t.expired(30 * s), (std::vector<std::uintptr_t>{1}));
  EXPECT_EQ(t.expired(100 * s), (std::vector<std::uintptr_t>{1, 3}));
  // Over the bound: the longest idle one goes.
  EXPECT_EQ(t.opened(4, 40 * s), (std::vector<std::uintptr_t>{1}));
  EXPECT_FALSE(t.known(1));
  EXPECT_EQ(t.size(), 3U);
  t.idle(2, 41 * s);
  EXPECT_EQ(t.expired(71 * s), (std::vector<std::uintptr_t>{2, 3, 4}));
  EXPECT_EQ(t.idle_connections(), (std::vector<std::uintptr_t>{2, 3, 4}));
  t.closed(3);
  // All busy: the newcomer itself is refused.
  t.busy(2, 72 * s);
  t.busy(4, 72 * s);
  EXPECT_TRUE(t.opened(5, 73 * s).empty());
  t.busy(5, 73 * s);
  EXPECT_EQ(t.opened(6, 74 * s), (std::vector<std::uintptr_t>{6}));
  EXPECT_EQ(t.size(), 3U);
}

TEST(WhipCore, SecondPartOfASplitPictureKeepsOnlyItsSlices) {
  // SPS, PPS, AUD, IDR slice, SEI, IDR slice: 4- and 3-byte start codes.
  const std::vector<std::uint8_t> in = {0, 0, 0, 1,    0x67, 0x42, 0xc0, //
                                        0, 0, 0, 1,    0x68, 0xce,       //
                                        0, 0, 1, 0x09, 0xf0,             //
                                        0, 0, 0, 1,    0x65, 0x88, 0x80, //
                                        0, 0, 1, 0x06, 0x05,             //
                                        0, 0, 1, 0x65, 0x00, 0x11};
  const std::vector<std::uint8_t> want = {0, 0, 0, 1, 0x65, 0x88, 0x80, 0, 0, 1, 0x65, 0x00, 0x11};
  EXPECT_EQ(h264_slices_only(in.data(), in.size()), want);
  const std::vector<std::uint8_t> p_slice = {0, 0, 0, 1, 0x41, 0x9a};
  EXPECT_EQ(h264_slices_only(p_slice.data(), p_slice.size()), p_slice);
  EXPECT_TRUE(h264_slices_only(nullptr, 0).empty());
  const std::vector<std::uint8_t> junk = {0, 0, 1};
  EXPECT_TRUE(h264_slices_only(junk.data(), junk.size()).empty());
}
