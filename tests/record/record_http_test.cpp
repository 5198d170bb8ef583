// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's HTTP side as clients use it: trickle ICE (PATCH), ICE-server Link headers,
// /recordings with Range, /metrics, segments with the hook, retention, and /status under a
// comma-decimal locale. A real server process and real publishers on loopback, every wait
// bounded; recordings are checked with ffprobe/ffmpeg.
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <libsoup/soup.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utime.h>

#include <chrono>
#include <condition_variable>
#include <clocale>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "record_util.hpp"
#include "test_util.hpp"

using namespace keepup::test;
using namespace keepup::record_test;

namespace {

// An offer webrtcbin answers without any peer behind it (ufrag abcd).
const std::string kOffer =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
    "a=rtcp-mux\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
    "a=setup:actpass\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n";

constexpr const char *kFrag = "application/trickle-ice-sdpfrag";

bool have_ffprobe() {
  return g_file_test("/usr/bin/ffprobe", G_FILE_TEST_IS_EXECUTABLE) &&
         g_file_test("/usr/bin/ffmpeg", G_FILE_TEST_IS_EXECUTABLE);
}

struct Probe {
  std::vector<std::string> codecs; // per stream
  bool first_video_frame_key = false;
  std::string decode_errors;
};

Probe probe(const std::string &file) {
  Probe p;
  const Outcome streams = run({"/usr/bin/ffprobe", "-v", "error", "-show_entries",
                               "stream=codec_name", "-of", "csv=p=0", file});
  std::istringstream in(streams.out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      p.codecs.push_back(line);
  const Outcome frames =
      run({"/usr/bin/ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
           "-show_entries", "frame=key_frame", "-of", "csv=p=0", file});
  p.first_video_frame_key = frames.out.rfind("1", 0) == 0;
  p.decode_errors = run({"/usr/bin/ffmpeg", "-v", "error", "-i", file, "-f", "null", "-"}).out;
  return p;
}

bool has(const std::vector<std::string> &v, const std::string &x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Every sample line of a Prometheus text: name{labels} value, the value a C-locale number.
std::map<std::string, double> parse_metrics(const std::string &text, std::string &error) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#')
      continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) {
      error = "no value: " + line;
      return out;
    }
    const std::string value = line.substr(space + 1);
    char *end = nullptr;
    const double v = value == "+Inf" ? INFINITY : g_ascii_strtod(value.c_str(), &end);
    if (value != "+Inf" && (!end || *end)) {
      error = "not a number: " + line;
      return out;
    }
    out[line.substr(0, space)] = v;
  }
  return out;
}

// A WHIP endpoint that answers every request with 307 to `target` (its own thread and loop).
class Redirector {
public:
  explicit Redirector(std::string target) : target_(std::move(target)), port_(free_port()) {
    ctx_ = g_main_context_new();
    loop_ = g_main_loop_new(ctx_, FALSE);
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;
    thread_ = std::thread([&, this]() {
      g_main_context_push_thread_default(ctx_);
      SoupServer *server = soup_server_new(nullptr, nullptr);
      soup_server_add_handler(
          server, nullptr,
          [](SoupServer *, SoupServerMessage *msg, const char *, GHashTable *, gpointer d) {
            soup_server_message_set_redirect(msg, SOUP_STATUS_TEMPORARY_REDIRECT,
                                             static_cast<Redirector *>(d)->target_.c_str());
          },
          this, nullptr);
      soup_server_listen_local(server, static_cast<guint>(port_), SOUP_SERVER_LISTEN_IPV4_ONLY,
                               nullptr);
      {
        std::lock_guard<std::mutex> lk(m);
        ready = true;
      }
      cv.notify_one();
      g_main_loop_run(loop_);
      soup_server_disconnect(server);
      g_object_unref(server);
      g_main_context_pop_thread_default(ctx_);
    });
    std::unique_lock<std::mutex> lk(m);
    cv.wait(lk, [&]() { return ready; });
  }
  ~Redirector() {
    g_main_context_invoke(
        ctx_,
        [](gpointer d) -> gboolean {
          g_main_loop_quit(static_cast<GMainLoop *>(d));
          return G_SOURCE_REMOVE;
        },
        loop_);
    thread_.join();
    g_main_loop_unref(loop_);
    g_main_context_unref(ctx_);
  }
  std::string url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

private:
  std::string target_;
  int port_;
  GMainContext *ctx_ = nullptr;
  GMainLoop *loop_ = nullptr;
  std::thread thread_;
};

} // namespace

