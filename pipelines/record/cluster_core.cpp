// SPDX-License-Identifier: LGPL-2.1-or-later
#include "cluster_core.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

namespace keepup::whip::cluster {

namespace {

// ASCII only: std::isalnum follows the locale keepup-record sets from the environment.
bool ascii_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

} // namespace

std::string node_key(const std::string &node) {
  std::string key(kIndexKey);
  key += ':';
  key += node;
  return key;
}

std::string to_json(const NodeRecord &r) {
  return nlohmann::json({{"v", 1},
                         {"node", r.node},
                         {"url", r.url},
                         {"capacity", r.capacity},
                         {"active", r.active},
                         {"draining", r.draining},
                         {"updated_ms", r.updated_ms}})
      .dump();
}

std::optional<NodeRecord> from_json(const std::string &text, std::string *error) {
  const auto fail = [&](const std::string &why) -> std::optional<NodeRecord> {
    if (error)
      *error = why;
    return std::nullopt;
  };
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail("not a JSON object");
  if (!j.contains("v") || !j["v"].is_number_integer() || j["v"].get<long long>() != 1)
    return fail("\"v\" is not 1");
  NodeRecord r;
  for (const char *name : {"node", "url"}) {
    if (!j.contains(name) || !j[name].is_string() || j[name].get<std::string>().empty())
      return fail(std::string("\"") + name + "\" is missing or not a string");
  }
  r.node = j["node"].get<std::string>();
  r.url = j["url"].get<std::string>();
  // Any Redis client can write a record, and its url becomes a Location header: only what
  // keepup-record itself would advertise (an http(s) URL, normalized) is taken.
  std::string why;
  const auto normalized = normalize_advertise_url(r.url, &why);
  if (!normalized)
    return fail("\"url\" is not an advertisable URL: " + why);
  if (*normalized != r.url)
    return fail("\"url\" is not in normalized form");
  for (const char *name : {"capacity", "active", "updated_ms"}) {
    if (!j.contains(name) || !j[name].is_number_integer() || j[name].get<long long>() < 0)
      return fail(std::string("\"") + name + "\" is missing or not a whole number >= 0");
  }
  if (j["capacity"].get<long long>() > 1000000 || j["active"].get<long long>() > 1000000)
    return fail("\"capacity\" or \"active\" is out of range");
  r.capacity = j["capacity"].get<int>();
  r.active = j["active"].get<int>();
  r.updated_ms = j["updated_ms"].get<std::int64_t>();
  if (j.contains("draining")) {
    if (!j["draining"].is_boolean())
      return fail("\"draining\" is not a boolean");
    r.draining = j["draining"].get<bool>();
  }
  return r;
}

std::optional<NodeSeen> seen_at(NodeRecord record, std::int64_t now_ms) {
  if (record.updated_ms > now_ms + 1000)
    return std::nullopt;
  NodeSeen seen;
  seen.age_ms = std::max<std::int64_t>(0, now_ms - record.updated_ms);
  seen.record = std::move(record);
  return seen;
}

std::int64_t age_now_ms(const NodeSeen &n, const Snapshot &s, std::int64_t now_us) {
  const std::int64_t since_read_ms = std::max<std::int64_t>(0, now_us - s.read_at_us) / 1000;
  return std::max<std::int64_t>(0, n.age_ms) + since_read_ms;
}

bool is_live(std::int64_t age_ms, std::int64_t ttl_ms) {
  return age_ms < ttl_ms;
}

std::optional<NodeRecord> pick_target(const Snapshot &s, const std::string &self_node,
                                      const std::string &self_url,
                                      const std::map<std::string, int> &sent, std::int64_t now_us,
                                      std::int64_t ttl_ms) {
  const NodeRecord *best = nullptr;
  int best_load = 0;
  for (const NodeSeen &n : s.nodes) {
    const NodeRecord &r = n.record;
    if (r.node == self_node || r.url == self_url || r.url.empty() || r.capacity <= 0 ||
        r.draining || !is_live(age_now_ms(n, s, now_us), ttl_ms))
      continue;
    const auto it = sent.find(r.node);
    const int load = r.active + (it == sent.end() ? 0 : it->second);
    if (load >= r.capacity)
      continue;
    if (best) {
      // load / capacity < best_load / best->capacity, without division.
      const long long lhs = static_cast<long long>(load) * best->capacity;
      const long long rhs = static_cast<long long>(best_load) * r.capacity;
      const int free = r.capacity - load, best_free = best->capacity - best_load;
      const bool better = lhs != rhs          ? lhs < rhs
                          : free != best_free ? free > best_free
                                              : r.node < best->node;
      if (!better)
        continue;
    }
    best = &r;
    best_load = load;
  }
  if (!best)
    return std::nullopt;
  return *best;
}

std::string redirect_location(const std::string &base_url, const std::string &stream,
                              const std::string &from_node) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  std::string out = base;
  out += "/whip/";
  out += stream;
  out += '?';
  out += kRedirectedParam;
  out += '=';
  // Node ids are [A-Za-z0-9_.:[]-]: ':' '[' ']' are percent-encoded in a query value.
  static const char kHex[] = "0123456789ABCDEF";
  for (const unsigned char c : from_node) {
    if (ascii_alnum(c) || c == '_' || c == '.' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

struct UrlParts {
  std::string scheme, host, port, path;
};

std::optional<UrlParts> split_url(const std::string &text, std::string *error) {
  const auto fail = [&](const std::string &why) -> std::optional<UrlParts> {
    if (error)
      *error = why;
    return std::nullopt;
  };
  UrlParts u;
  std::string_view rest = text;
  if (rest.rfind("http://", 0) == 0) {
    u.scheme = "http";
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    u.scheme = "https";
    rest.remove_prefix(8);
  } else {
    return fail("'" + text + "' is not an http:// or https:// URL");
  }
  for (const char c : text)
    if (static_cast<unsigned char>(c) <= ' ' || c == '?' || c == '#' || c == '@' ||
        static_cast<unsigned char>(c) >= 0x7f)
      return fail("'" + text + "' has a query, fragment, user info, space or control character");
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos)
    u.path = std::string(rest.substr(slash));
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') { // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return fail("'" + text + "': unclosed '[' in the host");
    u.host = std::string(authority.substr(0, close + 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return fail("'" + text + "': junk after the IPv6 address");
      port = after.substr(1);
      if (port.empty())
        return fail("'" + text + "': empty port");
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty())
        return fail("'" + text + "': empty port");
    }
  }
  if (u.host.empty() || u.host == "[]")
    return fail("'" + text + "' has no host");
  if (!port.empty()) {
    int p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return fail("'" + text + "': the port must be 1..65535");
    u.port = std::to_string(p);
  }
  return u;
}

} // namespace

std::optional<std::string> normalize_advertise_url(const std::string &text, std::string *error) {
  const auto u = split_url(text, error);
  if (!u)
    return std::nullopt;
  std::string out = text;
  while (out.size() > u->scheme.size() + 3 && out.back() == '/')
    out.pop_back();
  return out;
}

std::string default_node_id(const std::string &advertise_url) {
  const auto u = split_url(advertise_url, nullptr);
  if (!u)
    return {};
  std::string id = u->host;
  id += ':';
  id += u->port.empty() ? (u->scheme == "https" ? "443" : "80") : u->port;
  return id;
}

bool valid_node_id(const std::string &id) {
  if (id.empty() || id.size() > 128)
    return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return ascii_alnum(c) || c == '_' || c == '.' || c == ':' || c == '-' || c == '[' || c == ']';
  });
}

std::int64_t retry_delay_ms(int failures, std::int64_t cap_ms) {
  std::int64_t delay = 250;
  for (int i = 1; i < failures && delay < cap_ms; ++i)
    delay *= 2;
  return std::min(delay, cap_ms);
}

} // namespace keepup::whip::cluster
