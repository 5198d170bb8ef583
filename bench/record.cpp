// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-record: keepup-record under real WHIP publishers (keepup-whip-publish, 720p30)
// on loopback:
//   1. time from POST to the first recorded frame, first and second session of one server;
//   2. the server's CPU per recorded stream, H.264 passthrough (the anchor) vs VP8 transcode;
//   3. concurrent 720p30 passthrough sessions (1, 2, 4, 6, 8) with every file valid;
//   4. the server's CPU per 720p30 session with Opus audio: Opus passthrough (the anchor) vs
//      --audio aac (decode + AAC-LC encode);
//   5. --max concurrent 720p30 sessions with audio, every file decoding (ffmpeg) with both
//      streams (ffprobe).
// The publishers' own encoding shares the 2 cores: parts 3 and 5 measure the whole machine.
//
//   keepup-bench-record [--seconds 10] [--max 8] [--audio-only]   (--audio-only: parts 4, 5)
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

std::string bin(const char *name) {
  return std::string(KEEPUP_BENCH_BIN_DIR) + "/" + name;
}

int free_port() {
  GSocketListener *l = g_socket_listener_new();
  const guint16 port = g_socket_listener_add_any_inet_port(l, nullptr, nullptr);
  g_socket_listener_close(l);
  g_object_unref(l);
  return port;
}

std::string get(const std::string &url) {
  SoupSession *s = soup_session_new_with_options("timeout", 5, nullptr);
  SoupMessage *m = soup_message_new("GET", url.c_str());
  GBytes *b = soup_session_send_and_read(s, m, nullptr, nullptr);
  std::string out;
  if (b) {
    gsize n = 0;
    const auto *d = static_cast<const char *>(g_bytes_get_data(b, &n));
    out.assign(d ? d : "", n);
    g_bytes_unref(b);
  }
  g_object_unref(m);
  g_object_unref(s);
  return out;
}

GPid spawn(std::vector<std::string> args, bool quiet = true) {
  std::vector<gchar *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  GPid pid = 0;
  const auto flags = static_cast<GSpawnFlags>(
      G_SPAWN_DO_NOT_REAP_CHILD |
      (quiet ? (G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL) : 0));
  g_spawn_async(nullptr, argv.data(), nullptr, flags, nullptr, nullptr, &pid, nullptr);
  return pid;
}

