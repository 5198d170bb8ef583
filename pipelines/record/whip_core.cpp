// SPDX-License-Identifier: LGPL-2.1-or-later
#include "whip_core.hpp"

#include <algorithm>
#include <cctype>
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
        c.clock_rate = std::atoi(enc.substr(slash + 1).c_str());
      codecs[c.payload_type] = c;
    } else if (line.rfind("a=fmtp:", 0) == 0) {
      std::istringstream a(line.substr(7));
      int pt = 0;
      a >> pt;
      std::string rest;
      std::getline(a, rest);
      if (auto it = codecs.find(pt); it != codecs.end())
        it->second.fmtp = rest.empty() ? rest : rest.substr(rest.find_first_not_of(' '));
    }
  }
  flush();
  if (!saw_version) {
    out.error = "not an SDP offer (no v=0 line)";
    return out;
  }
  if (out.video.empty()) {
    out.error = "the offer has no video m-line with a codec";
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

} // namespace keepup::whip
