// SPDX-License-Identifier: LGPL-2.1-or-later
#include "trickle.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace keepup::whip {

namespace {

bool all_digits(const std::string &s, std::size_t max_len) {
  return !s.empty() && s.size() <= max_len &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/".
bool is_ice_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
}

bool printable(const std::string &s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

std::vector<std::string> words(const std::string &s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ')
      ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ')
      ++i;
    if (i > start)
      out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::string credential_error(const char *what, const std::string &value, std::size_t min_len) {
  if (value.size() < min_len || value.size() > 256 ||
      !std::all_of(value.begin(), value.end(), is_ice_char))
    return std::string("a=") + what + " '" + value.substr(0, 64) + "' is not " +
           std::to_string(min_len) + "-256 ice-chars";
  return {};
}

} // namespace

std::string SdpFrag::ufrag() const {
  if (!ice_ufrag.empty())
    return ice_ufrag;
  for (const auto &m : media)
    if (!m.ice_ufrag.empty())
      return m.ice_ufrag;
  return {};
}

std::string SdpFrag::pwd() const {
  if (!ice_pwd.empty())
    return ice_pwd;
  for (const auto &m : media)
    if (!m.ice_pwd.empty())
      return m.ice_pwd;
  return {};
}

std::size_t SdpFrag::candidate_count() const {
  std::size_t n = 0;
  for (const auto &m : media)
    n += m.candidates.size();
  return n;
}

std::string candidate_error(const std::string &candidate) {
  if (candidate.rfind("candidate:", 0) != 0)
    return "not a candidate: '" + candidate.substr(0, 64) + "'";
  if (!printable(candidate))
    return "candidate has control characters";
  const auto w = words(candidate.substr(10));
  if (w.size() < 7)
    return "candidate '" + candidate.substr(0, 120) + "' has fewer than 8 fields";
  const std::string &foundation = w[0];
  if (foundation.size() > 32 || !std::all_of(foundation.begin(), foundation.end(), is_ice_char))
    return "candidate foundation '" + foundation.substr(0, 40) + "' is not 1-32 ice-chars";
  if (!all_digits(w[1], 3) || std::stoi(w[1]) < 1 || std::stoi(w[1]) > 256)
    return "candidate component '" + w[1].substr(0, 10) + "' is not 1-256";
  if (w[2].empty() || w[2].size() > 32)
    return "candidate transport is empty";
  if (!all_digits(w[3], 10) || std::stoull(w[3]) > 4294967295ULL)
    return "candidate priority '" + w[3].substr(0, 12) + "' is not 1-10 digits below 2^32";
  if (w[4].empty() || w[4].size() > 255)
    return "candidate address is empty or too long";
  if (!all_digits(w[5], 5) || std::stoul(w[5]) > 65535)
    return "candidate port '" + w[5].substr(0, 8) + "' is not 0-65535";
  if (w[6] != "typ" || w.size() < 8)
    return "candidate has no 'typ <type>' after the port";
  const std::string &type = w[7];
  if (type != "host" && type != "srflx" && type != "prflx" && type != "relay")
    return "candidate type '" + type.substr(0, 16) + "' is not host, srflx, prflx or relay";
  return {};
}

SdpFragParse parse_sdpfrag(const std::string &body) {
  SdpFragParse r;
  if (body.size() > kMaxSdpFragBytes) {
    r.error = "fragment larger than " + std::to_string(kMaxSdpFragBytes) + " bytes";
    return r;
  }
  SdpFrag &f = r.frag;
  std::size_t pos = 0, line_no = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('\n', pos);
    if (end == std::string::npos)
      end = body.size();
    std::string line = body.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    const auto where = [&]() { return "line " + std::to_string(line_no) + ": "; };
    if (!printable(line)) {
      r.error = where() + "control characters";
      return r;
    }
    if (line.size() < 2 || line[1] != '=') {
      r.error = where() + "not an SDP line: '" + line.substr(0, 64) + "'";
      return r;
    }
    const char type = line[0];
    const std::string value = line.substr(2);
    if (type == 'm') {
      if (value.empty()) {
        r.error = where() + "empty m= line";
        return r;
      }
      f.media.push_back({});
      f.media.back().media_line = value;
      continue;
    }
    if (type != 'a')
      continue; // v=, o=, s=, t=, c=: not in a fragment, harmless
    const auto colon = value.find(':');
    const std::string name = value.substr(0, colon);
    const std::string arg = colon == std::string::npos ? std::string() : value.substr(colon + 1);
    SdpFragMedia *m = f.media.empty() ? nullptr : &f.media.back();
    if (name == "ice-ufrag" || name == "ice-pwd") {
      const bool ufrag = name == "ice-ufrag";
      if (auto e = credential_error(ufrag ? "ice-ufrag" : "ice-pwd", arg, ufrag ? 4 : 22);
          !e.empty()) {
        r.error = where() + e;
        return r;
      }
      std::string &slot = ufrag ? (m ? m->ice_ufrag : f.ice_ufrag) : (m ? m->ice_pwd : f.ice_pwd);
      slot = arg;
    } else if (name == "mid") {
      if (!m) {
        r.error = where() + "a=mid before any m= line";
        return r;
      }
      if (arg.empty() || arg.size() > 64) {
        r.error = where() + "a=mid must be 1-64 characters";
        return r;
      }
      m->mid = arg;
    } else if (name == "candidate") {
      if (!m) {
        r.error = where() + "a=candidate before any m= line";
        return r;
      }
      if (auto e = candidate_error(value); !e.empty()) {
        r.error = where() + e;
        return r;
      }
      if (f.candidate_count() >= kMaxSdpFragCandidates) {
        r.error = "more than " + std::to_string(kMaxSdpFragCandidates) + " candidates";
        return r;
      }
      m->candidates.push_back(value);
    } else if (name == "end-of-candidates") {
      (m ? m->end_of_candidates : f.end_of_candidates) = true;
    }
  }
  // Credentials must come in pairs (RFC 8840: both, or neither, for the ICE generation).
  if (f.ufrag().empty() != f.pwd().empty()) {
    r.error = "a=ice-ufrag and a=ice-pwd must be given together";
    return r;
  }
  r.valid = true;
  return r;
}

std::string format_sdpfrag(const SdpFrag &frag) {
  std::string out;
  const auto line = [&](const std::string &l) { out += l + "\r\n"; };
  if (!frag.ice_ufrag.empty())
    line("a=ice-ufrag:" + frag.ice_ufrag);
  if (!frag.ice_pwd.empty())
    line("a=ice-pwd:" + frag.ice_pwd);
  if (frag.end_of_candidates) // session level: before the first m= line
    line("a=end-of-candidates");
  for (const auto &m : frag.media) {
    line("m=" + m.media_line);
    if (!m.mid.empty())
      line("a=mid:" + m.mid);
    if (!m.ice_ufrag.empty())
      line("a=ice-ufrag:" + m.ice_ufrag);
    if (!m.ice_pwd.empty())
      line("a=ice-pwd:" + m.ice_pwd);
    for (const auto &c : m.candidates)
      line("a=" + c);
    if (m.end_of_candidates)
      line("a=end-of-candidates");
  }
  return out;
}

TricklePlan plan_trickle(const SdpFrag &frag, const std::string &remote_ufrag,
                         const std::string &remote_pwd, const std::vector<std::string> &mids) {
  TricklePlan plan;
  const std::string ufrag = frag.ufrag(), pwd = frag.pwd();
  if (!ufrag.empty() && ufrag != remote_ufrag) {
    plan.kind = TricklePlan::Kind::kIceRestart;
    return plan;
  }
  if (!pwd.empty() && pwd != remote_pwd) {
    plan.error = "a=ice-pwd changed without a new a=ice-ufrag";
    return plan;
  }
  plan.end_of_candidates = frag.end_of_candidates;
  for (std::size_t i = 0; i < frag.media.size(); ++i) {
    const auto &m = frag.media[i];
    std::size_t index = i;
    if (!m.mid.empty()) {
      const auto it = std::find(mids.begin(), mids.end(), m.mid);
      if (it == mids.end()) {
        plan.error = "a=mid:" + m.mid + " is not in the offer";
        return plan;
      }
      index = static_cast<std::size_t>(it - mids.begin());
    } else if (i >= mids.size()) {
      plan.error = "m= section " + std::to_string(i + 1) + " has no a=mid and the offer has only " +
                   std::to_string(mids.size()) + " m-lines";
      return plan;
    }
    for (const auto &c : m.candidates) {
      // A candidate naming another generation ("ufrag X", RFC 8838) is stale: skip it.
      const auto w = words(c);
      const auto u = std::find(w.begin(), w.end(), "ufrag");
      if (u != w.end() && u + 1 != w.end() && !remote_ufrag.empty() && *(u + 1) != remote_ufrag)
        continue;
      plan.candidates.push_back({static_cast<unsigned>(index), c});
    }
    plan.end_of_candidates = plan.end_of_candidates || m.end_of_candidates;
  }
  plan.kind = TricklePlan::Kind::kCandidates;
  return plan;
}

std::string make_etag(std::uint64_t random) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "\"%016llx\"", static_cast<unsigned long long>(random));
  return buf;
}

