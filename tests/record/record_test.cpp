// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record as users run it: a real server process and real publishers on loopback
// (keepup-whip-publish, and headless Chromium on the page the server serves), every wait
// bounded. Recordings are checked by decoding them.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include <dirent.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "record_util.hpp"
#include "test_util.hpp"

using namespace keepup::test;
using namespace keepup::record_test;

namespace {

// The publisher at 640x360, the size these tests were written for.
Outcome publish_640(Server &server, const std::string &stream, int seconds,
                    std::vector<std::string> extra = {}) {
  return keepup::record_test::publish(server, stream, seconds, std::move(extra), "640x360");
}

struct Decoded {
  int frames = 0;
  bool starts_with_keyframe = false;
  std::string error;
};

Decoded decode(const std::string &ts) {
  Decoded d;
  GstElement *p = gst_parse_launch(("filesrc location=" + ts +
                                    " ! tsdemux ! h264parse name=parse ! avdec_h264 ! "
                                    "fakesink name=sink signal-handoffs=true")
                                       .c_str(),
                                   nullptr);
  // The first parsed access unit decides the keyframe question.
  struct First {
    bool seen = false, key = false;
  } first;
  GstElement *parse = gst_bin_get_by_name(GST_BIN(p), "parse");
  GstPad *pad = gst_element_get_static_pad(parse, "src");
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad *, GstPadProbeInfo *info, gpointer data) {
        auto *f = static_cast<First *>(data);
        if (!f->seen) {
          f->seen = true;
          f->key =
              !GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT);
        }
        return GST_PAD_PROBE_OK;
      },
      &first, nullptr);
  gst_object_unref(pad);
  gst_object_unref(parse);
  d.frames = count_handoffs_to_eos(p, d.error);
  d.starts_with_keyframe = first.key;
  gst_object_unref(p);
  return d;
}

// An offer webrtcbin answers without any peer behind it: the session is answered and then
// never connects (enough for the fd, timeout and no-media tests).
std::string synthetic_offer(const std::string &fingerprint =
                                "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                                "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF") {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
         "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
         "a=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
         "a=fingerprint:" +
         fingerprint +
         "\r\na=setup:actpass\r\na=rtpmap:96 H264/90000\r\n"
         "a=fmtp:96 packetization-mode=1\r\n";
}

int fd_count(GPid pid) {
  int n = 0;
  if (DIR *d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (const dirent *e = readdir(d))
      n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

long rss_kib(GPid pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::atol(line.c_str() + 6);
  return -1;
}

// Polls `done` every 50 ms until it holds or `timeout` passes.
template <typename F> bool eventually(F &&done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::size_t session_count(Server &server) {
  const auto j = nlohmann::json::parse(request("GET", server.url("/status")).body, nullptr, false);
  return j.is_discarded() ? 999 : j["sessions"].size();
}

std::vector<std::string> all_files(const std::string &dir) {
  return files(dir, "");
}

const char *kAudioOnly = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                         "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n";

} // namespace

TEST(Record, PublishedH264IsRecordedAndStartsWithAKeyframe) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  const Outcome p = publish_640(server, "cam1", 5);
  ASSERT_TRUE(p.ok) << p.out << server.output();
  ASSERT_GT(p.sent, 100U);
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  EXPECT_NE(recs[0].find("/cam1-"), std::string::npos);
  const Decoded d = decode(recs[0]);
  EXPECT_EQ(d.error, "");
  EXPECT_TRUE(d.starts_with_keyframe);
  EXPECT_GE(d.frames, static_cast<int>(p.sent * 9 / 10)) << "sent " << p.sent;
  EXPECT_TRUE(files(out, ".recording.ts").empty());
  EXPECT_NE(server.output().find("session"), std::string::npos) << "a log line per session";
}

// With --audio none, Opus audio is negotiated and received but not recorded (documented):
// the video must not suffer from it.
TEST(Record, OfferWithAudioStillRecordsAllVideo) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--audio", "none"});
  const Outcome p = publish_640(server, "av", 4, {"--audio"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U);
  const Decoded d = decode(recs[0]);
  EXPECT_EQ(d.error, "");
  EXPECT_GE(d.frames, static_cast<int>(p.sent * 9 / 10)) << "sent " << p.sent;
  EXPECT_NE(server.output().find("Opus audio received, not recorded"), std::string::npos);
}

TEST(Record, Vp8IsTranscodedToH264) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  const Outcome p = publish_640(server, "vp8cam", 5, {"--codec", "vp8"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U);
  const Decoded d = decode(recs[0]);
  EXPECT_EQ(d.error, "");
  EXPECT_TRUE(d.starts_with_keyframe);
  EXPECT_GE(d.frames, static_cast<int>(p.sent * 8 / 10)) << "sent " << p.sent;
  EXPECT_NE(server.output().find("vp8->h264"), std::string::npos);
}

TEST(Record, TwoConcurrentPublishersGiveTwoValidFiles) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  Outcome a;
  std::thread other([&]() { a = publish_640(server, "left", 4); });
  const Outcome b = publish_640(server, "right", 4);
  other.join();
  ASSERT_TRUE(a.ok && b.ok) << a.out << b.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 2U);
  for (const auto &r : recs) {
    const Decoded d = decode(r);
    EXPECT_EQ(d.error, "") << r;
    EXPECT_GT(d.frames, 90) << r;
  }
}

