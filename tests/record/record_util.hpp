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

// keepup-record in the background, its output collected; killed at the end of the test.
class Server {
public:
  Server(const std::string &dir, std::vector<std::string> extra = {},
         std::vector<std::string> env = {})
      : port_(free_port()) {
    std::vector<std::string> args = {
        bin("keepup-record"), "--listen", "127.0.0.1:" + std::to_string(port_), "--output-dir", dir,
        "--ice-address",      "127.0.0.1"};
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
      if (request("GET", url("/status")).status == 200)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "keepup-record did not come up:\n" << output();
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable())
      reader_.join();
  }
  std::string url(const std::string &path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string output() {
    std::lock_guard<std::mutex> lk(m_);
    return output_;
  }
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
  std::thread reader_;
  std::mutex m_;
  std::string output_;
};

struct Outcome {
  bool ok = false;
  std::string out;
};

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
  }
  g_free(out);
  g_free(err);
  return r;
}

inline Outcome publish(Server &server, const std::string &stream, int seconds,
                       std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {bin("keepup-whip-publish"),
                                   server.url("/whip/" + stream),
                                   "--seconds",
                                   std::to_string(seconds),
                                   "--ice-address",
                                   "127.0.0.1",
                                   "--size",
                                   "320x240"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(args);
}

inline unsigned long long number_after(const std::string &text, const std::string &prefix) {
  const auto at = text.find(prefix);
  return at == std::string::npos ? 0
                                 : std::strtoull(text.c_str() + at + prefix.size(), nullptr, 10);
}

// Finished recordings in `dir`, sorted.
inline std::vector<std::string> recordings(const std::string &dir) {
  std::vector<std::string> out;
  GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
  while (const gchar *n = d ? g_dir_read_name(d) : nullptr)
    if (g_str_has_suffix(n, ".ts") && !g_str_has_suffix(n, ".recording.ts"))
      out.push_back(dir + "/" + n);
  if (d)
    g_dir_close(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Removes `dir` with its files (ScratchDir removes one level only).
struct Cleanup {
  std::string dir;
  ~Cleanup() {
    GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
    while (const gchar *n = d ? g_dir_read_name(d) : nullptr)
      g_remove((dir + "/" + n).c_str());
    if (d)
      g_dir_close(d);
    g_rmdir(dir.c_str());
  }
};

inline std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace keepup::record_test
