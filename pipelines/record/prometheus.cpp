// SPDX-License-Identifier: LGPL-2.1-or-later
#include "prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace keepup::whip {

namespace {

bool valid_name(const std::string &n, bool label) {
  if (n.empty())
    return false;
  if (label && n.rfind("__", 0) == 0)
    return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool ok = alpha || (!label && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

// HELP text escapes \ and newline only.
std::string escape_help(const std::string &v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
      throw std::invalid_argument("histogram bounds must be finite and ascending");
  in_bucket_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++in_bucket_[static_cast<std::size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size());
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    out[i] = running += in_bucket_[i];
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v); // locale-independent, shortest
  return std::string(buf, r.ptr);
}

std::string escape_label_value(const std::string &v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void MetricsWriter::family(const std::string &name, Type type, const std::string &help) {
  if (!valid_name(name, false))
    throw std::invalid_argument("bad metric name '" + name + "'");
  family_ = name;
  type_ = type;
  const char *t = type == Type::kCounter ? "counter" : type == Type::kGauge ? "gauge" : "histogram";
  out_ += "# HELP " + name + " " + escape_help(help) + "\n";
  out_ += "# TYPE " + name + " " + t + "\n";
}

void MetricsWriter::line(const std::string &name, const Labels &labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto &[k, v] : labels) {
      if (!valid_name(k, true))
        throw std::invalid_argument("bad label name '" + k + "'");
      out_ += (first ? "" : ",") + k + "=\"" + escape_label_value(v) + "\"";
      first = false;
    }
    out_ += '}';
  }
  out_ += ' '; // appended piecewise: GCC 12 -O3 misfires -Wrestrict on "lit" + string&&
  out_ += format_metric_value(value);
  out_ += '\n';
}

void MetricsWriter::sample(const Labels &labels, double value) {
  if (family_.empty() || type_ == Type::kHistogram)
    throw std::invalid_argument("sample() needs a counter or gauge family first");
  line(family_, labels, value);
}

void MetricsWriter::histogram(const Labels &labels, const Histogram &h) {
  if (family_.empty() || type_ != Type::kHistogram)
    throw std::invalid_argument("histogram() needs a histogram family first");
  for (const auto &[k, v] : labels)
    if (k == "le")
      throw std::invalid_argument("'le' is the histogram's own label");
  const auto cum = h.cumulative();
  for (std::size_t i = 0; i < cum.size(); ++i) {
    Labels with = labels;
    with.emplace_back("le", format_metric_value(h.bounds()[i]));
    line(family_ + "_bucket", with, static_cast<double>(cum[i]));
  }
  Labels inf = labels;
  inf.emplace_back("le", "+Inf");
  line(family_ + "_bucket", inf, static_cast<double>(h.count()));
  line(family_ + "_sum", labels, h.sum());
  line(family_ + "_count", labels, static_cast<double>(h.count()));
}

} // namespace keepup::whip