TEST(Record, SigtermFinalizesOpenRecordings) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  Outcome p;
  std::thread pub([&]() { p = publish_640(server, "term", 15); });
  ASSERT_TRUE(server.wait_recorded(45)) << server.output();
  const int status = server.stop(SIGTERM);
  pub.join();
  ASSERT_NE(status, -1) << "did not exit after SIGTERM:\n" << server.output();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << server.output();
  EXPECT_TRUE(files(out, ".recording.ts").empty());
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Decoded d = decode(recs[0]);
  EXPECT_EQ(d.error, "");
  EXPECT_GE(d.frames, 45);
}

TEST(Record, SigkillLeavesATempFileTheNextStartRecovers) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  {
    Server server(out);
    Outcome p;
    std::thread pub([&]() { p = publish_640(server, "crash", 15); });
    ASSERT_TRUE(server.wait_recorded(60)) << server.output();
    // The writer flushes at least once a second: let it have written something.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    server.stop(SIGKILL);
    pub.join();
  }
  ASSERT_EQ(files(out, ".recording.ts").size(), 1U);
  Server again(out);
  EXPECT_TRUE(files(out, ".recording.ts").empty()) << again.output();
  const auto recovered = files(out, ".ts");
  std::string found;
  for (const auto &f : recovered)
    if (f.find(".recovered-") != std::string::npos)
      found = f;
  ASSERT_FALSE(found.empty()) << again.output();
  const Decoded d = decode(found);
  EXPECT_EQ(d.error, "");
  EXPECT_GT(d.frames, 20);
  EXPECT_NE(again.output().find("recovered"), std::string::npos);
}

TEST(Record, BadRequestsGetTheirStatusAndDoNotDisturbOthers) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  // --audio none: an audio-only offer has nothing to record (with audio recorded, the
  // default, it is a session; see record_audio_test.cpp).
  Server server(out, {"--token", "s3cret", "--audio", "none"});
  const std::string offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                            "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n";
  struct Case {
    const char *what;
    std::string method, path, body, token;
    const char *type;
    guint status;
  };
  const std::vector<Case> cases = {
      {"no auth", "POST", "/whip/cam", offer, "", "application/sdp", 401},
      {"wrong token", "POST", "/whip/cam", offer, "nope", "application/sdp", 401},
      {"bad name", "POST", "/whip/bad%20name", offer, "s3cret", "application/sdp", 400},
      {"path trick", "POST", "/whip/..%2F..%2Fetc", offer, "s3cret", "application/sdp", 400},
      {"huge body", "POST", "/whip/cam", std::string(100 * 1024, 'v'), "s3cret", "application/sdp",
       413},
      {"garbage SDP", "POST", "/whip/cam", "this is not SDP", "s3cret", "application/sdp", 400},
      {"audio only", "POST", "/whip/cam", kAudioOnly, "s3cret", "application/sdp", 400},
      {"wrong type", "POST", "/whip/cam", offer, "s3cret", "text/plain", 415},
      {"unknown session", "DELETE", "/whip/cam/12345", "", "s3cret", "application/sdp", 404},
  };
  for (const auto &c : cases) {
    const Reply r = whip_request(c.method, server.url(c.path), c.body, c.type, c.token);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
  }
  // CORS preflight for a page on another origin.
  SoupSession *s = soup_session_new();
  SoupMessage *m = soup_message_new("OPTIONS", server.url("/whip/cam").c_str());
  soup_message_headers_replace(soup_message_get_request_headers(m), "Origin", "http://example.org");
  GBytes *b = soup_session_send_and_read(s, m, nullptr, nullptr);
  if (b)
    g_bytes_unref(b);
  SoupMessageHeaders *h = soup_message_get_response_headers(m);
  EXPECT_LT(soup_message_get_status(m), 300U);
  EXPECT_STREQ(soup_message_headers_get_one(h, "Access-Control-Allow-Origin"), "*");
  EXPECT_NE(std::string(soup_message_headers_get_one(h, "Access-Control-Allow-Headers"))
                .find("Authorization"),
            std::string::npos);
  EXPECT_NE(std::string(soup_message_headers_get_one(h, "Access-Control-Expose-Headers"))
                .find("Location"),
            std::string::npos);
  g_object_unref(m);
  g_object_unref(s);
  // After all that, a normal publish still works.
  const Outcome p = publish_640(server, "cam", 3, {"--token", "s3cret"});
  EXPECT_TRUE(p.ok) << p.out << server.output();
  EXPECT_EQ(recordings(out).size(), 1U);
}

