// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's finished files: GET /recordings (JSON list), GET /recordings/<name> (the
// file, with HTTP Range), --segment-seconds (tsrecordsink's rotation), --retain-hours /
// --retain-gb (oldest finished files deleted), --on-segment-complete (a command per finished
// file, no shell, bounded concurrency). Main loop only; the rules are in recordings.cpp and
// http_range.cpp.
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_range.hpp"
#include "ts_location.hpp"
#include "route_state.hpp"
#include "routes.hpp"

namespace keepup::record {

namespace {

std::string iso_utc(long long t) {
  if (t < 0)
    return {};
  char buf[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct DirEntry {
  std::string name;
  std::uint64_t bytes = 0;
  std::int64_t mtime_s = 0;
  bool being_written = false;
};

// The output directory's recordings: finished ones (servable names) and those being written.
std::vector<DirEntry> scan(const App &app) {
  std::vector<DirEntry> out;
  GDir *d = g_dir_open(app.opt.output_dir.c_str(), 0, nullptr);
  if (!d)
    return out;
  while (const gchar *n = g_dir_read_name(d)) {
    const std::string name = n;
    const bool temp = keepup::ts::is_temp_name(n);
    if (!temp && !whip::servable_recording_name(name))
      continue;
    struct stat st {};
    if (::stat((app.opt.output_dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    out.push_back({name, static_cast<std::uint64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtime), temp});
  }
  g_dir_close(d);
  return out;
}

bool allowed(const App &app, SoupServerMessage *msg) {
  if (app.opt.token.empty())
    return true;
  const char *auth =
      soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
  if (whip::authorized(auth, app.opt.token))
    return true;
  // A <video src> cannot send headers: ?token=... is accepted as well.
  bool ok = false;
  if (const char *query = g_uri_get_query(soup_server_message_get_uri(msg)))
    if (GHashTable *params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, nullptr)) {
      if (const auto *t = static_cast<const char *>(g_hash_table_lookup(params, "token")))
        ok = whip::authorized(("Bearer " + std::string(t)).c_str(), app.opt.token);
      g_hash_table_unref(params);
    }
  return ok;
}

std::string list_json(App &app) {
  nlohmann::json files = nlohmann::json::array();
  auto entries = scan(app);
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry &a, const DirEntry &b) { return a.name < b.name; });
  for (const auto &e : entries) {
    if (e.being_written)
      continue;
    const whip::RecordingName n = whip::parse_recording_name(e.name);
    nlohmann::json f = {
        {"name", e.name},     {"url", "/recordings/" + e.name}, {"bytes", e.bytes},
        {"stream", n.stream}, {"start", iso_utc(n.start_utc)},  {"end", iso_utc(e.mtime_s)},
        {"segment", nullptr}, {"duration_s", nullptr}};
    if (n.segment >= 0)
      f["segment"] = n.segment;
    if (auto it = app.route_state->durations.find(e.name); it != app.route_state->durations.end()) {
      f["duration_s"] = it->second;
      // A segment starts its duration before it was finished (the session start is in the name).
      if (n.segment >= 0)
        f["start"] = iso_utc(e.mtime_s - static_cast<long long>(it->second + 0.5));
    }
    files.push_back(std::move(f));
  }
  return nlohmann::json({{"recordings", files}}).dump(2);
}

void serve_file(App &app, SoupServerMessage *msg, const std::string &name) {
  if (!whip::servable_recording_name(name)) {
    respond(msg, SOUP_STATUS_NOT_FOUND, "no such recording\n");
    return;
  }
  GError *err = nullptr;
  GMappedFile *mapped = g_mapped_file_new((app.opt.output_dir + "/" + name).c_str(), FALSE, &err);
  if (!mapped) {
    respond(msg, SOUP_STATUS_NOT_FOUND, "no such recording\n");
    g_clear_error(&err);
    return;
  }
  GBytes *all = g_mapped_file_get_bytes(mapped);
  g_mapped_file_unref(mapped);
  const std::uint64_t size = g_bytes_get_size(all);
  const char *range =
      soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Range");
  const whip::RangeRequest r = whip::parse_range(range, size);
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Accept-Ranges", "bytes");
  if (r.kind == whip::RangeRequest::Kind::kUnsatisfiable) {
    soup_message_headers_replace(h, "Content-Range", whip::content_range(r, size).c_str());
    respond(msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, r.error + "\n");
    g_bytes_unref(all);
    return;
  }
  GBytes *body = all;
  if (r.kind == whip::RangeRequest::Kind::kPartial) {
    soup_message_headers_replace(h, "Content-Range", whip::content_range(r, size).c_str());
    body = g_bytes_new_from_bytes(all, r.first, r.last - r.first + 1);
    g_bytes_unref(all);
  }
  soup_message_headers_set_content_type(h, "video/mp2t", nullptr);
  soup_server_message_set_status(
      msg,
      r.kind == whip::RangeRequest::Kind::kPartial ? SOUP_STATUS_PARTIAL_CONTENT : SOUP_STATUS_OK,
      nullptr);
  soup_message_body_append_bytes(soup_server_message_get_response_body(msg), body);
  g_bytes_unref(body);
}

void apply_retention(App &app) {
  const whip::RetentionLimits limits{app.opt.routes.retain_hours,
                                     static_cast<std::uint64_t>(app.opt.routes.retain_gb * 1e9)};
  if (!limits.active())
    return;
  std::vector<whip::RecordedFile> files;
  for (const auto &e : scan(app)) {
    const std::string path = app.opt.output_dir + "/" + e.name;
    // A live session's file is never deleted, whatever its name says.
    const bool live = e.being_written || app.reserved_paths.count(path) != 0;
    files.push_back({path, e.bytes, e.mtime_s, live});
  }
  for (const auto &path : whip::files_to_delete(files, limits, std::time(nullptr))) {
    if (std::remove(path.c_str()) == 0) {
      app.route_state->retention_deleted += 1;
      app.route_state->durations.erase(path.substr(path.rfind('/') + 1));
      log_line("retention: deleted %s", path.c_str());
    } else {
      log_line("retention: cannot delete %s: %s", path.c_str(), std::strerror(errno));
    }
  }
}

void run_hook(App &app, const std::string &path);

void hook_done(App &app) {
  if (auto next = app.route_state->hooks.finished())
    run_hook(app, *next);
}

void run_hook(App &app, const std::string &path) {
  std::vector<std::string> args = app.opt.routes.hook_argv;
  args.push_back(path);
  std::vector<gchar *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  GPid pid = 0;
  GError *err = nullptr;
  const auto flags = static_cast<GSpawnFlags>(G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH
#if GLIB_CHECK_VERSION(2, 74, 0)
                                              | G_SPAWN_STDIN_FROM_DEV_NULL
#endif
  );
  if (!g_spawn_async(nullptr, argv.data(), nullptr, flags, nullptr, nullptr, &pid, &err)) {
    log_line("hook: cannot run %s for %s: %s", args.front().c_str(), path.c_str(),
             err ? err->message : "unknown error");
    g_clear_error(&err);
    app.route_state->hook_failures += 1;
    hook_done(app);
    return;
  }
  app.route_state->hook_runs += 1;
  struct Run {
    App *app;
    std::string path;
  };
  g_child_watch_add_full(
      G_PRIORITY_DEFAULT, pid,
      [](GPid child, gint status, gpointer d) {
        whip::guarded("hook exit", [&]() {
          auto *run = static_cast<Run *>(d);
          GError *e = nullptr;
          if (g_spawn_check_wait_status(status, &e)) {
            log_line("hook: done for %s (exit status 0)", run->path.c_str());
          } else {
            log_line("hook: failed for %s: %s", run->path.c_str(), e ? e->message : "?");
            run->app->route_state->hook_failures += 1;
          }
          g_clear_error(&e);
          g_spawn_close_pid(child);
          hook_done(*run->app);
        });
      },
      new Run{&app, path}, [](gpointer d) { delete static_cast<Run *>(d); });
}

} // namespace

void handle_recordings(App &app, SoupServerMessage *msg, const std::string &path) {
  const std::string method = soup_server_message_get_method(msg);
  if (method != "GET" && method != "HEAD") {
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                 "GET, HEAD");
    respond(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "recordings are read with GET\n");
    return;
  }
  if (!allowed(app, msg)) {
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "WWW-Authenticate",
                                 "Bearer");
    respond(msg, SOUP_STATUS_UNAUTHORIZED,
            "a valid Authorization: Bearer token (or ?token=) is required\n");
    return;
  }
  if (path == "/recordings" || path == "/recordings/") {
    respond(msg, SOUP_STATUS_OK, list_json(app), "application/json");
    return;
  }
  serve_file(app, msg, path.substr(std::strlen("/recordings/")));
}

