// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's HTTP side: the request handler (WHIP POST/PATCH/DELETE, /status, /metrics,
// /recordings, the publisher page, CORS) and the connection table (idle timeout, connection
// bound). Main loop only.
#pragma once

#include <gst/gst.h>
#include <libsoup/soup.h>

#include <string>

#include "app.hpp"

namespace keepup::record {

struct Session;

void respond(SoupServerMessage *msg, guint status, const std::string &body,
             const char *type = "text/plain");
void cors(SoupServerMessage *msg);

// The 201 for a session's offer: CORS, Location, the SDP answer.
void answer_offer(SoupServerMessage *msg, const Session &s, const std::string &sdp);

// Installs the handler and the connection tracking on app.server (before it listens).
void install_routes(App &app);
// Undoes install_routes (after the loop ended, before the server goes).
void remove_routes(App &app);

// ---- called by session.cpp
// The sink's location (and, with --segment-seconds, the numbered pattern and max-size-time).
void configure_sink(const App &app, GstElement *sink, const std::string &path);
// --stun / --turn on a session's webrtcbin.
void configure_ice_servers(const App &app, GstElement *webrtc);
// A tsrecordsink-finished message: runs the hook, applies retention, notes the duration.
void file_finished(App &app, const GstStructure *finished);
// A session left App::sessions: its counters go into the /metrics totals.
void session_finished(App &app, Session &s, bool has_file);

} // namespace keepup::record
