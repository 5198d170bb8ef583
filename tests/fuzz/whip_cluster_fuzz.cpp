// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record --cluster's untrusted text (cluster_core.cpp): node records read from Redis
// (any client of that Redis can write them) and --advertise / --node-id values.
// Input: the whole of it, as a record, as an advertise URL and as a node id.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "cluster_core.hpp"
#include "fuzz_check.hpp"

namespace cl = keepup::whip::cluster;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);

  std::string error;
  if (const auto r = cl::from_json(text, &error)) {
    // An accepted record is usable and survives its own JSON unchanged.
    FUZZ_CHECK(!r->node.empty() && !r->url.empty());
    FUZZ_CHECK(r->capacity >= 0 && r->active >= 0 && r->updated_ms >= 0);
    // Its url is one keepup-record would advertise: it may become a Location header.
    FUZZ_CHECK(cl::normalize_advertise_url(r->url, nullptr) == r->url);
    FUZZ_CHECK(r->url.find_first_of("\r\n \t\"") == std::string::npos);
    const auto again = cl::from_json(cl::to_json(*r), nullptr);
    FUZZ_CHECK(again && again->node == r->node && again->url == r->url &&
               again->capacity == r->capacity && again->active == r->active &&
               again->draining == r->draining && again->updated_ms == r->updated_ms);
    // The pick never returns a node without room, and never this one.
    cl::Snapshot s;
    s.nodes.push_back({*r, 0});
    const auto t = cl::pick_target(s, "self", "http://self", {}, 0, 1000);
    FUZZ_CHECK(!t || (t->node != "self" && t->active < t->capacity && !t->draining));
  } else {
    FUZZ_CHECK(!error.empty());
  }

  error.clear();
  if (const auto url = cl::normalize_advertise_url(text, &error)) {
    FUZZ_CHECK(url->rfind("http://", 0) == 0 || url->rfind("https://", 0) == 0);
    FUZZ_CHECK(url->find_first_of("?#@ ") == std::string::npos);
    FUZZ_CHECK(cl::normalize_advertise_url(*url, nullptr) == url); // idempotent
    FUZZ_CHECK(!cl::default_node_id(*url).empty());
  } else {
    FUZZ_CHECK(!error.empty());
  }

  if (cl::valid_node_id(text)) {
    // The id rides in the redirect's query: only unreserved characters and escapes there.
    const std::string loc = cl::redirect_location("http://h", "cam", text);
    const std::string query = loc.substr(loc.find('?') + 1);
    FUZZ_CHECK(query.find_first_of(":[]/?#&") == std::string::npos);
  }
  return 0;
}
