// SPDX-License-Identifier: LGPL-2.1-or-later
// Helpers for tests that run keepup-record and keepup-whip-publish as processes: a server in
// the background (its log collected, extra options and environment), HTTP requests with their
// headers, commands with their output, the recordings in a folder. Every wait is bounded.
#pragma once

#include <gst/gst.h>
#include <gtest/gtest.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace keepup::record_test {

inline std::string bin(const char *name) {
  return std::string(KEEPUP_TEST_BUILD_DIR) + "/bin/" + name;
}

inline int free_port() {
  GSocketListener *l = g_socket_listener_new();
  const guint16 port = g_socket_listener_add_any_inet_port(l, nullptr, nullptr);
  g_socket_listener_close(l);
  g_object_unref(l);
  return port;
}

struct Reply {
  guint status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers; // lower-case names
  std::string header(const std::string &name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::vector<std::string> all(const std::string &name) const {
    std::vector<std::string> out;
    for (auto [a, b] = headers.equal_range(name); a != b; ++a)
      out.push_back(a->second);
    return out;
  }
};

inline Reply request(const std::string &method, const std::string &url,
                     const std::string &body = "", const char *type = nullptr,
                     const std::vector<std::pair<std::string, std::string>> &headers = {}) {
  SoupSession *s = soup_session_new_with_options("timeout", 20, nullptr);
  SoupMessage *m = soup_message_new(method.c_str(), url.c_str());
  Reply r;
  if (!m) {
    g_object_unref(s);
    return r;
  }
  for (const auto &[k, v] : headers)
    soup_message_headers_replace(soup_message_get_request_headers(m), k.c_str(), v.c_str());
  if (type) {
    GBytes *b = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(m, type, b);
    g_bytes_unref(b);
  }
  GBytes *reply = soup_session_send_and_read(s, m, nullptr, nullptr);
  r.status = soup_message_get_status(m);
  if (reply) {
    gsize n = 0;
    const auto *d = static_cast<const char *>(g_bytes_get_data(reply, &n));
    r.body.assign(d ? d : "", n);
    g_bytes_unref(reply);
  }
  SoupMessageHeadersIter it;
  soup_message_headers_iter_init(&it, soup_message_get_response_headers(m));
  const char *name = nullptr, *value = nullptr;
  while (soup_message_headers_iter_next(&it, &name, &value)) {
    std::string lower = name;
    for (auto &c : lower)
      c = static_cast<char>(g_ascii_tolower(c));
    r.headers.emplace(lower, value);
  }
  g_object_unref(m);
  g_object_unref(s);
  return r;
}

// A WHIP-style request: an SDP body when one is given, and a bearer token when one is given.
inline Reply whip_request(const std::string &method, const std::string &url,
                          const std::string &body = "", const char *type = "application/sdp",
                          const std::string &token = "") {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token.empty())
    headers.emplace_back("Authorization", "Bearer " + token);
  return request(method, url, body, body.empty() ? nullptr : type, headers);
}

// What a child process writes to a pipe, read on a thread of its own so the pipe never fills.
class PipeText {
public:
  ~PipeText() { join(); }
  void start(int fd) {
    thread_ = std::thread([fd, this]() {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) {
        std::lock_guard<std::mutex> lk(m_);
        text_.append(buf, static_cast<std::size_t>(n));
      }
      close(fd);
    });
  }
  // Waits for the end of the pipe (the child gone).
  void join() {
    if (thread_.joinable())
      thread_.join();
  }
  std::string text() const {
    std::lock_guard<std::mutex> lk(m_);
    return text_;
  }

private:
  std::thread thread_;
  mutable std::mutex m_;
  std::string text_;
};

