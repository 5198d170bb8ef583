// SPDX-License-Identifier: LGPL-2.1-or-later
// A real redis-server for tests: started on a free loopback port with persistence off, in its
// own temp dir, stopped (or killed, or restarted on the same port) by the test. Nothing is
// mocked. Tests skip with a message when Debian's redis-server is not installed.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "redis_client.hpp"

namespace keepup::test {

class RedisServer {
public:
  static std::string binary() {
    for (const char *p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"})
      if (access(p, X_OK) == 0)
        return p;
    return {};
  }

  // A port no one listens on right now (bind to 0, read it back, close).
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
      if (fd >= 0)
        close(fd);
      return 0;
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
  }

  RedisServer() : port_(free_port()) {
    char tmpl[] = "/tmp/keepup-redis-XXXXXX";
    if (mkdtemp(tmpl))
      dir_ = tmpl;
  }
  ~RedisServer() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  RedisServer(const RedisServer &) = delete;
  RedisServer &operator=(const RedisServer &) = delete;

  // Starts (or restarts, on the same port) and waits until PING answers. False on failure.
  bool start(std::string extra_args = {}) {
    if (pid_ > 0)
      return true;
    std::string bin = binary();
    if (bin.empty() || port_ == 0 || dir_.empty())
      return false;
    pid_ = fork();
    if (pid_ == 0) {
      std::string port = std::to_string(port_);
      std::string cmd = "exec " + bin + " --port " + port +
                        " --bind 127.0.0.1 --save '' --appendonly no --daemonize no" +
                        " --loglevel warning --dir " + dir_ + " " + extra_args;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char *>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string err;
      if (auto c = redis::Connection::open(uri_struct(), std::chrono::milliseconds(200), &err)) {
        redis::Reply r;
        if (c->command({"PING"}, &r, &err))
          return true; // PONG, or NOAUTH with requirepass
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    return false;
  }

  // SIGTERM and reap; kill() does the same with SIGKILL (a crash, nothing flushed).
  void stop() { signal_and_reap(SIGTERM); }
  void kill() { signal_and_reap(SIGKILL); }
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  std::string uri() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  redis::Uri uri_struct() const {
    redis::Uri u;
    u.host = "127.0.0.1";
    u.port = port_;
    return u;
  }
  // A fresh client connection (nullptr when the server is down).
  std::unique_ptr<redis::Connection> client() const {
    std::string err;
    return redis::Connection::open(uri_struct(), std::chrono::milliseconds(2000), &err);
  }

private:
  void signal_and_reap(int sig) {
    if (pid_ <= 0)
      return;
    ::kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
};

} // namespace keepup::test