bool if_match_allows(const char *if_match, const std::string &etag) {
  if (!if_match)
    return false;
  const std::string v = if_match;
  std::size_t pos = 0;
  while (pos <= v.size()) {
    std::size_t end = v.find(',', pos);
    if (end == std::string::npos)
      end = v.size();
    std::string item = v.substr(pos, end - pos);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    item = first == std::string::npos ? std::string() : item.substr(first, last - first + 1);
    if (item == "*" || (!etag.empty() && item == etag))
      return true;
    pos = end + 1;
  }
  return false;
}

namespace {

// Inside a quoted-string: \ and " escaped.
std::string quoted(const std::string &v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

} // namespace

IceServer parse_ice_server(const std::string &uri, bool turn) {
  IceServer r;
  const auto colon = uri.find(':');
  if (colon == std::string::npos) {
    r.error = "'" + uri + "' is not a " + (turn ? "turn:/turns:" : "stun:") + " URI";
    return r;
  }
  std::string scheme = uri.substr(0, colon);
  for (auto &c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool ok_scheme = turn ? (scheme == "turn" || scheme == "turns") : scheme == "stun";
  if (!ok_scheme) {
    r.error = "'" + uri + "' is not a " + (turn ? "turn:/turns:" : "stun:") + " URI";
    return r;
  }
  std::string rest = uri.substr(colon + 1);
  if (rest.rfind("//", 0) == 0)
    rest = rest.substr(2);
  std::string query;
  if (const auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q);
    rest = rest.substr(0, q);
  }
  std::string user, password;
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto c = cred.find(':');
    if (!turn) {
      r.error = "a STUN server takes no credentials: '" + uri + "'";
      return r;
    }
    if (c == std::string::npos || c == 0 || c + 1 == cred.size()) {
      r.error = "TURN credentials are user:password@ in '" + uri + "'";
      return r;
    }
    user = cred.substr(0, c);
    password = cred.substr(c + 1);
  }
  if (turn && user.empty()) {
    r.error = "a TURN server needs user:password@ in '" + uri + "'";
    return r;
  }
  std::string host = rest, port = scheme == "turns" ? "5349" : "3478";
  if (const auto pc = rest.rfind(':');
      pc != std::string::npos && rest.find(']', pc) == std::string::npos) {
    host = rest.substr(0, pc);
    port = rest.substr(pc + 1);
  }
  if (host.empty() || !all_digits(port, 5) || std::stoul(port) == 0 || std::stoul(port) > 65535 ||
      !printable(host) || host.find_first_of(" <>\"/") != std::string::npos || !printable(query) ||
      query.find_first_of(" <>\"") != std::string::npos) {
    r.error = "'" + uri + "' has no valid host:port";
    return r;
  }
  if (!query.empty() && query != "?transport=udp" && query != "?transport=tcp") {
    r.error = "'" + uri + "': only ?transport=udp or ?transport=tcp is understood";
    return r;
  }
  r.webrtcbin_uri =
      scheme + "://" + (turn ? user + ":" + password + "@" : "") + host + ":" + port + query;
  r.link = "<" + scheme + ":" + host + ":" + port + query + ">; rel=\"ice-server\"";
  if (turn) {
    r.has_credentials = true;
    r.link += "; username=" + quoted(user) + "; credential=" + quoted(password) +
              "; credential-type=\"password\"";
  }
  return r;
}

} // namespace keepup::whip
