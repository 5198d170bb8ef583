// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's HTTP side: the request handler (WHIP POST/DELETE, /status, the publisher
// page, CORS) and the connection table (idle timeout, connection bound). Main loop only.
#pragma once

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

} // namespace keepup::record
