// SPDX-License-Identifier: LGPL-2.1-or-later
// Prometheus text exposition format 0.0.4 for keepup-record's GET /metrics: counter, gauge and
// histogram families with labels, values written the same under any locale. Plain C++,
// unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace keepup::whip {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Cumulative histogram with fixed upper bounds (ascending, finite); +Inf is implicit.
class Histogram {
public:
  explicit Histogram(std::vector<double> upper_bounds); // throws std::invalid_argument
  void observe(double value);
  const std::vector<double> &bounds() const { return bounds_; }
  // Per-bound cumulative counts (value <= bound), same size as bounds().
  std::vector<std::uint64_t> cumulative() const;
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> in_bucket_; // not cumulative; last is (last bound, +Inf)
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

// "1", "0.25", "1e+21", "+Inf", "-Inf", "NaN": shortest round-trip form, never a comma.
std::string format_metric_value(double v);

// Label values escape \ " and newline (the format's rules).
std::string escape_label_value(const std::string &v);

// Writes families one after another: family() then its samples. Names must match the
// format's rules ([a-zA-Z_:][a-zA-Z0-9_:]*; label names without ':' and not starting with
// "__"); a bad name is a programming error and throws std::invalid_argument.
class MetricsWriter {
public:
  enum class Type { kCounter, kGauge, kHistogram };
  void family(const std::string &name, Type type, const std::string &help);
  // A counter or gauge sample of the current family (counters get no _total added: name
  // them with it).
  void sample(const Labels &labels, double value);
  // A histogram's _bucket (with le), _sum and _count lines for the current family.
  void histogram(const Labels &labels, const Histogram &h);
  const std::string &text() const { return out_; }

private:
  void line(const std::string &name, const Labels &labels, double value);
  std::string family_;
  Type type_ = Type::kGauge;
  std::string out_;
};

} // namespace keepup::whip
