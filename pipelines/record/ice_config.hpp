// SPDX-License-Identifier: LGPL-2.1-or-later
// ICE settings shared by keepup-record and keepup-whip-publish: no UPnP (it sends SSDP on
// every NIC), no ICE-TCP, and the local addresses to offer, through webrtcbin's ice-agent.
#pragma once

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <nice/agent.h>

#include <string>
#include <vector>

namespace keepup::whip {

inline void configure_ice(GstElement *webrtc, const std::vector<std::string> &addresses) {
  GstWebRTCICE *ice = nullptr;
  g_object_get(webrtc, "ice-agent", &ice, nullptr);
  if (!ice)
    return;
  g_object_set(ice, "ice-tcp", FALSE, nullptr);
  NiceAgent *agent = nullptr;
  g_object_get(ice, "agent", &agent, nullptr);
  if (agent) {
    g_object_set(agent, "upnp", FALSE, "ice-tcp", FALSE, nullptr);
    for (const auto &a : addresses) {
      NiceAddress addr;
      nice_address_init(&addr);
      if (nice_address_set_from_string(&addr, a.c_str()))
        nice_agent_add_local_address(agent, &addr);
    }
    g_object_unref(agent);
  }
  gst_object_unref(ice);
}

} // namespace keepup::whip
