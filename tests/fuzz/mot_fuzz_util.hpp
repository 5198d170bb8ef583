// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared by the MOT reader targets: what the evaluator (mot_metrics: evaluate) must report for
// any parsed sequence, and the exact answer when a sequence is scored against itself.
#pragma once

#include <cmath>
#include <cstdint>
#include <set>

#include "fuzz_check.hpp"
#include "mot_metrics.hpp"

namespace keepup::fuzz {

inline void check_counts(const track::MotResult &r) {
  FUZZ_CHECK(r.tp >= 0 && r.fp >= 0 && r.fn >= 0 && r.id_switches >= 0);
  FUZZ_CHECK(r.tp + r.fn == r.gt);
  FUZZ_CHECK(r.tp + r.fp == r.hyp);
  FUZZ_CHECK(r.id_switches <= r.tp);
  FUZZ_CHECK(r.mota <= 1.0);
  FUZZ_CHECK(r.precision >= 0 && r.precision <= 1 && r.recall >= 0 && r.recall <= 1);
  FUZZ_CHECK(r.speed_samples <= r.tp);
}

// A box every IoU computation treats as itself: IoU(b, b) == 1 exactly.
inline bool solid(const track::Box &b) {
  const double a = b.area();
  return a > 0 && std::isfinite(a) && std::isfinite(2 * a) && std::isfinite(b.x1) &&
         std::isfinite(b.y1) && std::isfinite(b.x2) && std::isfinite(b.y2);
}

// The sequence scored against itself is perfect when it is well-formed: ids unique within a
// frame, boxes solid and distinct within a frame, nothing marked ignore.
inline void check_self_score(const track::MotSequence &seq) {
  for (const auto &[frame, objects] : seq) {
    std::set<std::int64_t> ids;
    for (std::size_t i = 0; i < objects.size(); ++i) {
      const auto &o = objects[i];
      if (o.ignore || !solid(o.box) || !ids.insert(o.id).second)
        return;
      for (std::size_t j = 0; j < i; ++j)
        if (objects[j].box.x1 == o.box.x1 && objects[j].box.y1 == o.box.y1 &&
            objects[j].box.x2 == o.box.x2 && objects[j].box.y2 == o.box.y2)
          return;
    }
  }
  const auto r = track::evaluate(seq, seq);
  check_counts(r);
  FUZZ_CHECK(r.fp == 0 && r.fn == 0 && r.id_switches == 0 && r.tp == r.gt && r.gt == r.hyp);
  FUZZ_CHECK(r.idtp == r.gt);
  if (r.gt > 0)
    FUZZ_CHECK(r.mota == 1.0 && r.idf1 == 1.0);
  FUZZ_CHECK(r.speed_samples == 0 || r.speed_median_abs_error_pct == 0.0);
}

} // namespace keepup::fuzz
