// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's PATCH body (trickle.cpp: parse_sdpfrag, plan_trickle, format_sdpfrag,
// if_match_allows). Input: the application/trickle-ice-sdpfrag body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "trickle.hpp"

namespace whip = keepup::whip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string body(reinterpret_cast<const char *>(data), size);
  const auto r = whip::parse_sdpfrag(body);
  FUZZ_CHECK(r.valid == r.error.empty());
  if (!r.valid)
    return 0;
  FUZZ_CHECK(r.frag.candidate_count() <= whip::kMaxSdpFragCandidates);
  FUZZ_CHECK(r.frag.ufrag().empty() == r.frag.pwd().empty());
  for (const auto &m : r.frag.media)
    for (const auto &c : m.candidates)
      FUZZ_CHECK(whip::candidate_error(c).empty());

  // What the parser accepted prints and parses back to the same text.
  const std::string text = whip::format_sdpfrag(r.frag);
  const auto again = whip::parse_sdpfrag(text);
  FUZZ_CHECK(again.valid);
  FUZZ_CHECK(whip::format_sdpfrag(again.frag) == text);
  FUZZ_CHECK(again.frag.candidate_count() == r.frag.candidate_count());

  // The plan: same credentials and the offer's mids -> candidates, each for a known m-line.
  const std::vector<std::string> mids = {"0", "1", "video0"};
  const auto plan = whip::plan_trickle(r.frag, r.frag.ufrag(), r.frag.pwd(), mids);
  FUZZ_CHECK(plan.kind != whip::TricklePlan::Kind::kIceRestart);
  FUZZ_CHECK((plan.kind == whip::TricklePlan::Kind::kError) == !plan.error.empty());
  if (plan.kind == whip::TricklePlan::Kind::kCandidates) {
    FUZZ_CHECK(plan.candidates.size() <= r.frag.candidate_count());
    for (const auto &c : plan.candidates)
      FUZZ_CHECK(c.mline_index < mids.size());
  }
  // Other credentials than the session's are a restart whenever the fragment has some.
  if (!r.frag.ufrag().empty()) {
    const auto restart = whip::plan_trickle(r.frag, r.frag.ufrag() + "x", r.frag.pwd(), mids);
    FUZZ_CHECK(restart.kind == whip::TricklePlan::Kind::kIceRestart);
  }

  // If-Match: a tag matches itself and "*", never its weak form.
  const std::string tag = whip::make_etag(size);
  FUZZ_CHECK(whip::if_match_allows(tag.c_str(), tag));
  FUZZ_CHECK(whip::if_match_allows("*", tag));
  FUZZ_CHECK(!whip::if_match_allows(("W/" + tag).c_str(), tag));
  FUZZ_CHECK(!whip::if_match_allows(body.c_str(), tag) || body.find(tag) != std::string::npos ||
             body.find('*') != std::string::npos);
  return 0;
}
