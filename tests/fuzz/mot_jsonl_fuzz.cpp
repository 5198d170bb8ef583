// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-mot-eval's reader of keepup-analyze's JSON lines (cli/track_jsonl.hpp:
// parse_track_jsonl) and the evaluator on what it reads. Errors are std::exceptions with a
// message (the CLI prints them); a failed assertion in the JSON library, anything else
// escaping, or a sanitizer report is a crash.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_check.hpp"
#include "mot_fuzz_util.hpp"
#include "track_jsonl.hpp"

namespace track = keepup::track;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  track::MotSequence hyp;
  try {
    hyp = track::parse_track_jsonl(text);
  } catch (const std::exception &e) {
    FUZZ_CHECK(e.what()[0] != '\0');
    return 0;
  }
  for (const auto &[frame, objects] : hyp)
    for (const auto &o : objects)
      FUZZ_CHECK(!o.ignore);
  keepup::fuzz::check_counts(track::evaluate({}, hyp));
  keepup::fuzz::check_self_score(hyp);
  return 0;
}
