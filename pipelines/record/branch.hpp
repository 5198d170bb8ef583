// SPDX-License-Identifier: LGPL-2.1-or-later
// The branches of a keepup-record session: what runs behind each webrtcbin source pad, the
// probes on them (keyframe gate, split-picture joiner) and the start of the file.
#pragma once

#include <gst/gst.h>

#include <memory>

#include "session.hpp"

namespace keepup::record {

// webrtcbin's pad-added (a streaming thread): builds and links the branch for `pad`; what the
// session keeps of it is handed to the main loop.
void add_branch(const std::weak_ptr<Session> &weak, GstPad *pad);

// Asks the sender for a keyframe: an upstream force-key-unit from the depayloader's sink pad
// becomes an RTCP PLI in webrtcbin's RTP session.
void request_keyframe(GstPad *depay_sink);

// EOS into a branch at its entry (a webrtcbin source pad), from an idle probe there.
void send_eos(GstPad *entry);

} // namespace keepup::record