// keepup-record in the background, its output collected; killed at the end of the test.
// `loopback` (the default) listens on 127.0.0.1 and gathers ICE there; false listens on every
// interface and leaves --ice-address to `extra` (Chromium never uses loopback for ICE).
// `port`: listen there (a test that must name the URL in `extra`, like --advertise); 0: any free.
class Server {
public:
  Server(const std::string &dir, std::vector<std::string> extra = {},
         std::vector<std::string> env = {}, bool loopback = true, int port = 0)
      : port_(port > 0 ? port : free_port()) {
    std::vector<std::string> args = {bin("keepup-record"), "--listen",
                                     (loopback ? "127.0.0.1:" : "0.0.0.0:") + std::to_string(port_),
                                     "--output-dir", dir};
    if (loopback) {
      args.push_back("--ice-address");
      args.push_back("127.0.0.1");
    }
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<gchar *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    gchar **envp = g_get_environ();
    for (const auto &e : env) {
      const auto eq = e.find('=');
      envp = g_environ_setenv(envp, e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), TRUE);
    }
    gint out_fd = -1;
    GError *err = nullptr;
    const bool spawned = g_spawn_async_with_pipes(
        nullptr, argv.data(), envp,
        static_cast<GSpawnFlags>(G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL), nullptr,
        nullptr, &pid_, nullptr, &out_fd, nullptr, &err);
    g_strfreev(envp);
    if (!spawned) {
      ADD_FAILURE() << (err ? err->message : "spawn");
      g_clear_error(&err);
      return;
    }
    output_.start(out_fd);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (request("GET", url("/status")).status == 200)
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
    output_.join();
  }
  std::string url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  GPid pid() const { return pid_; }
  bool alive() { return !reaped_ && waitpid(pid_, nullptr, WNOHANG) == 0; }
  // Sends a signal and waits (bounded) for the exit status; -1 on timeout.
  int stop(int sig, int timeout_s = 30) {
    kill(pid_, sig);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  // Waits until /status reports `frames` recorded frames in every session (at least
  // `sessions` of them).
  bool wait_recorded(guint64 frames, int sessions = 1, int timeout_s = 30) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      const auto j = nlohmann::json::parse(request("GET", url("/status")).body, nullptr, false);
      if (!j.is_discarded() && static_cast<int>(j["sessions"].size()) >= sessions) {
        bool all = true;
        for (const auto &s : j["sessions"])
          all = all && s["frames_out"].get<guint64>() >= frames;
        if (all)
          return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::string output() { return output_.text(); }
  // Polls the log for `text` (bounded).
  bool wait_for(const std::string &text, int timeout_s = 20) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (output().find(text) != std::string::npos)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

private:
  int port_;
  GPid pid_ = 0;
  bool reaped_ = false;
  PipeText output_;
};

struct Outcome {
  bool ok = false;
  std::string out;
  unsigned long long sent = 0; // keepup-whip-publish's "sent N frames"
};

inline unsigned long long number_after(const std::string &text, const std::string &prefix);

inline Outcome run(std::vector<std::string> args) {
  std::vector<gchar *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  Outcome r;
  if (g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_DEFAULT, nullptr, nullptr, &out, &err,
                   &status, nullptr)) {
    r.ok = g_spawn_check_wait_status(status, nullptr);
    r.out = std::string(out ? out : "") + (err ? err : "");
    r.sent = number_after(r.out, "sent ");
  }
  g_free(out);
  g_free(err);
  return r;
}

inline Outcome publish(Server &server, const std::string &stream, int seconds,
                       std::vector<std::string> extra = {}, const std::string &size = "320x240") {
  std::vector<std::string> args = {bin("keepup-whip-publish"),
                                   server.url("/whip/" + stream),
                                   "--seconds",
                                   std::to_string(seconds),
                                   "--ice-address",
                                   "127.0.0.1",
                                   "--size",
                                   size};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args);
}

inline unsigned long long number_after(const std::string &text, const std::string &prefix) {
  const auto at = text.find(prefix);
  return at == std::string::npos ? 0
                                 : std::strtoull(text.c_str() + at + prefix.size(), nullptr, 10);
}