// keepup-whip-publish follows a 307 on its POST, and the session URL (DELETE, PATCH) is
// resolved against where the POST ended up.
TEST(RecordHttp, PublisherFollowsATemporaryRedirect) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out);
  Redirector front(server.url("/whip/moved"));
  const Outcome p = run({bin("keepup-whip-publish"), front.url("/whip/cam"), "--seconds", "2",
                         "--ice-address", "127.0.0.1", "--size", "320x240", "--trickle"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  EXPECT_NE(p.out.find("redirected (307) to " + server.url("/whip/moved")), std::string::npos)
      << p.out;
  EXPECT_NE(p.out.find("(session " + server.url("/whip/moved/")), std::string::npos) << p.out;
  EXPECT_NE(server.output().find("ending (DELETE)"), std::string::npos) << server.output();
  EXPECT_NE(server.output().find("trickled"), std::string::npos) << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_NE(recs[0].find("/moved-"), std::string::npos);
}

// A publisher that trickles its candidates (PATCH) is recorded, and the server took them.
TEST(RecordHttp, TricklingPublisherIsRecorded) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out);
  const Outcome p = publish(server, "trickle", 4, {"--trickle"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const unsigned long long patches = number_after(p.out, "candidates in ");
  EXPECT_GE(patches, 1u) << p.out;
  EXPECT_NE(p.out.find("(end-of-candidates sent)"), std::string::npos) << p.out;
  EXPECT_NE(server.output().find("trickled"), std::string::npos) << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1u) << server.output();
  std::string error;
  GstElement *pipe = gst_parse_launch(("filesrc location=" + recs[0] +
                                       " ! tsdemux ! h264parse ! avdec_h264 ! "
                                       "fakesink name=sink signal-handoffs=true")
                                          .c_str(),
                                      nullptr);
  const int frames = count_handoffs_to_eos(pipe, error);
  gst_object_unref(pipe);
  EXPECT_EQ(error, "");
  const unsigned long long sent = number_after(p.out, "sent ");
  EXPECT_GE(static_cast<unsigned long long>(frames), sent * 9 / 10) << "sent " << sent;
  const auto metrics = request("GET", server.url("/metrics")).body;
  EXPECT_NE(metrics.find("keepup_record_trickle_requests_total " + std::to_string(patches)),
            std::string::npos)
      << metrics;
}

// Every answer to a PATCH the RFC names: 204, 412 (ETag), 415, 400, 422, 405 (ICE restart).
TEST(RecordHttp, PatchChecksETagTypeFragmentAndRestart) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out);
  const Reply post = request("POST", server.url("/whip/cam"), kOffer, "application/sdp");
  ASSERT_EQ(post.status, 201u) << post.body << server.output();
  const std::string etag = post.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(post.header("accept-patch"), kFrag);
  const std::string session = server.url(post.header("location"));
  const std::string cand = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
                           "a=candidate:1 1 UDP 2013266431 127.0.0.1 40000 typ host\r\n";
  const std::string creds = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n";

  Reply r = request("PATCH", session, creds + cand, kFrag, {{"If-Match", etag}});
  EXPECT_EQ(r.status, 204u) << r.body;
  EXPECT_EQ(r.header("etag"), etag);
  r = request("PATCH", session, cand + "a=end-of-candidates\r\n", kFrag); // no If-Match: taken
  EXPECT_EQ(r.status, 204u) << r.body;
  r = request("PATCH", session, creds + cand, kFrag, {{"If-Match", "\"0000000000000000\""}});
  EXPECT_EQ(r.status, 412u) << r.body;
  EXPECT_NE(r.body.find("ETag"), std::string::npos) << r.body;
  r = request("PATCH", session, creds + cand, "application/sdp", {{"If-Match", etag}});
  EXPECT_EQ(r.status, 415u) << r.body;
  r = request("PATCH", session, "m=video 9 X 96\r\na=candidate:1 1 UDP 1 h 70000 typ host\r\n",
              kFrag, {{"If-Match", etag}});
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(r.body.find("port"), std::string::npos) << r.body;
  r = request("PATCH", session, "m=video 9 X 96\r\na=mid:7\r\n", kFrag, {{"If-Match", etag}});
  EXPECT_EQ(r.status, 422u) << r.body;
  r = request("PATCH", session, "a=ice-ufrag:efgh\r\na=ice-pwd:zyxwvutsrqponmlkjihgfedc\r\n" + cand,
              kFrag, {{"If-Match", "*"}});
  EXPECT_EQ(r.status, 405u) << r.body;
  EXPECT_NE(r.body.find("ICE restart"), std::string::npos) << r.body;
  r = request("PATCH", server.url("/whip/cam/no-such"), cand, kFrag);
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(server.output().find("trickled 1 candidate(s)"), std::string::npos);

  // The publisher with a stale ETag fails with the server's 412.
  const Outcome p =
      publish(server, "stale", 2, {"--trickle", "--if-match", "\"0000000000000000\""});
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.out.find("answered 412"), std::string::npos) << p.out;
}

