// SPDX-License-Identifier: LGPL-2.1-or-later
#include "whip_core.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <map>
#include <sstream>

namespace keepup::whip {

bool valid_stream_name(const std::string &name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool authorized(const char *header, const std::string &token) {
  if (token.empty())
    return true;
  if (!header)
    return false;
  std::string h = header;
  if (h.size() < 7)
    return false;
  std::string scheme = h.substr(0, 7);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "bearer ")
    return false;
  std::string given = h.substr(7);
  while (!given.empty() && std::isspace(static_cast<unsigned char>(given.back())))
    given.pop_back();
  // Compare in constant time over the expected length.
  unsigned diff = given.size() != token.size() ? 1U : 0U;
  for (std::size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned>(token[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

namespace {

std::string trim(const std::string &text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos)
    return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// RFC 3261 token characters, which RFC 8122's hash-func is.
bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-.!%*_+`'~", c) != nullptr;
}

} // namespace

std::string fingerprint_error(const std::string &value) {
  const std::string v = trim(value);
  const auto space = v.find(' ');
  if (space == std::string::npos || space == 0)
    return "expected '<hash-function> <hex bytes>', got '" + v.substr(0, 80) + "'";
  std::string hash = v.substr(0, space);
  if (!std::all_of(hash.begin(), hash.end(), is_token_char))
    return "hash function '" + hash.substr(0, 40) + "' is not a token";
  std::transform(hash.begin(), hash.end(), hash.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string hex = trim(v.substr(space + 1));
  // 2HEX *(":" 2HEX)
  if (hex.empty() || (hex.size() + 1) % 3 != 0)
    return "fingerprint '" + hex.substr(0, 120) + "' is not colon-separated hex bytes";
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const bool ok = i % 3 == 2 ? hex[i] == ':' : is_hex(hex[i]);
    if (!ok)
      return "fingerprint '" + hex.substr(0, 120) + "' is not colon-separated hex bytes";
  }
  static const std::map<std::string, std::size_t> kBytes = {
      {"md2", 16},     {"md5", 16},     {"sha-1", 20},   {"sha-224", 28},
      {"sha-256", 32}, {"sha-384", 48}, {"sha-512", 64},
  };
  const std::size_t bytes = (hex.size() + 1) / 3;
  if (auto it = kBytes.find(hash); it != kBytes.end() && it->second != bytes)
    return hash + " needs " + std::to_string(it->second) + " bytes, the fingerprint has " +
           std::to_string(bytes);
  return {};
}

OfferSummary summarize_offer(const std::string &sdp) {
  OfferSummary out;
  std::istringstream in(sdp);
  std::string line;
  bool saw_version = false;
  std::string media; // current m= section: "video", "audio" or other
  std::vector<int> formats;
  std::map<int, RtpCodec> codecs;
  auto flush = [&]() {
    auto &list = media == "video" ? out.video : out.audio;
    if (media == "video" || media == "audio")
      for (int pt : formats)
        if (auto it = codecs.find(pt); it != codecs.end())
          list.push_back(it->second);
    formats.clear();
    codecs.clear();
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    if (line.size() < 2 || line[1] != '=') {
      out.error = "malformed SDP line: '" + line.substr(0, 40) + "'";
      return out;
    }
    if (line[0] == 'v') {
      saw_version = line == "v=0";
    } else if (line[0] == 'm') {
      flush();
      std::istringstream m(line.substr(2));
      std::string port, proto;
      m >> media >> port >> proto;
      int pt = 0;
      while (m >> pt)
        formats.push_back(pt);
    } else if (line.rfind("a=rtpmap:", 0) == 0) {
      std::istringstream a(line.substr(9));
      RtpCodec c;
      std::string enc;
      a >> c.payload_type >> enc;
      const auto slash = enc.find('/');
      c.name = enc.substr(0, slash);
      std::transform(c.name.begin(), c.name.end(), c.name.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
      if (slash != std::string::npos)
        c.clock_rate = std::atoi(enc.c_str() + slash + 1);
      codecs[c.payload_type] = c;
    } else if (line.rfind("a=fmtp:", 0) == 0) {
      std::istringstream a(line.substr(7));
      int pt = 0;
      a >> pt;
      std::string rest;
      std::getline(a, rest);
      if (auto it = codecs.find(pt); it != codecs.end())
        it->second.fmtp = trim(rest);
    } else if (line.rfind("a=fingerprint:", 0) == 0) {
      if (const std::string why = fingerprint_error(line.substr(14)); !why.empty()) {
        out.error = "malformed a=fingerprint: " + why;
        return out;
      }
    }
  }
  flush();
  if (!saw_version) {
    out.error = "not an SDP offer (no v=0 line)";
    return out;
  }
  if (out.video.empty() && out.audio.empty()) { // audio-only offers are recorded too
    out.error = "the offer has no video or audio m-line with a codec";
    return out;
  }
  out.valid = true;
  return out;
}

std::optional<RtpCodec> pick_video(const OfferSummary &offer) {
  std::optional<RtpCodec> best;
  int best_rank = 100;
  for (const auto &c : offer.video) {
    int rank = 100;
    if (c.name == "H264")
      rank = c.fmtp.find("packetization-mode=1") != std::string::npos ? 0 : 1;
    else if (c.name == "VP8")
      rank = 2;
    else if (c.name == "VP9")
      rank = 3;
    if (rank < best_rank) {
      best_rank = rank;
      best = c;
    }
  }
  return best;
}

std::optional<RtpCodec> pick_audio(const OfferSummary &offer) {
  for (const auto &c : offer.audio)
    if (c.name == "OPUS")
      return c;
  return std::nullopt;
}

std::string recording_name(const std::string &stream, long long utc_seconds) {
  const std::time_t t = static_cast<std::time_t>(utc_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return stream + "-" + buf + ".ts";
}

std::string unique_recording_path(const std::string &dir, const std::string &stream,
                                  long long utc_seconds,
                                  const std::function<bool(const std::string &)> &taken) {
  const std::string name = recording_name(stream, utc_seconds);
  const std::string stem = dir + "/" + name.substr(0, name.size() - 3);
  std::string path = stem + ".ts";
  for (int n = 2; taken(path); ++n)
    path = stem + "-" + std::to_string(n) + ".ts";
  return path;
}

std::vector<std::uint8_t> h264_slices_only(const std::uint8_t *data, std::size_t size) {
  // Offsets of the three-byte start codes; a zero before one belongs to it (four-byte form).
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i + 3 <= size; ++i)
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      starts.push_back(
          i > 0 && data[i - 1] == 0 && (starts.empty() || starts.back() + 3 < i) ? i - 1 : i);
      i += 2;
    }
  std::vector<std::uint8_t> out;
  for (std::size_t n = 0; n < starts.size(); ++n) {
    const std::size_t begin = starts[n];
    const std::size_t end = n + 1 < starts.size() ? starts[n + 1] : size;
    std::size_t header = begin;
    while (header < end && data[header] == 0)
      ++header;
    ++header; // the 0x01
    if (header >= end)
      continue;
    const int type = data[header] & 0x1f;
    if (type >= 1 && type <= 5)
      out.insert(out.end(), data + begin, data + end);
  }
  return out;
}

std::vector<std::uintptr_t> ConnectionTable::opened(std::uintptr_t id, int64_t now_us) {
  conns_[id] = Conn{now_us, false};
  std::vector<std::uintptr_t> close;
  if (conns_.size() <= max_)
    return close;
  // Longest idle first; the new connection only when nothing else is idle.
  std::vector<std::pair<int64_t, std::uintptr_t>> idle;
  for (const auto &[cid, c] : conns_)
    if (!c.busy && cid != id)
      idle.emplace_back(c.since_us, cid);
  std::sort(idle.begin(), idle.end());
  const std::size_t excess = conns_.size() - max_;
  for (std::size_t i = 0; i < idle.size() && close.size() < excess; ++i)
    close.push_back(idle[i].second);
  if (close.size() < excess)
    close.push_back(id);
  for (auto cid : close)
    conns_.erase(cid);
  return close;
}

void ConnectionTable::busy(std::uintptr_t id, int64_t now_us) {
  if (auto it = conns_.find(id); it != conns_.end())
    it->second = Conn{now_us, true};
}

void ConnectionTable::idle(std::uintptr_t id, int64_t now_us) {
  if (auto it = conns_.find(id); it != conns_.end())
    it->second = Conn{now_us, false};
}

std::vector<std::uintptr_t> ConnectionTable::idle_connections() const {
  std::vector<std::uintptr_t> out;
  for (const auto &[id, c] : conns_)
    if (!c.busy)
      out.push_back(id);
  return out;
}

std::vector<std::uintptr_t> ConnectionTable::expired(int64_t now_us) const {
  std::vector<std::uintptr_t> out;
  for (const auto &[id, c] : conns_)
    if (!c.busy && now_us - c.since_us >= idle_timeout_us_)
      out.push_back(id);
  return out;
}

} // namespace keepup::whip
