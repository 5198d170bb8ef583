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

#include "test_util.hpp"

using namespace keepup::test;

namespace {

std::string bin(const char *name) {
  return std::string(KEEPUP_TEST_BUILD_DIR) + "/bin/" + name;
}

int free_port() {
  GSocketListener *l = g_socket_listener_new();
  const guint16 port = g_socket_listener_add_any_inet_port(l, nullptr, nullptr);
  g_socket_listener_close(l);
  g_object_unref(l);
  return port;
}

std::string http_get(const std::string &url) {
  SoupSession *s = soup_session_new_with_options("timeout", 10, nullptr);
  SoupMessage *m = soup_message_new("GET", url.c_str());
  std::string body;
  if (m) {
    if (GBytes *reply = soup_session_send_and_read(s, m, nullptr, nullptr)) {
      gsize n = 0;
      const auto *d = static_cast<const char *>(g_bytes_get_data(reply, &n));
      if (soup_message_get_status(m) == 200)
        body.assign(d ? d : "", n);
      g_bytes_unref(reply);
    }
    g_object_unref(m);
  }
  g_object_unref(s);
  return body;
}

// Runs a command line to its end; stdout + stderr.
std::string run(const std::vector<std::string> &args, bool *ok = nullptr) {
  std::vector<gchar *> argv;
  for (const auto &a : args)
    argv.push_back(const_cast<gchar *>(a.c_str()));
  argv.push_back(nullptr);
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  std::string text;
  const bool ran = g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_SEARCH_PATH, nullptr,
                                nullptr, &out, &err, &status, nullptr);
  if (ok)
    *ok = ran && g_spawn_check_wait_status(status, nullptr);
  text = std::string(out ? out : "") + (err ? err : "");
  g_free(out);
  g_free(err);
  return text;
}

class Server {
public:
  // loopback_ice: ICE on 127.0.0.1 (keepup-whip-publish); else on `ice_address` (Chromium).
  explicit Server(const std::string &dir, std::vector<std::string> extra = {},
                  const std::string &ice_address = "127.0.0.1")
      : port_(free_port()) {
    std::vector<std::string> args = {bin("keepup-record"),
                                     "--listen",
                                     (ice_address == "127.0.0.1" ? "127.0.0.1:" : "0.0.0.0:") +
                                         std::to_string(port_),
                                     "--output-dir",
                                     dir,
                                     "--ice-address",
                                     ice_address};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<gchar *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    gint out_fd = -1;
    GError *err = nullptr;
    if (!g_spawn_async_with_pipes(nullptr, argv.data(), nullptr, G_SPAWN_DO_NOT_REAP_CHILD, nullptr,
                                  nullptr, &pid_, nullptr, &out_fd, nullptr, &err)) {
      ADD_FAILURE() << (err ? err->message : "spawn");
      g_clear_error(&err);
      return;
    }
    reader_ = std::thread([fd = out_fd, this]() {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) {
        std::lock_guard<std::mutex> lk(m_);
        output_.append(buf, static_cast<std::size_t>(n));
      }
      close(fd);
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (!http_get(url("/status")).empty())
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "keepup-record did not come up:\n" << output();
  }
  ~Server() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable())
      reader_.join();
  }
  std::string url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // SIGTERM and a bounded wait for the exit: every open recording is finalized.
  bool stop() {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_)
        return reaped_ = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  std::string output() {
    std::lock_guard<std::mutex> lk(m_);
    return output_;
  }

private:
  int port_;
  GPid pid_ = 0;
  bool reaped_ = false;
  std::thread reader_;
  std::mutex m_;
  std::string output_;
};

struct Published {
  bool ok = false;
  guint64 frames = 0, audio_packets = 0;
  std::string out;
};

Published publish(const Server &server, const std::string &stream, int seconds,
                  std::vector<std::string> extra) {
  std::vector<std::string> args = {bin("keepup-whip-publish"),
                                   server.url("/whip/" + stream),
                                   "--seconds",
                                   std::to_string(seconds),
                                   "--ice-address",
                                   "127.0.0.1",
                                   "--size",
                                   "640x360"};
  args.insert(args.end(), extra.begin(), extra.end());
  Published p;
  p.out = run(args, &p.ok);
  if (const auto at = p.out.find("sent "); at != std::string::npos)
    p.frames = std::strtoull(p.out.c_str() + at + 5, nullptr, 10);
  if (const auto at = p.out.find(" audio packets"); at != std::string::npos) {
    const auto from = p.out.rfind("sent ", at);
    if (from != std::string::npos)
      p.audio_packets = std::strtoull(p.out.c_str() + from + 5, nullptr, 10);
  }
  return p;
}

std::vector<std::string> recordings(const std::string &dir) {
  std::vector<std::string> out;
  GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
  while (const gchar *n = d ? g_dir_read_name(d) : nullptr)
    if (g_str_has_suffix(n, ".ts") && !g_str_has_suffix(n, ".recording.ts"))
      out.push_back(dir + "/" + n);
  if (d)
    g_dir_close(d);
  return out;
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
      nlohmann::json::parse(run({"ffprobe", "-v", "error", "-show_entries",
                                 "stream=index,codec_type,codec_name", "-of", "json", file}),
                            nullptr, false);
  const auto packets = nlohmann::json::parse(
      run({"ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts_time,duration_time",
           "-of", "json", file}),
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

// ffmpeg's complaints while decoding the whole file; empty when clean.
std::string decode_errors(const std::string &file) {
  return run({"ffmpeg", "-nostdin", "-v", "error", "-i", file, "-f", "null", "-"});
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
  const Published p = publish(server, "av", 5, {"--audio"});
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
  const Published p = publish(
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
  const Published p = publish(server, "aac", 5, {"--audio"});
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
  const Published p = publish(server, "voice", 4, {"--audio-only"});
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
  const Published p = publish(server, "mute", 3, {"--audio"});
  ASSERT_TRUE(p.ok) << p.out << server.output();
  const auto recs = recordings(out);
  ASSERT_EQ(recs.size(), 1U) << server.output();
  const Probe pr = probe(recs[0]);
  EXPECT_EQ(pr.streams, 1);
  EXPECT_EQ(pr.video.codec, "h264");
}
