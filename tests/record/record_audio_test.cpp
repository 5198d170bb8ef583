// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's audio and congestion feedback as users see them: a real server process and
// real publishers on loopback (keepup-whip-publish --audio, and headless Chromium with a fake
// camera and microphone), every wait bounded. Recordings are measured with ffprobe (per-packet
// timestamps of each track, per-frame width) and decoded with ffmpeg.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "record_util.hpp"
#include "test_util.hpp"

using namespace keepup::test;
using namespace keepup::record_test;

namespace {

// What keepup-whip-publish says it sent: "sent N frames", "sent M audio packets".
struct Published {
  bool ok = false;
  guint64 frames = 0, audio_packets = 0;
  std::string out;
};

Published publish_av(Server &server, const std::string &stream, int seconds,
                     std::vector<std::string> extra) {
  extra.insert(extra.begin(), {"--size", "640x360"});
  const Outcome o = keepup::record_test::publish(server, stream, seconds, extra);
  Published p{o.ok, number_after(o.out, "sent "), 0, o.out};
  if (const auto at = o.out.find(" audio packets"); at != std::string::npos)
    if (const auto from = o.out.rfind("sent ", at); from != std::string::npos)
      p.audio_packets = std::strtoull(o.out.c_str() + from + 5, nullptr, 10);
  return p;
}

std::string http_get(const std::string &url) {
  const Reply r = request("GET", url);
  return r.status == 200 ? r.body : std::string();
}

bool have_ffmpeg() {
  return g_file_test("/usr/bin/ffprobe", G_FILE_TEST_IS_EXECUTABLE) &&
         g_file_test("/usr/bin/ffmpeg", G_FILE_TEST_IS_EXECUTABLE);
}

// One track of a recording, from ffprobe's packets.
struct Track {
  std::string codec;
  int packets = 0;
  double start = 0, end = 0; // first PTS, last PTS + duration (s)
  double widest_gap = 0;     // largest distance between one packet's end and the next's start
};

struct Probe {
  Track video, audio;
  int streams = 0;
  std::string error;
};

Probe probe(const std::string &file) {
  Probe p;
  const auto streams =
      nlohmann::json::parse(run({"/usr/bin/ffprobe", "-v", "error", "-show_entries",
                                 "stream=index,codec_type,codec_name", "-of", "json", file})
                                .out,
                            nullptr, false);
  const auto packets =
      nlohmann::json::parse(run({"/usr/bin/ffprobe", "-v", "error", "-show_entries",
                                 "packet=stream_index,pts_time,duration_time", "-of", "json", file})
                                .out,
                            nullptr, false);
  if (streams.is_discarded() || packets.is_discarded()) {
    p.error = "ffprobe output is not JSON";
    return p;
  }
  std::map<int, Track *> by_index;
  for (const auto &s : streams.value("streams", nlohmann::json::array())) {
    ++p.streams;
    Track &t = s.value("codec_type", "") == "video" ? p.video : p.audio;
    t.codec = s.value("codec_name", "");
    by_index[s.value("index", -1)] = &t;
  }
  std::map<Track *, std::vector<std::pair<double, double>>> spans;
  for (const auto &pk : packets.value("packets", nlohmann::json::array())) {
    auto it = by_index.find(pk.value("stream_index", -1));
    if (it == by_index.end() || !pk.contains("pts_time"))
      continue;
    const double pts = std::stod(pk.value("pts_time", "0"));
    const double dur = std::stod(pk.value("duration_time", "0"));
    spans[it->second].push_back({pts, pts + dur});
  }
  for (auto &[t, list] : spans) {
    std::sort(list.begin(), list.end());
    t->packets = static_cast<int>(list.size());
    t->start = list.front().first;
    t->end = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i)
        t->widest_gap = std::max(t->widest_gap, list[i].first - list[i - 1].second);
      t->end = std::max(t->end, list[i].second);
    }
  }
  return p;
}

// ffmpeg's complaints while decoding the whole file; empty when clean. `own_times`: frames keep
// the file's time base on the way to the null muxer. Without it ffmpeg rounds them to its
// guess of the frame rate (1/20 s for Chromium's fake camera) and reports two frames that a
// loaded browser captured 16 ms apart as "non monotonically increasing dts to muxer": a
// complaint about its own output, not about the recording.
std::string decode_errors(const std::string &file, bool own_times = false) {
  std::vector<std::string> args = {"/usr/bin/ffmpeg", "-nostdin", "-v", "error", "-i", file};
  if (own_times)
    args.insert(args.end(), {"-fps_mode", "passthrough", "-enc_time_base:v", "-1"});
  args.insert(args.end(), {"-f", "null", "-"});
  return run(args).out;
}

