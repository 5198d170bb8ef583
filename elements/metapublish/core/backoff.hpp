// SPDX-License-Identifier: LGPL-2.1-or-later
// Reconnect schedule: initial, doubling, capped; back to initial after a success.
#pragma once

#include <algorithm>
#include <chrono>

namespace keepup::metapublish {

class Backoff {
public:
  using ms = std::chrono::milliseconds;
  explicit Backoff(ms initial = ms(100), ms max = ms(5000))
      : initial_(std::max(ms(1), initial)), max_(std::max(initial_, max)), next_(initial_) {}

  // The wait before the next attempt; each call doubles the one after (up to max).
  ms next() {
    const ms now = next_;
    next_ = std::min(max_, next_ * 2);
    ++failures_;
    return now;
  }
  void reset() {
    next_ = initial_;
    failures_ = 0;
  }
  unsigned failures() const { return failures_; }

private:
  ms initial_, max_, next_;
  unsigned failures_ = 0;
};

} // namespace keepup::metapublish