TEST(Record, SessionLimitAnswers503) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--max-sessions", "1"});
  Outcome first;
  std::thread pub([&]() { first = publish_640(server, "one", 6); });
  ASSERT_TRUE(server.wait_recorded(10)) << server.output();
  const Outcome second = publish_640(server, "two", 2);
  pub.join();
  EXPECT_FALSE(second.ok);
  EXPECT_NE(second.out.find("503"), std::string::npos) << second.out;
  EXPECT_TRUE(first.ok) << first.out;
}

// Chromium publishing from the page the server serves. Chromium never uses loopback for
// ICE, so this needs a non-loopback interface; without one the test says so and skips.
TEST(Record, HeadlessChromiumPublishesFromThePage) {
  if (!g_file_test("/usr/bin/chromium", G_FILE_TEST_IS_EXECUTABLE))
    GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  const std::string address = non_loopback_ipv4();
  if (address.empty())
    GTEST_SKIP() << "no non-loopback IPv4 interface: Chromium cannot do ICE on loopback only";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--ice-address", address}, {}, false);
  // The page itself from localhost (a secure context, so getUserMedia exists); the media
  // goes over the interface's address.
  Browser browser(server, dir / "profile", "stream=browser&audio=0", "");
  ASSERT_TRUE(browser.started());
  const bool recorded = server.wait_recorded(90, 1, 60);
  browser.stop();
  ASSERT_TRUE(recorded) << "no frames from Chromium within 60 s:\n" << server.output();
  ASSERT_NE(server.stop(SIGTERM), -1);
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Decoded d = decode(recs[0]);
  EXPECT_EQ(d.error, "");
  EXPECT_GE(d.frames, 60) << server.output();
  std::printf("chromium: %d frames recorded\n%s", d.frames, server.output().c_str());
}

// The recorder died (std::out_of_range from an uncaught substr) on an offer whose fmtp has
// only spaces; no request may take the server down or touch other sessions.
TEST(Record, MalformedOffersNeverKillTheServer) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  Outcome p;
  std::thread pub([&]() { p = publish_640(server, "steady", 6); });
  ASSERT_TRUE(server.wait_recorded(10)) << server.output();
  // An offer with a NUL and bytes that are not UTF-8 after its last line (the length comes
  // from the array: the literal is 54 bytes, not 60 as once written).
  static const char kBinaryTail[] =
      "v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\0\xff\xfe";
  const std::vector<std::string> offers = {
      "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 \r\n",
      "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96    \r\n",
      "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/\r\na=fmtp:\r\n",
      "v=0\r\nm=video\r\na=rtpmap:\r\n",
      "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=fingerprint:\r\n",
      std::string(kBinaryTail, sizeof(kBinaryTail) - 1), // NUL and non-UTF-8 bytes kept
  };
  for (const auto &o : offers) {
    const Reply r = whip_request("POST", server.url("/whip/bad"), o);
    EXPECT_GE(r.status, 400U) << o << r.body;
    EXPECT_LT(r.status, 500U) << o << r.body;
    EXPECT_FALSE(r.body.empty()) << "the reason is in the body";
    ASSERT_TRUE(server.alive()) << server.output();
  }
  pub.join();
  EXPECT_TRUE(p.ok) << p.out << server.output();
  EXPECT_EQ(whip_request("GET", server.url("/status")).status, 200U);
  EXPECT_EQ(recordings(out).size(), 1U);
}

TEST(Record, MalformedFingerprintIs400WithTheReason) {
  ScratchDir dir;
  Server server(dir / "rec");
  for (const char *bad : {"sha-256 zz:11:22", "sha-256", "sha-256 00:11:22:33", "sha(256) 00:11"}) {
    const Reply r = whip_request("POST", server.url("/whip/fp"), synthetic_offer(bad));
    EXPECT_EQ(r.status, 400U) << bad << ": " << r.body;
    EXPECT_NE(r.body.find("fingerprint"), std::string::npos) << r.body;
  }
  const Reply good = whip_request("POST", server.url("/whip/fp"), synthetic_offer());
  EXPECT_EQ(good.status, 201U) << good.body << server.output();
  EXPECT_EQ(whip_request("DELETE", server.url(good.header("location"))).status, 200U);
}