void expect_in_sync(const Probe &p, const std::string &log) {
  EXPECT_LE(std::abs(p.audio.start - p.video.start), 0.100)
      << "audio starts at " << p.audio.start << ", video at " << p.video.start << "\n"
      << log;
  EXPECT_LE(std::abs(p.audio.end - p.video.end), 0.200)
      << "audio ends at " << p.audio.end << ", video at " << p.video.end << "\n"
      << log;
  std::printf("A/V start delta %+.3f s, end delta %+.3f s (video %.3f..%.3f, audio %.3f..%.3f)\n",
              p.audio.start - p.video.start, p.audio.end - p.video.end, p.video.start, p.video.end,
              p.audio.start, p.audio.end);
}

} // namespace

TEST(RecordAudio, OpusIsRecordedInSyncWithEveryVideoFrame) {
  if (!have_ffmpeg())
    GTEST_SKIP() << "ffmpeg/ffprobe are not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  // /status while the session records: the phase and the audio fields.
  nlohmann::json seen;
  std::thread watcher([&]() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto j = nlohmann::json::parse(http_get(server.url("/status")), nullptr, false);
      if (!j.is_discarded() && !j["sessions"].empty() &&
          j["sessions"][0].value("audio_packets", 0) > 50) {
        seen = j["sessions"][0];
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const Published p = publish_av(server, "av", 5, {"--audio"});
  watcher.join();
  ASSERT_TRUE(p.ok) << p.out << server.output();
  ASSERT_GT(p.frames, 100U) << p.out;
  EXPECT_EQ(seen.value("phase", ""), "recording") << seen.dump();
  EXPECT_EQ(seen.value("audio", ""), "opus") << seen.dump();
  EXPECT_GT(seen.value("audio_packets_in", 0), 50) << seen.dump();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  ASSERT_EQ(pr.error, "");
  EXPECT_EQ(pr.streams, 2);
  EXPECT_EQ(pr.video.codec, "h264");
  EXPECT_EQ(pr.audio.codec, "opus");
  EXPECT_GE(pr.video.packets, static_cast<int>(p.frames * 95 / 100)) << "sent " << p.frames;
  EXPECT_GE(pr.audio.packets, static_cast<int>(p.audio_packets * 90 / 100))
      << "sent " << p.audio_packets << " audio packets";
  std::printf("video: %d of %llu frames recorded (%.1f %%); audio: %d packets of %llu sent\n",
              pr.video.packets, static_cast<unsigned long long>(p.frames),
              100.0 * pr.video.packets / static_cast<double>(p.frames), pr.audio.packets,
              static_cast<unsigned long long>(p.audio_packets));
  expect_in_sync(pr, server.output());
  EXPECT_EQ(decode_errors(recs[0]), "");
}

// A publisher whose audio goes quiet (muted from the 1st second to the end, Opus DTX: almost
// no packets) still gives one continuous track that ends with the video.
TEST(RecordAudio, DtxAndMutedStretchKeepTheTrackContinuousAndInSync) {
  if (!have_ffmpeg())
    GTEST_SKIP() << "ffmpeg/ffprobe are not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  const Published p = publish_av(
      server, "dtx", 6,
      {"--audio", "--audio-dtx", "--audio-silence-from", "1", "--audio-silence-seconds", "30"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  ASSERT_EQ(pr.error, "");
  EXPECT_EQ(pr.audio.codec, "opus");
  EXPECT_GE(pr.video.packets, static_cast<int>(p.frames * 95 / 100)) << "sent " << p.frames;
  // The sender sent few packets; the track has one every 20 ms all the same.
  EXPECT_LT(p.audio_packets, 150U) << "DTX should have cut the packets: " << p.out;
  EXPECT_LT(pr.audio.widest_gap, 0.030) << server.output();
  EXPECT_GT(pr.audio.packets, 250) << server.output();
  expect_in_sync(pr, server.output());
  EXPECT_EQ(decode_errors(recs[0]), "");
}

TEST(RecordAudio, AacModeTranscodesInSync) {
  if (!have_ffmpeg())
    GTEST_SKIP() << "ffmpeg/ffprobe are not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--audio", "aac"});
  const Published p = publish_av(server, "aac", 5, {"--audio"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  ASSERT_EQ(pr.error, "");
  EXPECT_EQ(pr.audio.codec, "aac");
  EXPECT_GE(pr.video.packets, static_cast<int>(p.frames * 95 / 100)) << "sent " << p.frames;
  expect_in_sync(pr, server.output());
  EXPECT_EQ(decode_errors(recs[0]), "");
  EXPECT_NE(server.output().find("opus->aac"), std::string::npos) << server.output();
}

TEST(RecordAudio, AudioOnlyOfferIsRecorded) {
  if (!have_ffmpeg())
    GTEST_SKIP() << "ffmpeg/ffprobe are not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  const Published p = publish_av(server, "voice", 4, {"--audio-only"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  ASSERT_EQ(pr.error, "");
  EXPECT_EQ(pr.streams, 1);
  EXPECT_EQ(pr.audio.codec, "opus");
  EXPECT_GT(pr.audio.end - pr.audio.start, 3.0);
  EXPECT_LT(pr.audio.widest_gap, 0.030);
  EXPECT_EQ(decode_errors(recs[0]), "");
}

// --audio none keeps what the recorder did before audio was recorded: video only.
TEST(RecordAudio, AudioNoneRecordsVideoOnly) {
  if (!have_ffmpeg())
    GTEST_SKIP() << "ffmpeg/ffprobe are not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--audio", "none"});
  const Published p = publish_av(server, "mute", 3, {"--audio"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  EXPECT_EQ(pr.streams, 1);
  EXPECT_EQ(pr.video.codec, "h264");
}

namespace {

// Waits (bounded) until the one session has recorded `seconds` of video by /status.
bool wait_recording_seconds(Server &server, double seconds, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  double first_at = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto j = nlohmann::json::parse(http_get(server.url("/status")), nullptr, false);
    if (!j.is_discarded() && !j["sessions"].empty() &&
        j["sessions"][0].value("frames_out", 0) > 0) {
      const double now = j["sessions"][0].value("seconds", 0.0);
      if (first_at < 0)
        first_at = now;
      if (now - first_at >= seconds)
        return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// Per decoded video frame: (PTS s, width).
std::vector<std::pair<double, int>> frame_widths(const std::string &file) {
  std::vector<std::pair<double, int>> out;
  const auto j =
      nlohmann::json::parse(run({"/usr/bin/ffprobe", "-v", "error", "-select_streams", "v",
                                 "-show_entries", "frame=width,pts_time", "-of", "json", file})
                                .out,
                            nullptr, false);
  if (j.is_discarded())
    return out;
  for (const auto &f : j.value("frames", nlohmann::json::array()))
    if (f.contains("pts_time"))
      out.push_back({std::stod(f.value("pts_time", "0")), f.value("width", 0)});
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

// Chromium publishing a 1280x720 fake camera and a fake microphone from the page: audio is
// recorded in sync, the browser's bandwidth estimate rises above the start the answer gave it
// (only feedback can raise it: without the transport-wide-cc extension it stayed at 300-600
// kbit/s) and the recording is 1280x720 within 5 s of its first frame (it was 320 px wide,
// then 640 after 8 s). One browser run for all of it (the heaviest thing the tests start).
TEST(RecordAudio, HeadlessChromiumIsRecordedWithAudioAndReaches720pWithin5s) {
  if (!g_file_test("/usr/bin/chromium", G_FILE_TEST_IS_EXECUTABLE))
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  if (!have_ffmpeg())
    GTEST_SKIP() << "ffmpeg/ffprobe are not installed (apt-get install ffmpeg)";
  const std::string address = non_loopback_ipv4();
  if (address.empty())
    GTEST_SKIP() << "no non-loopback IPv4 interface: Chromium cannot do ICE on loopback only";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--ice-address", address});
  Browser browser(server, dir / "profile", "stream=chromium&stats=1", dir / "chromium.log");
  ASSERT_TRUE(browser.started());
  const bool recorded = wait_recording_seconds(server, 9.0, 90);
  browser.stop();
  const auto stats = browser.stats();
  double best_estimate = 0;
  for (const auto &st : stats)
    if (st.contains("available") && st["available"].is_number())
      best_estimate = std::max(best_estimate, st["available"].get<double>());
  std::printf("chromium: bandwidth estimate up to %.0f kbit/s (%zu stats lines)\n",
              best_estimate / 1000, stats.size());
  EXPECT_GT(best_estimate, 2400000.0) << "the estimate never rose above the start (2000 kbit/s)"
                                      << " + 20 %: no congestion feedback?\n"
                                      << server.output();
  ASSERT_TRUE(recorded) << "Chromium did not record 9 s within 90 s:\n" << server.output();
  // The browser is gone; DELETE its session (the page's Location, from /status): the file is
  // finalized.
  const auto status = nlohmann::json::parse(http_get(server.url("/status")), nullptr, false);
  ASSERT_FALSE(status.is_discarded() || status["sessions"].empty()) << server.output();
  EXPECT_EQ(request("DELETE", server.url(status["sessions"][0].value("location", ""))).status,
            200U);
  ASSERT_TRUE(server.wait_for("ended after", 15)) << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  ASSERT_EQ(pr.error, "");
  EXPECT_EQ(pr.streams, 2) << server.output();
  EXPECT_EQ(pr.audio.codec, "opus");
  EXPECT_GT(pr.video.packets, 150);
  expect_in_sync(pr, server.output());
  EXPECT_EQ(decode_errors(recs[0], true), "");
  const auto widths = frame_widths(recs[0]);
  ASSERT_FALSE(widths.empty());
  double full_at = -1;
  for (const auto &[pts, width] : widths)
    if (width >= 1280) {
      full_at = pts;
      break;
    }
  std::printf("chromium: first frame %dpx wide, 1280x720 after %.2f s (%zu frames)\n",
              widths.front().second, full_at < 0 ? -1.0 : full_at - widths.front().first,
              widths.size());
  ASSERT_GE(full_at, 0) << "never reached 1280 px wide\n" << server.output();
  EXPECT_LE(full_at - widths.front().first, 5.0) << server.output();
}

// The answer negotiates transport-wide congestion control where the offer proposes it: the
// header extension with the offer's id, rtcp-fb transport-cc, and a start bitrate for the
// browser's estimate. Before, the answer had rtcp-fb transport-cc but no a=extmap for it.
TEST(RecordAudio, AnswerNegotiatesTransportWideCongestionControl) {
  ScratchDir dir;
  Server server(dir / "rec");
  const std::string twcc =
      "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
  const std::string offer =
      "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
      "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
      "a=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\n"
      "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
      "a=extmap:5 " +
      twcc +
      "\r\na=rtpmap:102 H264/90000\r\na=rtcp-fb:102 goog-remb\r\n"
      "a=rtcp-fb:102 transport-cc\r\na=rtcp-fb:102 nack pli\r\n"
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n"
      "a=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
      "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
      "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\n"
      "a=extmap:5 " +
      twcc + "\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n";
  const Reply r = request("POST", server.url("/whip/cc"), offer, "application/sdp");
  ASSERT_EQ(r.status, 201U) << r.body << server.output();
  const std::string &answer = r.body;
  // Per m-section: the extension with the offer's id, and the feedback type.
  const auto video = answer.substr(answer.find("m=video"));
  const auto audio = answer.substr(answer.find("m=audio"));
  for (const std::string &section :
       {video.substr(0, video.find("m=audio")), audio.substr(0, audio.find("m=video"))}) {
    EXPECT_NE(section.find("a=extmap:5 " + twcc), std::string::npos) << answer;
    EXPECT_NE(section.find(" transport-cc"), std::string::npos) << answer;
    EXPECT_EQ(section.find("abs-send-time"), std::string::npos) << "not asked for\n" << answer;
  }
  EXPECT_NE(video.find("x-google-start-bitrate=2000"), std::string::npos) << answer;
}

// A publisher that vanishes without a DELETE (killed, network gone): ICE on 1.22 stays
// "connected", so the session used to stay open for ever (its slot taken, its file open).
// No RTP packet for --media-timeout ends it and finalizes the file.
TEST(RecordSession, VanishedPublisherEndsAfterTheMediaTimeout) {
  if (!have_ffmpeg())
    GTEST_SKIP() << "ffmpeg/ffprobe are not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--media-timeout", "2"});
  std::vector<std::string> args = {bin("keepup-whip-publish"),
                                   server.url("/whip/gone"),
                                   "--seconds",
                                   "60",
                                   "--ice-address",
                                   "127.0.0.1",
                                   "--size",
                                   "320x240",
                                   "--audio"};
  std::vector<gchar *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  GPid publisher = 0;
  ASSERT_TRUE(g_spawn_async(nullptr, argv.data(), nullptr,
                            static_cast<GSpawnFlags>(G_SPAWN_DO_NOT_REAP_CHILD |
                                                     G_SPAWN_STDOUT_TO_DEV_NULL |
                                                     G_SPAWN_STDERR_TO_DEV_NULL),
                            nullptr, nullptr, &publisher, nullptr));
  const bool started = server.wait_for("audio starts at", 20);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  kill(publisher, SIGKILL);
  waitpid(publisher, nullptr, 0);
  ASSERT_TRUE(started) << server.output();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(server.wait_for("ended after", 15)) << server.output();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::printf("session ended %.1f s after the publisher was killed\n", took);
  EXPECT_NE(server.output().find("ending (no media for 2 s)"), std::string::npos)
      << server.output();
  EXPECT_LT(took, 6.0);
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  EXPECT_EQ(pr.streams, 2);
  EXPECT_GT(pr.video.packets, 30);
  EXPECT_EQ(decode_errors(recs[0]), "");
  EXPECT_EQ(http_get(server.url("/status")).find("\"gone\""), std::string::npos)
      << "the slot is free";
}