// Files in `dir` whose names end with `suffix` ("" for all), sorted.
inline std::vector<std::string> files(const std::string &dir, const char *suffix) {
  std::vector<std::string> out;
  GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
  while (const gchar *n = d ? g_dir_read_name(d) : nullptr)
    if (g_str_has_suffix(n, suffix))
      out.push_back(dir + "/" + n);
  if (d)
    g_dir_close(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Finished recordings in `dir` (not temp files, not recovered ones), sorted.
inline std::vector<std::string> recordings(const std::string &dir) {
  std::vector<std::string> out;
  for (const auto &f : files(dir, ".ts"))
    if (!g_str_has_suffix(f.c_str(), ".recording.ts") && f.find(".recovered-") == std::string::npos)
      out.push_back(f);
  return out;
}

// Removes `dir`, a subfolder of a ScratchDir, with its files (ScratchDir removes one level).
struct Cleanup {
  std::string dir;
  ~Cleanup() { keepup::test::remove_flat_dir(dir); }
};

inline std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first global IPv4 address of a non-loopback interface: Chromium never uses loopback for
// ICE. Empty when there is none.
inline std::string non_loopback_ipv4() {
  std::string address;
  gchar *out = nullptr;
  if (g_spawn_command_line_sync("ip -4 -o addr show scope global", &out, nullptr, nullptr,
                                nullptr) &&
      out) {
    const std::string text = out;
    const auto inet = text.find("inet ");
    if (inet != std::string::npos)
      address = text.substr(inet + 5, text.find('/', inet) - inet - 5);
  }
  g_free(out);
  return address;
}

// Headless Chromium on the page the server serves (`query` after "?autostart=1&"), fake camera
// (1280x720 asked for) and fake microphone; its log (the page's console lines among them) goes
// to `log` ("" keeps none). Killed when it goes out of scope.
class Browser {
public:
  Browser(const Server &server, const std::string &profile, const std::string &query,
          const std::string &log)
      : log_(log) {
    std::vector<std::string> args = {"/usr/bin/chromium",
                                     "--headless=new",
                                     "--no-sandbox",
                                     "--use-fake-device-for-media-stream",
                                     "--use-fake-ui-for-media-stream",
                                     "--disable-features=WebRtcHideLocalIpsWithMdns",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--disable-quic",
                                     "--disable-gpu",
                                     "--enable-logging=stderr",
                                     "--v=0",
                                     "--user-data-dir=" + profile,
                                     server.url("/?autostart=1&" + query)};
    std::vector<gchar *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    gint err_fd = -1;
    started_ = g_spawn_async_with_pipes(
        nullptr, argv.data(), nullptr,
        static_cast<GSpawnFlags>(G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL), nullptr,
        nullptr, &pid_, nullptr, nullptr, &err_fd, nullptr);
    if (started_)
      log_text_.start(err_fd);
  }
  // The page's ?stats=1 lines: one JSON object a second.
  std::vector<nlohmann::json> stats() {
    std::vector<nlohmann::json> out;
    const std::string text = log_text_.text();
    for (std::size_t at = text.find("keepup-stats "); at != std::string::npos;
         at = text.find("keepup-stats ", at + 1)) {
      const auto from = at + 13, to = text.find('}', from);
      if (to == std::string::npos)
        break;
      const auto j = nlohmann::json::parse(text.substr(from, to - from + 1), nullptr, false);
      if (!j.is_discarded())
        out.push_back(j);
    }
    return out;
  }
  ~Browser() { stop(); }
  bool started() const { return started_; }
  void stop() {
    if (started_ && pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = 0;
    }
    log_text_.join();
    if (!log_.empty()) {
      const std::string text = log_text_.text();
      g_file_set_contents(log_.c_str(), text.data(), static_cast<gssize>(text.size()), nullptr);
    }
  }

private:
  GPid pid_ = 0;
  bool started_ = false;
  std::string log_;
  PipeText log_text_;
};

} // namespace keepup::record_test