// Every session used to keep its bus (two Unix sockets) and pipeline: 100 sessions took
// the server from 8 to 208 fds.
TEST(Record, PostDeleteCyclesReleaseFdsAndMemory) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  auto cycle = [&]() {
    const Reply r = whip_request("POST", server.url("/whip/cycle"), synthetic_offer());
    if (r.status != 201)
      return "POST " + std::to_string(r.status) + ": " + r.body;
    const Reply d = whip_request("DELETE", server.url(r.header("location")));
    return d.status == 200 ? std::string() : "DELETE " + std::to_string(d.status) + ": " + d.body;
  };
  // Warm up once: GStreamer's thread pools, the registry, libnice's first agent.
  ASSERT_EQ(cycle(), "") << server.output();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(cycle(), "") << server.output();
  const int fds_before = fd_count(server.pid());
  const long rss_before = rss_kib(server.pid());
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(cycle(), "") << "cycle " << i << "\n" << server.output();
  const bool settled = eventually([&]() { return fd_count(server.pid()) <= fds_before + 5; },
                                  std::chrono::seconds(5));
  const int fds_after = fd_count(server.pid());
  const long rss_after = rss_kib(server.pid());
  std::printf("fds %d -> %d, RSS %ld -> %ld KiB after 100 sessions\n", fds_before, fds_after,
              rss_before, rss_after);
  EXPECT_TRUE(settled) << "fds " << fds_before << " -> " << fds_after;
  EXPECT_LT(rss_after - rss_before, 6 * 1024) << "RSS grew from " << rss_before << " KiB";
  EXPECT_EQ(session_count(server), 0U);
}

// Answered sessions that never connect used to hold their slot forever (503 for everyone).
TEST(Record, UnconnectedSessionsEndAfterTheConnectTimeout) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out, {"--max-sessions", "2", "--connect-timeout", "1"});
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(whip_request("POST", server.url("/whip/ghost"), synthetic_offer()).status, 201U)
        << server.output();
  EXPECT_EQ(whip_request("POST", server.url("/whip/ghost"), synthetic_offer()).status, 503U);
  ASSERT_TRUE(eventually([&]() { return session_count(server) == 0; }, std::chrono::seconds(8)))
      << server.output();
  EXPECT_NE(server.output().find("no ICE connection within 1 s"), std::string::npos)
      << server.output();
  const Reply again = whip_request("POST", server.url("/whip/ghost"), synthetic_offer());
  EXPECT_EQ(again.status, 201U) << again.body;
  EXPECT_TRUE(all_files(out).empty()) << "no file for a session that never connected";
  // A real publisher within the timeout is not cut.
  const Outcome p = publish_640(server, "real", 3);
  EXPECT_TRUE(p.ok) << p.out << server.output();
}

// Sessions without media used to leave a 0-byte .ts each.
TEST(Record, SessionWithoutMediaLeavesNoFile) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  const Reply r = whip_request("POST", server.url("/whip/empty"), synthetic_offer());
  ASSERT_EQ(r.status, 201U) << r.body << server.output();
  EXPECT_TRUE(all_files(out).empty()) << "nothing on disk before the first frame";
  EXPECT_EQ(whip_request("DELETE", server.url(r.header("location"))).status, 200U);
  EXPECT_TRUE(all_files(out).empty()) << all_files(out).front();
}

// Two sessions for one stream name within one second used to share a path; one of them
// ended up as ".recording.ts.unrecoverable".
TEST(Record, TwoPublishesToOneStreamGiveTwoFiles) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  Outcome a;
  std::thread other([&]() { a = publish_640(server, "same", 4); });
  const Outcome b = publish_640(server, "same", 4);
  other.join();
  ASSERT_TRUE(a.ok && b.ok) << a.out << b.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 2U) << server.output();
  EXPECT_EQ(all_files(out).size(), 2U) << "no temp or unrecoverable files";
  for (const auto &r : recs) {
    EXPECT_NE(r.find("/same-"), std::string::npos) << r;
    const Decoded d = decode(r);
    EXPECT_EQ(d.error, "") << r;
    EXPECT_TRUE(d.starts_with_keyframe) << r;
    EXPECT_GT(d.frames, 90) << r;
  }
}