double disk_free_bytes(const App &app) {
  struct statvfs vfs {};
  if (statvfs(app.opt.output_dir.c_str(), &vfs) != 0)
    return -1;
  return static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
}

void configure_sink(const App &app, GstElement *sink, const std::string &path) {
  const int seconds = app.opt.routes.segment_seconds;
  if (seconds <= 0) {
    g_object_set(sink, "location", path.c_str(), nullptr);
    return;
  }
  // cam1-<UTC>.ts -> cam1-<UTC>.%05d.ts: tsrecordsink starts a file at the first keyframe
  // (random-access packet) past max-size-time, beginning with PAT and PMT.
  std::string pattern;
  for (char c : path.substr(0, path.size() - 3))
    pattern += c == '%' ? std::string("%%") : std::string(1, c);
  pattern += ".%05d.ts";
  g_object_set(sink, "location", pattern.c_str(), "max-size-time",
               static_cast<guint64>(seconds) * GST_SECOND, nullptr);
}

void file_finished(App &app, const GstStructure *finished) {
  const char *location = gst_structure_get_string(finished, "location");
  if (!location || !app.route_state)
    return;
  const std::string path = location;
  guint64 duration_ns = 0;
  if (gst_structure_get_uint64(finished, "duration", &duration_ns))
    app.route_state->durations[path.substr(path.rfind('/') + 1)] =
        static_cast<double>(duration_ns) / 1e9;
  if (!app.opt.routes.hook_argv.empty()) {
    switch (app.route_state->hooks.submit(path)) {
    case whip::HookQueue::Submit::kStartNow:
      run_hook(app, path);
      break;
    case whip::HookQueue::Submit::kQueued:
      log_line("hook: %zu running, %s waits", app.route_state->hooks.running(), path.c_str());
      break;
    case whip::HookQueue::Submit::kRefused:
      app.route_state->hooks_refused += 1;
      log_line("hook: queue full, not run for %s", path.c_str());
      break;
    }
  }
  apply_retention(app);
}

void start_recordings(App &app) {
  apply_retention(app);
  if (app.opt.routes.retain_hours > 0 || app.opt.routes.retain_gb > 0)
    app.route_state->retention_timer = g_timeout_add_seconds(
        60,
        [](gpointer d) -> gboolean {
          whip::guarded("retention timer", [&]() { apply_retention(*static_cast<App *>(d)); });
          return G_SOURCE_CONTINUE;
        },
        &app);
}

void stop_recordings(App &app) {
  if (app.route_state && app.route_state->retention_timer) {
    g_source_remove(app.route_state->retention_timer);
    app.route_state->retention_timer = 0;
  }
}

} // namespace keepup::record