// --stun / --turn: Link rel="ice-server" on the 201 and on OPTIONS (TURN credentials only to
// clients that pass the token check); a bad URI stops the server with a message.
TEST(RecordHttp, IceServersAreAdvertisedInLinkHeaders) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out, {"--token", "s3cret", "--stun", "stun:127.0.0.1:3478", "--turn",
                      "turn://user:pass@127.0.0.1:3479?transport=udp"});
  const std::string stun = "<stun:127.0.0.1:3478>; rel=\"ice-server\"";
  const std::string turn = "<turn:127.0.0.1:3479?transport=udp>; rel=\"ice-server\"; "
                           "username=\"user\"; credential=\"pass\"; credential-type=\"password\"";
  Reply r = request("OPTIONS", server.url("/whip/cam"));
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(r.all("link"), std::vector<std::string>{stun});
  r = request("OPTIONS", server.url("/whip/cam"), "", nullptr,
              {{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(r.all("link"), (std::vector<std::string>{stun, turn}));
  r = request("POST", server.url("/whip/cam"), kOffer, "application/sdp",
              {{"Authorization", "Bearer s3cret"}});
  ASSERT_EQ(r.status, 201u) << r.body << server.output();
  EXPECT_EQ(r.all("link"), (std::vector<std::string>{stun, turn}));
  EXPECT_NE(r.header("access-control-expose-headers").find("Link"), std::string::npos);

  const Outcome bad = run({bin("keepup-record"), "--listen", "127.0.0.1:1", "--turn", "turn:host"});
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.out.find("--turn: a TURN server needs user:password@"), std::string::npos)
      << bad.out;
}

// GET /recordings lists the file; GET /recordings/<name> serves it whole or by range, behind
// the token, and nothing outside the folder.
TEST(RecordHttp, RecordingsAreListedAndServedWithRanges) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out, {"--token", "s3cret"});
  const Outcome p = publish(server, "cam", 3, {"--token", "s3cret"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1u);
  const std::string bytes = read_file(recs[0]);
  const std::string name = recs[0].substr(recs[0].rfind('/') + 1);
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer s3cret"}};

  EXPECT_EQ(request("GET", server.url("/recordings")).status, 401u);
  Reply list = request("GET", server.url("/recordings"), "", nullptr, auth);
  ASSERT_EQ(list.status, 200u);
  const auto j = nlohmann::json::parse(list.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << list.body;
  ASSERT_EQ(j["recordings"].size(), 1u) << list.body;
  const auto &f = j["recordings"][0];
  EXPECT_EQ(f["name"], name);
  EXPECT_EQ(f["bytes"].get<std::size_t>(), bytes.size());
  EXPECT_EQ(f["stream"], "cam");
  EXPECT_GT(f["duration_s"].get<double>(), 1.5) << list.body;
  EXPECT_LT(f["duration_s"].get<double>(), 6.0) << list.body;
  EXPECT_TRUE(f["segment"].is_null());

  const std::string url = server.url("/recordings/" + name);
  EXPECT_EQ(request("GET", url).status, 401u);
  Reply whole = request("GET", url, "", nullptr, auth);
  ASSERT_EQ(whole.status, 200u);
  EXPECT_EQ(whole.body, bytes);
  EXPECT_EQ(whole.header("accept-ranges"), "bytes");
  EXPECT_EQ(whole.header("content-type"), "video/mp2t");
  EXPECT_EQ(request("GET", url + "?token=s3cret").status, 200u); // for <video src>
  EXPECT_EQ(request("GET", url + "?token=wrong").status, 401u);

  Reply part = request("GET", url, "", nullptr, {auth[0], {"Range", "bytes=188-375"}});
  EXPECT_EQ(part.status, 206u);
  EXPECT_EQ(part.header("content-range"), "bytes 188-375/" + std::to_string(bytes.size()));
  EXPECT_EQ(part.body, bytes.substr(188, 188));
  part = request("GET", url, "", nullptr, {auth[0], {"Range", "bytes=-188"}});
  EXPECT_EQ(part.status, 206u);
  EXPECT_EQ(part.body, bytes.substr(bytes.size() - 188));
  part = request("GET", url, "", nullptr, {auth[0], {"Range", "bytes=100-"}});
  EXPECT_EQ(part.body, bytes.substr(100));
  for (const std::string &range : {"bytes=" + std::to_string(bytes.size()) + "-",
                                   std::string("bytes=0-1,5-6"), std::string("bytes=x-y")}) {
    const Reply bad = request("GET", url, "", nullptr, {auth[0], {"Range", range}});
    EXPECT_EQ(bad.status, 416u) << range;
    EXPECT_EQ(bad.header("content-range"), "bytes */" + std::to_string(bytes.size())) << range;
  }
  // Nothing but finished recordings: no traversal (libsoup refuses some paths itself with
  // 400), no temp files, no other files.
  for (const char *bad : {"..%2Fserver.log", "%2E%2E/x.ts", "x.recording.ts", "nope.ts"}) {
    const guint status =
        request("GET", server.url(std::string("/recordings/") + bad), "", nullptr, auth).status;
    EXPECT_TRUE(status == 404u || status == 400u) << bad << ": " << status;
  }
  EXPECT_EQ(request("DELETE", url, "", nullptr, auth).status, 405u);
}

// GET /metrics is valid Prometheus text and counts a session.
TEST(RecordHttp, MetricsCountASession) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out);
  std::string error;
  auto m = parse_metrics(request("GET", server.url("/metrics")).body, error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(m["keepup_record_sessions_started_total"], 0);
  EXPECT_GT(m["keepup_record_disk_free_bytes"], 0);
  const Outcome p = publish(server, "cam", 3);
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const Reply r = request("GET", server.url("/metrics"));
  EXPECT_EQ(r.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  m = parse_metrics(r.body, error);
  ASSERT_EQ(error, "") << r.body;
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(m["keepup_record_sessions_started_total"], 1) << r.body;
  EXPECT_EQ(m["keepup_record_sessions_ended_total{reason=\"delete\"}"], 1) << r.body;
  EXPECT_EQ(m["keepup_record_sessions_active{phase=\"recording\"}"], 0);
  EXPECT_EQ(m["keepup_record_bytes_written_total"], static_cast<double>(read_file(recs[0]).size()));
  const double sent = static_cast<double>(number_after(p.out, "sent "));
  EXPECT_GE(m["keepup_record_video_frames_recorded_total"], sent * 0.9) << r.body;
  EXPECT_GE(m["keepup_record_video_frames_received_total"],
            m["keepup_record_video_frames_recorded_total"]);
  EXPECT_GT(m["keepup_record_rtp_packets_received_total"], sent) << r.body;
  EXPECT_EQ(m["keepup_record_time_to_first_frame_seconds_count"], 1) << r.body;
  EXPECT_EQ(m["keepup_record_time_to_first_frame_seconds_bucket{le=\"+Inf\"}"], 1);
  EXPECT_GT(m["keepup_record_time_to_first_frame_seconds_sum"], 0);
  for (const char *family :
       {"keepup_record_sessions_active gauge", "keepup_record_sessions_ended_total counter",
        "keepup_record_time_to_first_frame_seconds histogram",
        "keepup_record_rtp_packets_lost_total counter", "keepup_record_nack_sent_total counter",
        "keepup_record_pli_sent_total counter",
        "keepup_record_audio_packets_recorded_total counter"})
    EXPECT_NE(r.body.find(std::string("# TYPE ") + family), std::string::npos) << family;
}

// --segment-seconds: several files, each playable alone (its own PAT/PMT, a keyframe first, the
// audio too when it is recorded); --on-segment-complete runs once per file with its path.
TEST(RecordHttp, SegmentsPlayAloneAndTheHookRunsForEach) {
  if (!have_ffprobe())
    GTEST_SKIP() << "ffprobe/ffmpeg not installed (apt-get install ffmpeg)";
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  const std::string hook_log = dir / "hooks.txt";
  Server server(out, {"--segment-seconds", "2", "--on-segment-complete",
                      "/bin/sh -c 'echo \"$0\" >> " + hook_log + "'"});
  const Outcome p = publish(server, "seg", 7, {"--audio"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_GE(recs.size(), 3u) << server.output();
  const bool audio_recorded = server.output().find("recorded as Opus") != std::string::npos;
  for (const auto &f : recs) {
    EXPECT_NE(f.find("/seg-"), std::string::npos);
    const Probe pr = probe(f);
    EXPECT_TRUE(has(pr.codecs, "h264")) << f;
    if (audio_recorded) {
      EXPECT_TRUE(has(pr.codecs, "opus")) << f;
    }
    EXPECT_TRUE(pr.first_video_frame_key) << f;
    EXPECT_EQ(pr.decode_errors, "") << f;
  }
  // The hook's runs are asynchronous: wait for the last one.
  ASSERT_TRUE(server.wait_for("hook: done for " + recs.back())) << server.output();
  std::vector<std::string> hooked;
  std::istringstream in(read_file(hook_log));
  for (std::string line; std::getline(in, line);)
    hooked.push_back(line);
  std::sort(hooked.begin(), hooked.end());
  EXPECT_EQ(hooked, recs);
  g_remove(hook_log.c_str());
  const auto j =
      nlohmann::json::parse(request("GET", server.url("/recordings")).body, nullptr, false);
  ASSERT_EQ(j["recordings"].size(), recs.size());
  EXPECT_EQ(j["recordings"][0]["segment"], 0);
}

// --retain-gb / --retain-hours: the oldest finished files go first; the rest stay.
TEST(RecordHttp, RetentionDeletesTheOldestFinishedFiles) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  g_mkdir_with_parents(out.c_str(), 0755);
  const std::time_t now = std::time(nullptr);
  const auto make = [&](const std::string &name, std::time_t mtime) {
    const std::string path = out + "/" + name;
    std::ofstream(path, std::ios::binary) << std::string(600, '\x47');
    utimbuf t{mtime, mtime};
    utime(path.c_str(), &t);
    return path;
  };
  const std::string ancient = make("a-20200101T000000Z.ts", now - 5 * 3600);
  const std::string oldest = make("b-20200101T000000Z.ts", now - 300);
  const std::string older = make("c-20200101T000000Z.ts", now - 200);
  const std::string newest = make("d-20200101T000000Z.ts", now - 100);
  const std::string other = out + "/notes.txt";
  std::ofstream(other) << std::string(5000, 'x');
  // 4 files of 600 bytes: 4 h age limit takes `ancient`; 1300 bytes take `oldest` too.
  Server server(out, {"--retain-hours", "4", "--retain-gb", "0.0000013"});
  EXPECT_FALSE(g_file_test(ancient.c_str(), G_FILE_TEST_EXISTS));
  EXPECT_FALSE(g_file_test(oldest.c_str(), G_FILE_TEST_EXISTS));
  EXPECT_TRUE(g_file_test(older.c_str(), G_FILE_TEST_EXISTS));
  EXPECT_TRUE(g_file_test(newest.c_str(), G_FILE_TEST_EXISTS));
  EXPECT_TRUE(g_file_test(other.c_str(), G_FILE_TEST_EXISTS)) << "not a recording";
  EXPECT_NE(server.output().find("retention: deleted " + ancient), std::string::npos);
  std::string error;
  auto m = parse_metrics(request("GET", server.url("/metrics")).body, error);
  EXPECT_EQ(m["keepup_record_retention_deleted_total"], 2);
}

// /status, /metrics and /recordings stay machine-readable under a comma-decimal locale.
TEST(RecordHttp, StatusParsesUnderACommaDecimalLocale) {
  ScratchDir dir;
  const std::string locales = dir / "locales";
  g_mkdir_with_parents(locales.c_str(), 0755);
  Cleanup clean_locale_root{locales};
  Cleanup clean_locales{locales + "/de_DE.UTF-8"};
  const Outcome gen =
      run({"/usr/bin/localedef", "-i", "de_DE", "-f", "UTF-8", locales + "/de_DE.UTF-8"});
  if (!g_file_test((locales + "/de_DE.UTF-8/LC_NUMERIC").c_str(), G_FILE_TEST_EXISTS))
    GTEST_SKIP() << "cannot generate de_DE.UTF-8 with localedef (install locales): " << gen.out;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out, {}, {"LOCPATH=" + locales, "LC_ALL=de_DE.UTF-8"});
  const Outcome p = publish(server, "cam", 3);
  ASSERT_TRUE(p.ok) << p.out << server.output();
  // The server runs in the locale (its human log has a decimal comma), so a printf-style
  // number in the machine output would show here.
  ASSERT_TRUE(server.wait_for("ended after ")) << server.output();
  const std::string log = server.output();
  const auto ended = log.find("ended after ");
  EXPECT_NE(log.substr(ended, 20).find(','), std::string::npos) << log.substr(ended, 40);
  const auto status =
      nlohmann::json::parse(request("GET", server.url("/status")).body, nullptr, false);
  ASSERT_FALSE(status.is_discarded());
  const auto list =
      nlohmann::json::parse(request("GET", server.url("/recordings")).body, nullptr, false);
  ASSERT_FALSE(list.is_discarded());
  ASSERT_GE(list["recordings"].size(), 1u);
  EXPECT_TRUE(list["recordings"][0]["duration_s"].is_number());
  std::string error;
  const auto m = parse_metrics(request("GET", server.url("/metrics")).body, error);
  EXPECT_EQ(error, "");
  // A fraction (a duration may come out whole: 90 frames are 3 s), written with a point.
  const double ttff = m.at("keepup_record_time_to_first_frame_seconds_sum");
  EXPECT_GT(ttff, 0);
  EXPECT_NE(ttff, std::floor(ttff));
}

// With a limit every finished segment exceeds, each is deleted once finished, while the file
// being written is left alone: the session still finishes its last segment cleanly.
TEST(RecordHttp, RetentionNeverDeletesTheFileBeingWritten) {
  ScratchDir dir;
  const std::string out = dir / "rec";
  Cleanup clean{out};
  Server server(out, {"--segment-seconds", "2", "--retain-gb", "0.000001"});
  const Outcome p = publish(server, "tiny", 6);
  ASSERT_TRUE(p.ok) << p.out << server.output();
  ASSERT_TRUE(server.wait_for("ended after")) << server.output();
  const std::string log = server.output();
  std::size_t deleted = 0;
  for (auto at = log.find("retention: deleted"); at != std::string::npos;
       at = log.find("retention: deleted", at + 1)) {
    ++deleted;
    const std::string line = log.substr(at, log.find('\n', at) - at);
    EXPECT_FALSE(g_str_has_suffix(line.c_str(), ".recording.ts")) << line;
  }
  EXPECT_GE(deleted, 2u) << log;
  EXPECT_EQ(log.find("error from"), std::string::npos) << log;
  EXPECT_TRUE(recordings(out).empty()) << "every finished segment is over the limit";
}