int wait_exit(GPid pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

double cpu_seconds(GPid pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream f(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && f >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Server {
  std::string dir;
  int port = 0;
  GPid pid = 0;
  explicit Server(const std::string &d, std::vector<std::string> extra = {})
      : dir(d), port(free_port()) {
    std::vector<std::string> args = {
        bin("keepup-record"), "--listen", "127.0.0.1:" + std::to_string(port), "--output-dir", dir,
        "--ice-address",      "127.0.0.1"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid = spawn(args);
    for (int i = 0; i < 300 && get(url("/status")).empty(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ~Server() {
    kill(pid, SIGTERM);
    wait_exit(pid);
  }
  std::string url(const std::string &p) const {
    return "http://127.0.0.1:" + std::to_string(port) + p;
  }
  nlohmann::json status() const {
    return nlohmann::json::parse(get(url("/status")), nullptr, false);
  }
};

GPid publisher(const Server &s, const std::string &stream, int seconds,
               const std::string &codec = "h264", bool audio = false) {
  std::vector<std::string> args = {bin("keepup-whip-publish"),
                                   s.url("/whip/" + stream),
                                   "--seconds",
                                   std::to_string(seconds),
                                   "--codec",
                                   codec,
                                   "--size",
                                   "1280x720",
                                   "--ice-address",
                                   "127.0.0.1"};
  if (audio)
    args.push_back("--audio");
  return spawn(args);
}

// The output of a command (stdout and stderr), empty when it cannot run.
std::string command_output(std::vector<std::string> args) {
  std::vector<gchar *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  gchar *out = nullptr, *err = nullptr;
  std::string text;
  if (g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_DEFAULT, nullptr, nullptr, &out, &err,
                   nullptr, nullptr))
    text = std::string(out ? out : "") + (err ? err : "");
  g_free(out);
  g_free(err);
  return text;
}

// A recording with a video and an audio stream that ffmpeg decodes without an error.
bool valid_with_audio(const std::string &path) {
  const std::string types = command_output({"/usr/bin/ffprobe", "-v", "error", "-show_entries",
                                            "stream=codec_type", "-of", "csv=p=0", path});
  return types.find("video") != std::string::npos && types.find("audio") != std::string::npos &&
         command_output({"/usr/bin/ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"}).empty();
}

// Frames in a recording (decoded fully), -1 when it does not decode.
int decoded_frames(const std::string &path) {
  GstElement *p = gst_parse_launch(("filesrc location=" + path +
                                    " ! tsdemux ! h264parse ! avdec_h264 ! fakesink name=s "
                                    "signal-handoffs=true")
                                       .c_str(),
                                   nullptr);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "s");
  int frames = 0;
  g_signal_connect(sink, "handoff",
                   G_CALLBACK(+[](GstElement *, GstBuffer *, GstPad *, gpointer d) {
                     ++*static_cast<int *>(d);
                   }),
                   &frames);
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(p);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (m)
    gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(p);
  return ok ? frames : -1;
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

std::string fresh_dir(const std::string &name) {
  gchar *p = g_build_filename(g_get_tmp_dir(), ("keepup-bench-record-" + name).c_str(), nullptr);
  std::string dir = p;
  g_free(p);
  const std::string cmd = "rm -rf '" + dir + "'";
  if (std::system(cmd.c_str()) != 0)
    std::fprintf(stderr, "cannot clean %s\n", dir.c_str());
  return dir;
}

void video_parts(int seconds, int max_sessions) {
  // 1. POST -> first recorded frame, two sessions of one server.
  {
    Server server(fresh_dir("latency"));
    std::printf("time from POST to the first recorded frame (720p30 H.264, loopback)\n");
    for (int n = 1; n <= 2; ++n) {
      const std::string stream = std::string("s").append(std::to_string(n));
      GPid pub = publisher(server, stream, 4);
      double ms = -1;
      for (int i = 0; i < 400 && ms < 0; ++i) {
        const auto st = server.status();
        if (!st.is_discarded())
          for (const auto &s : st["sessions"])
            if (s["stream"] == stream)
              ms = s.value("first_frame_ms", -1.0);
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
      wait_exit(pub);
      std::printf("  session %d: %.0f ms\n", n, ms);
    }
  }

  // 2. Server CPU per stream: passthrough (anchor) vs transcode.
  std::printf("\nserver CPU per recorded 720p30 stream, %d s each\n", seconds);
  std::printf("  %-22s %10s %12s %10s\n", "path", "cpu s", "% of a core", "vs anchor");
  double anchor = 0;
  for (const char *codec : {"h264", "vp8"}) {
    Server server(fresh_dir(codec));
    const double before = cpu_seconds(server.pid);
    GPid pub = publisher(server, "cpu", seconds, codec);
    wait_exit(pub);
    const double used = cpu_seconds(server.pid) - before;
    if (anchor == 0)
      anchor = used;
    std::printf("  %-22s %10.2f %11.1f%% %10.2f\n",
                std::string(codec) == "h264" ? "H.264 passthrough" : "VP8 -> H.264 transcode", used,
                used / seconds * 100.0, used / anchor);
  }

  // 3. Concurrent passthrough sessions.
  std::printf("\nconcurrent 720p30 H.264 passthrough sessions (publishers on the same 2 cores)\n");
  std::printf("  %8s %8s %14s %14s\n", "sessions", "valid", "min frames", "of 30 fps x s");
  for (int n : {1, 2, 4, 6, 8}) {
    if (n > max_sessions)
      break;
    const std::string dir = fresh_dir("n" + std::to_string(n));
    int valid = 0, min_frames = 1 << 30;
    {
      Server server(dir);
      std::vector<GPid> pubs;
      for (int i = 0; i < n; ++i)
        pubs.push_back(publisher(server, std::string("c").append(std::to_string(i)), seconds));
      for (GPid p : pubs)
        wait_exit(p);
    }
    const auto recs = recordings(dir);
    for (const auto &r : recs) {
      const int f = decoded_frames(r);
      if (f > 0) {
        ++valid;
        min_frames = std::min(min_frames, f);
      }
    }
    if (recs.empty())
      min_frames = 0;
    std::printf("  %8d %5d/%-2d %14d %13.0f%%\n", n, valid, n, min_frames,
                100.0 * min_frames / (seconds * 30.0));
    std::fflush(stdout);
  }
}

void audio_parts(int seconds, int max_sessions) {
  // 4. Server CPU per session with audio: Opus passthrough (anchor) vs AAC. The machine is
  // shared, so each mode runs three times, alternating, and the median counts.
  constexpr int kRuns = 3;
  std::printf("\nserver CPU per 720p30 H.264 + Opus session, %d s each, median of %d runs\n",
              seconds, kRuns);
  std::printf("  %-30s %10s %12s %10s %8s  %s\n", "audio", "cpu s", "% of a core", "vs anchor",
              "valid", "runs");
  const char *modes[] = {"opus", "aac"};
  std::vector<double> used[2];
  bool ok[2] = {true, true};
  for (int run = 0; run < kRuns; ++run)
    for (int m = 0; m < 2; ++m) {
      const std::string dir =
          fresh_dir(std::string("audio-") + modes[m] + "-" + std::to_string(run));
      {
        Server server(dir, {"--audio", modes[m]});
        const double before = cpu_seconds(server.pid);
        GPid pub = publisher(server, "cpu", seconds, "h264", true);
        wait_exit(pub);
        used[m].push_back(cpu_seconds(server.pid) - before);
      }
      const auto recs = recordings(dir);
      ok[m] = ok[m] && recs.size() == 1 && valid_with_audio(recs[0]);
    }
  double anchor = 0;
  for (int m = 0; m < 2; ++m) {
    std::vector<double> sorted = used[m];
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];
    if (m == 0)
      anchor = median;
    std::string runs;
    for (double u : used[m])
      runs.append(runs.empty() ? "" : " ").append(std::to_string(u).substr(0, 4));
    std::printf("  %-30s %10.2f %11.1f%% %10.2f %8s  %s\n",
                m == 0 ? "Opus passthrough" : "Opus -> AAC-LC (--audio aac)", median,
                median / seconds * 100.0, median / anchor, ok[m] ? "yes" : "NO", runs.c_str());
  }
  std::fflush(stdout);

  // 5. Concurrent sessions with audio, every file valid with both streams.
  const int n = max_sessions;
  const std::string dir = fresh_dir("audio-n" + std::to_string(n));
  double server_cpu = 0;
  {
    Server server(dir);
    const double before = cpu_seconds(server.pid);
    std::vector<GPid> pubs;
    for (int i = 0; i < n; ++i)
      pubs.push_back(publisher(server, "a" + std::to_string(i), seconds, "h264", true));
    for (GPid p : pubs)
      wait_exit(p);
    server_cpu = cpu_seconds(server.pid) - before;
  }
  const auto recs = recordings(dir);
  int valid = 0, min_frames = recs.empty() ? 0 : 1 << 30;
  for (const auto &r : recs) {
    if (valid_with_audio(r))
      ++valid;
    min_frames = std::min(min_frames, std::max(0, decoded_frames(r)));
  }
  std::printf("\n%d concurrent 720p30 H.264 + Opus sessions (publishers on the same 2 cores)\n", n);
  std::printf("  files valid with video and audio: %d/%d, min video frames %d (%.0f%% of 30 fps x "
              "%d s), server CPU %.1f%% of a core per session\n",
              valid, n, min_frames, 100.0 * min_frames / (seconds * 30.0), seconds,
              server_cpu / seconds * 100.0 / n);
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  int seconds = 10, max_sessions = 8;
  bool audio_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--audio-only")
      audio_only = true;
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::max(4, std::atoi(argv[++i]));
    else if (a == "--max" && i + 1 < argc)
      max_sessions = std::max(1, std::atoi(argv[++i]));
  }
  if (!audio_only)
    video_parts(seconds, max_sessions);
  audio_parts(seconds, max_sessions);
  return 0;
}
