// SPDX-License-Identifier: LGPL-2.1-or-later
// Trickle ICE for WHIP (RFC 9725 section 4.3, fragments from RFC 8840): the
// application/trickle-ice-sdpfrag body a client PATCHes, what the server does with it, and the
// entity tag that guards it. Plain C++, unit-tested and fuzzed (tests/fuzz/whip_sdpfrag).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace keepup::whip {

// One m= section of a fragment: its mid and the candidates trickled for it.
struct SdpFragMedia {
  std::string media_line;              // "video 9 UDP/TLS/RTP/SAVPF 96" (what follows "m=")
  std::string mid;                     // empty when the section has no a=mid
  std::string ice_ufrag, ice_pwd;      // media-level credentials, when given there
  std::vector<std::string> candidates; // "candidate:..." (without "a=")
  bool end_of_candidates = false;
};

struct SdpFrag {
  std::string ice_ufrag, ice_pwd; // session-level credentials, when given there
  std::vector<SdpFragMedia> media;
  bool end_of_candidates = false; // session-level a=end-of-candidates

  // The credentials the fragment speaks for: session level, else the first media level.
  std::string ufrag() const;
  std::string pwd() const;
  std::size_t candidate_count() const;
};

struct SdpFragParse {
  bool valid = false;
  std::string error; // why not, for the 400 body
  SdpFrag frag;
};

// Limits on what a PATCH may carry (a browser trickles a handful of candidates per request).
constexpr std::size_t kMaxSdpFragBytes = 64 * 1024;
constexpr std::size_t kMaxSdpFragCandidates = 256;

// Never throws. LF or CRLF lines; a=group, a=ice-options and unknown attributes are ignored;
// every a=candidate must pass candidate_error(). Candidates before any m= line are an error
// (RFC 8840 puts them in a media section).
SdpFragParse parse_sdpfrag(const std::string &body);

// The text of a fragment (CRLF lines): session-level credentials and end-of-candidates, then
// each media section.
std::string format_sdpfrag(const SdpFrag &frag);

// "candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...":
// empty when well formed (RFC 8839 section 5.1), else why not.
std::string candidate_error(const std::string &candidate);

// What the server does with a PATCH, given the session's remote credentials and the mids of
// the offer's m-lines (their index is the m-line index webrtcbin wants).
struct TricklePlan {
  enum class Kind {
    kCandidates, // add `candidates` (possibly none, e.g. only end-of-candidates)
    kIceRestart, // new ufrag/pwd: an ICE restart
    kError,      // `error` says why (the 400/422 body)
  };
  struct Candidate {
    unsigned mline_index = 0;
    std::string candidate; // "candidate:..."
  };
  Kind kind = Kind::kError;
  std::string error;
  std::vector<Candidate> candidates;
  bool end_of_candidates = false;
};

TricklePlan plan_trickle(const SdpFrag &frag, const std::string &remote_ufrag,
                         const std::string &remote_pwd, const std::vector<std::string> &mids);

// A strong entity tag, "\"<16 hex digits>\"", from a random value.
std::string make_etag(std::uint64_t random);

// Whether an If-Match header value (RFC 9110 section 13.1.1) lets a request on a resource
// whose entity tag is `etag` go ahead: "*", or a comma-separated list holding `etag` (strong
// comparison: a W/ tag never matches). A missing header (nullptr) is the caller's decision.
bool if_match_allows(const char *if_match, const std::string &etag);

// An ICE server given to keepup-record (--stun / --turn) in either form: RFC 7064/7065
// ("stun:host[:port]", "turn:host[:port][?transport=udp|tcp]", "turns:...") with the TURN
// credentials as "user:password@" before the host, or GStreamer's
// ("stun://host:port", "turn(s)://user:password@host:port[?transport=...]").
struct IceServer {
  std::string error;         // why not, for the start-up message
  std::string webrtcbin_uri; // stun://host:port or turn(s)://user:password@host:port[?...]
  std::string link;          // the Link header value (RFC 9725 4.6), credentials as params
  bool has_credentials = false;
};
IceServer parse_ice_server(const std::string &uri, bool turn);

} // namespace keepup::whip
