// SPDX-License-Identifier: LGPL-2.1-or-later
// What keepup-record's HTTP side keeps between requests (main loop only): counters for
// /metrics, the last RTP statistics of each live session, the hook runs and the retention
// timer. Shared by routes.cpp, recordings_http.cpp and metrics_http.cpp.
#pragma once

#include <libsoup/soup.h>

#include <map>
#include <set>
#include <string>

#include "app.hpp"
#include "prometheus.hpp"
#include "recordings.hpp"

namespace keepup::record {

struct Session;

// Summed over a session's inbound RTP streams (webrtcbin get-stats).
struct RtpStats {
  double packets_lost = 0, jitter_s = 0; // jitter: the largest of the streams
  double nack_sent = 0, pli_sent = 0, fir_sent = 0, packets_received = 0;
};

struct RouteState {
  std::uint64_t etag_salt = 0;

  // ---- metrics
  double sessions_total = 0;
  std::map<std::string, double> sessions_ended; // by reason label
  struct Totals {
    double bytes = 0, frames_in = 0, frames_out = 0, frames_dropped = 0, audio_in = 0,
           audio_out = 0, audio_filled = 0, packets_lost = 0, nack_sent = 0, pli_sent = 0,
           fir_sent = 0, packets_received = 0;
  } finished; // of sessions that ended (live ones are added when /metrics is read)
  std::map<std::string, RtpStats> rtp; // live sessions, refreshed every 2 s
  whip::Histogram time_to_first_frame{{0.25, 0.5, 1, 2, 3, 5, 10, 30}};
  std::set<std::string> ttff_seen; // sessions already observed
  double trickle_requests = 0, trickle_candidates = 0;
  guint stats_timer = 0;

  // ---- recordings
  std::map<std::string, double> durations; // file name -> seconds, from tsrecordsink-finished
  whip::HookQueue hooks{4, 256};
  double hook_runs = 0, hook_failures = 0, hooks_refused = 0, retention_deleted = 0;
  guint retention_timer = 0;
};

// recordings_http.cpp
void handle_recordings(App &app, SoupServerMessage *msg, const std::string &path);
void start_recordings(App &app);
void stop_recordings(App &app);
// Free bytes on the output directory's file system (-1 when unknown).
double disk_free_bytes(const App &app);

// metrics_http.cpp
std::string metrics_text(App &app);
void start_metrics(App &app);
void stop_metrics(App &app);

// routes.cpp
std::string session_etag(const App &app, const Session &s);

} // namespace keepup::record
