// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-tracker: objecttrack's core alone behind detectors that feed it differently.
// Ground-truth boxes of the generated traffic scene become detections (3 % box noise, 8 %
// misses, false positives); the table scores the tracker per feed against the ground truth:
//   every frame / sparse (every 3rd frame, nothing between) / sparse + 10 % frames dropped /
//   reused (every 3rd frame, the frames between carry the last result marked fresh=false).
// Usage: keepup-bench-tracker [--seeds N] [--seconds S] [--every N] [--drop P]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tracker_scenario.hpp"

using namespace keepup::track;

int main(int argc, char **argv) {
  eval::ScenarioOptions o;
  int seeds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--seeds" && v) {
      seeds = std::atoi(v);
      ++i;
    } else if (a == "--seconds" && v) {
      o.seconds = std::atof(v);
      ++i;
    } else if (a == "--every" && v) {
      o.every = std::atoi(v);
      ++i;
    } else if (a == "--drop" && v) {
      o.drop = std::atof(v);
      ++i;
    } else {
      std::fprintf(
          stderr, "usage: keepup-bench-tracker [--seeds N] [--seconds S] [--every N] [--drop P]\n");
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  if (seeds < 1 || o.seconds <= 0 || o.every < 1 || o.drop < 0 || o.drop >= 1) {
    std::fprintf(stderr, "keepup-bench-tracker: --seeds >= 1, --seconds > 0, --every >= 1, "
                         "0 <= --drop < 1\n");
    return 2;
  }
  std::printf("tracker alone, generated traffic %dx%d, %.0f s x %d scenes; detections: %.0f %% "
              "box noise, %.0f %% missed, %.1f false per inferred frame\n",
              o.width, o.height, o.seconds, seeds, o.box_noise * 100, o.miss * 100,
              o.false_positives);
  std::printf("%-24s %7s %7s %10s %12s %9s\n", "feed", "IDF1", "MOTA", "ID sw.", "speed err %",
              "predicts");
  for (eval::Feed feed : {eval::Feed::every_frame, eval::Feed::sparse, eval::Feed::sparse_drops,
                          eval::Feed::reused, eval::Feed::reused_as_fresh}) {
    double idf1 = 0, mota = 0, speed = 0;
    long long switches = 0;
    unsigned long long predictions = 0;
    for (int s = 0; s < seeds; ++s) {
      o.seed = 3 + static_cast<std::uint64_t>(s) * 5;
      const auto r = eval::run_scenario(feed, o);
      idf1 += r.mot.idf1;
      mota += r.mot.mota;
      speed += r.mot.speed_median_abs_error_pct;
      switches += r.mot.id_switches;
      predictions += r.predictions;
    }
    std::printf("%-24s %7.3f %7.3f %10lld %12.2f %9llu\n", eval::feed_name(feed), idf1 / seeds,
                mota / seeds, switches, speed / seeds, predictions);
  }
  return 0;
}
