// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's options for its HTTP side (routes.cpp, recordings_http.cpp,
// metrics_http.cpp): ICE servers, segments, retention and the segment hook. Options (app.hpp)
// holds one of these; record.cpp's parser hands every option it does not know to
// parse_route_option().
#pragma once

#include <string>
#include <vector>

namespace keepup::record {

struct RouteOptions {
  // --stun URI / --turn URI (repeatable): set on every session's webrtcbin and advertised as
  // Link: <...>; rel="ice-server" on POST answers and OPTIONS.
  std::vector<std::string> stun_uris, turn_uris;   // as webrtcbin takes them
  std::vector<std::string> stun_links, turn_links; // Link header values
  int segment_seconds = 0;                         // --segment-seconds (0: one file)
  double retain_hours = 0;                         // --retain-hours (0: keep)
  double retain_gb = 0;                            // --retain-gb (0: no size limit)
  std::string on_segment_complete;                 // --on-segment-complete CMD
  std::vector<std::string> hook_argv;              // CMD split (no shell)
  int hook_concurrency = 4;                        // --hook-concurrency
};

// True when `name` is one of these options (then `value` was used, and `error` says why it is
// not acceptable, empty when it is). `value` may be nullptr (no value given).
bool parse_route_option(const std::string &name, const char *value, RouteOptions &o,
                        std::string &error);

// The usage lines for these options.
extern const char *const kRouteUsage;

struct RouteState; // routes.cpp: metrics, hook runs, retention, ETag salt

} // namespace keepup::record
