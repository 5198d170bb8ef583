// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-mot-eval: MOTA, IDF1, ID switches and speed error of a tracking run.
//
//   keepup-mot-eval gt.txt tracks.jsonl [--all-frames] [--iou 0.5]
//
// gt.txt: MOT17 ground truth (keepup-analyze test --gt writes it; a 10th column carries the
// true speed in km/h). tracks.jsonl: keepup-analyze --meta output. By default only frames
// that reached the output are scored (frames dropped upstream are not the tracker's misses);
// --all-frames scores every ground-truth frame.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "file_util.hpp"

#include "mot_metrics.hpp"
#include "track_jsonl.hpp"

int main(int argc, char **argv) {
  std::string gt_path, hyp_path;
  bool all_frames = false;
  double iou = 0.5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--all-frames") {
      all_frames = true;
    } else if (a == "--iou" && i + 1 < argc) {
      iou = std::atof(argv[++i]);
    } else if (gt_path.empty()) {
      gt_path = a;
    } else if (hyp_path.empty()) {
      hyp_path = a;
    } else {
      gt_path.clear();
      break;
    }
  }
  if (gt_path.empty() || hyp_path.empty()) {
    std::cerr << "usage: keepup-mot-eval gt.txt tracks.jsonl [--all-frames] [--iou 0.5]\n";
    return 2;
  }
  std::string gt_text, hyp_text;
  if (!keepup::read_whole_file(gt_path, gt_text) || !keepup::read_whole_file(hyp_path, hyp_text)) {
    std::cerr << "keepup-mot-eval: cannot read " << (gt_text.empty() ? gt_path : hyp_path) << "\n";
    return 1;
  }
  try {
    const auto r =
        keepup::track::evaluate(keepup::track::parse_mot_gt(gt_text),
                                keepup::track::parse_track_jsonl(hyp_text), iou, !all_frames);
    std::printf("frames %lld  gt %lld  hyp %lld\n", static_cast<long long>(r.frames),
                static_cast<long long>(r.gt), static_cast<long long>(r.hyp));
    std::printf("MOTA %.3f  IDF1 %.3f  (IDP %.3f IDR %.3f)  ID switches %lld\n", r.mota, r.idf1,
                r.idp, r.idr, static_cast<long long>(r.id_switches));
    std::printf("TP %lld  FP %lld  FN %lld  precision %.3f  recall %.3f  MOTP(IoU) %.3f\n",
                static_cast<long long>(r.tp), static_cast<long long>(r.fp),
                static_cast<long long>(r.fn), r.precision, r.recall, r.motp_iou);
    if (r.speed_samples)
      std::printf("speed: median absolute error %.2f %% over %lld matched samples\n",
                  r.speed_median_abs_error_pct, static_cast<long long>(r.speed_samples));
  } catch (const std::exception &e) {
    std::cerr << "keepup-mot-eval: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
