// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's request rules: names, tokens, offers.
#include <gtest/gtest.h>

#include "whip_core.hpp"

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
  auto audio_only =
      summarize_offer("v=0\r\nm=audio 9 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n");
  EXPECT_FALSE(audio_only.valid);
  EXPECT_NE(audio_only.error.find("video"), std::string::npos);
  auto unknown = summarize_offer("v=0\nm=video 9 RTP/AVP 98\na=rtpmap:98 AV1/90000\n");
  ASSERT_TRUE(unknown.valid);
  EXPECT_FALSE(pick_video(unknown).has_value());
}

TEST(WhipCore, RecordingNamesCarryUtcTime) {
  EXPECT_EQ(recording_name("cam1", 0), "cam1-19700101T000000Z.ts");
  EXPECT_EQ(recording_name("cam1", 1795257900), "cam1-20261121T104500Z.ts");
}