// ffmpeg saw "non monotonically increasing dts" at every IDR: rtph264pay config-interval=-1
// with sliced-thread x264 puts SPS/PPS between the slices of an IDR, the depayloader splits
// the picture, and the second half reached the file without timestamps. The publisher no
// longer sends that; the recorder must be clean with such a stream anyway.
TEST(Record, RecordingsHaveMonotonicDts) {
  if (!g_file_test("/usr/bin/ffmpeg", G_FILE_TEST_IS_EXECUTABLE))
    GTEST_SKIP() << "ffmpeg is not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  Outcome split;
  std::thread other([&]() {
    split = publish_640(server, "split", 5, {"--rtp-config-interval", "-1"});
  });
  const Outcome plain = publish_640(server, "plain", 5);
  other.join();
  ASSERT_TRUE(split.ok && plain.ok) << split.out << plain.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 2U);
  for (const auto &r : recs) {
    gchar *err = nullptr;
    gint status = 0;
    const std::string cmd = "ffmpeg -nostdin -v error -i " + r + " -f null -";
    ASSERT_TRUE(g_spawn_command_line_sync(cmd.c_str(), nullptr, &err, &status, nullptr));
    const std::string errors = err ? err : "";
    g_free(err);
    EXPECT_EQ(errors, "") << r;
    EXPECT_TRUE(g_spawn_check_wait_status(status, nullptr)) << r;
    const Decoded d = decode(r);
    EXPECT_GT(d.frames, 120) << r;
  }
}

// 200 idle connections used to be held for ever; they must not slow the server down and
// are closed after --idle-timeout.
TEST(Record, IdleConnectionsAreClosedAndStatusStaysFast) {
  ScratchDir dir;
  Server server(dir / "rec", {"--idle-timeout", "2"});
  const int fds_before = fd_count(server.pid());
  std::vector<int> socks;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 200; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
    if (i % 2) { // half of them start a request and never finish its headers
      ASSERT_GT(send(fd, "GET /status HTTP/1.1\r\nHost: x\r\n", 31, 0), 0);
    }
    socks.push_back(fd);
  }
  ASSERT_TRUE(eventually([&]() { return fd_count(server.pid()) >= fds_before + 200; },
                         std::chrono::seconds(5)))
      << "the server accepted " << fd_count(server.pid()) - fds_before << " (fds " << fds_before
      << " -> " << fd_count(server.pid()) << ")";
  double worst_ms = 0;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const Reply r = whip_request("GET", server.url("/status"));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.status, 200U);
    worst_ms = std::max(worst_ms, ms);
  }
  std::printf("/status with 200 idle connections: worst %.1f ms\n", worst_ms);
  EXPECT_LT(worst_ms, 200.0);
  // Every idle connection is closed by the server (EOF) within the timeout plus slack.
  auto all_closed = [&]() {
    std::vector<pollfd> fds;
    for (int fd : socks)
      fds.push_back({fd, POLLIN, 0});
    poll(fds.data(), fds.size(), 0);
    for (const auto &p : fds) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
        return false;
      char c;
      if (recv(p.fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) > 0)
        return false; // an answer, not a close
    }
    return true;
  };
  EXPECT_TRUE(eventually(all_closed, std::chrono::seconds(8)));
  for (int fd : socks)
    close(fd);
  EXPECT_TRUE(eventually([&]() { return fd_count(server.pid()) <= fds_before + 5; },
                         std::chrono::seconds(5)))
      << "fds " << fds_before << " -> " << fd_count(server.pid());
}

// Two recorders on one folder: the second one's start-up recovery would rename the first
// one's live temp files (they look like crash leftovers). The second refuses to start.
TEST(Record, ASecondRecorderOnTheSameFolderRefusesToStart) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Server server(out);
  Outcome p;
  std::thread pub([&]() { p = publish_640(server, "live", 4); });
  ASSERT_TRUE(server.wait_recorded(20)) << server.output();
  const auto temps = files(out, ".recording.ts");
  ASSERT_EQ(temps.size(), 1U);
  const Outcome second =
      run({bin("keepup-record"), "--listen", "127.0.0.1:" + std::to_string(free_port()),
           "--output-dir", out, "--ice-address", "127.0.0.1"});
  EXPECT_FALSE(second.ok);
  EXPECT_NE(second.out.find("in use by another keepup-record"), std::string::npos) << second.out;
  EXPECT_EQ(files(out, ".recording.ts"), temps) << "the live temp file was left alone";
  pub.join();
  ASSERT_TRUE(p.ok) << p.out << server.output();
  ASSERT_NE(server.stop(SIGTERM), -1);
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  EXPECT_EQ(decode(recs[0]).error, "");
  // The lock goes with the process: a recorder starts on the folder again.
  Server again(out);
  EXPECT_TRUE(again.alive()) << again.output();
}
