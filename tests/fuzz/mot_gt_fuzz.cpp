// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-mot-eval's ground-truth reader (mot_metrics: parse_mot_gt) and the evaluator on what
// it reads. Errors are std::exceptions with a message (the CLI prints them); anything else
// escaping, or a sanitizer report, is a crash.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_check.hpp"
#include "mot_fuzz_util.hpp"
#include "mot_metrics.hpp"

namespace track = keepup::track;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  track::MotSequence gt;
  try {
    gt = track::parse_mot_gt(text);
  } catch (const std::exception &e) {
    FUZZ_CHECK(e.what()[0] != '\0');
    return 0;
  }
  // Ground truth against a tracker that reported exactly the counted objects.
  track::MotSequence hyp;
  for (const auto &[frame, objects] : gt)
    for (const auto &o : objects)
      if (!o.ignore)
        hyp[frame].push_back(o);
  keepup::fuzz::check_counts(track::evaluate(gt, hyp));
  keepup::fuzz::check_counts(track::evaluate(gt, {}, 0.5, false));
  keepup::fuzz::check_self_score(hyp);
  return 0;
}
