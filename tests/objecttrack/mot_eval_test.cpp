// SPDX-License-Identifier: LGPL-2.1-or-later
// The evaluator on hand-made sequences, and the tracker alone on generated traffic: ground
// truth boxes with noise and 10 % missed detections must keep IDF1 >= 0.95.
#include <gtest/gtest.h>

#include <random>

#include "mot_metrics.hpp"
#include "tracker.hpp"
#include "traffic_scene.hpp"
#include "tracker_scenario.hpp"

using namespace keepup::track;

namespace {

MotObject obj(std::int64_t id, double x, double y = 10, double w = 20, double h = 10) {
  MotObject o;
  o.id = id;
  o.box = {x, y, x + w, y + h};
  return o;
}

} // namespace

TEST(MotMetrics, PerfectTrackingScoresOne) {
  MotSequence gt, hyp;
  for (int f = 1; f <= 10; ++f) {
    gt[f] = {obj(1, f * 5.0), obj(2, 200 - f * 5.0, 50)};
    hyp[f] = {obj(7, f * 5.0), obj(9, 200 - f * 5.0, 50)};
  }
  const auto r = evaluate(gt, hyp);
  EXPECT_DOUBLE_EQ(r.mota, 1.0);
  EXPECT_DOUBLE_EQ(r.idf1, 1.0);
  EXPECT_EQ(r.id_switches, 0);
  EXPECT_EQ(r.tp, 20);
}

TEST(MotMetrics, IdSwitchMissesAndFalsePositives) {
  MotSequence gt, hyp;
  for (int f = 1; f <= 10; ++f) {
    gt[f] = {obj(1, f * 5.0)};
    hyp[f] = {obj(f <= 5 ? 3 : 4, f * 5.0)}; // the tracker changes id half way
  }
  hyp[10].push_back(obj(8, 500)); // a false positive
  gt[11] = {obj(1, 55)};          // a missed frame (not in hyp)
  const auto r = evaluate(gt, hyp);
  EXPECT_EQ(r.id_switches, 1);
  EXPECT_EQ(r.fp, 1);
  EXPECT_EQ(r.fn, 1);
  EXPECT_EQ(r.tp, 10);
  EXPECT_NEAR(r.mota, 1.0 - 3.0 / 11.0, 1e-9);
  // IDF1: the best single mapping covers 5 of 11 GT and 5 of 11 hypotheses.
  EXPECT_NEAR(r.idf1, 2.0 * 5 / (11 + 11), 1e-9);
  // Scoring only frames that reached the output forgives the missing frame 11.
  EXPECT_EQ(evaluate(gt, hyp, 0.5, true).fn, 0);
}

TEST(MotMetrics, IgnoredGroundTruthIsNeitherMissedNorFalse) {
  MotSequence gt, hyp;
  MotObject hidden = obj(5, 100);
  hidden.ignore = true;
  gt[1] = {obj(1, 0), hidden};
  hyp[1] = {obj(1, 0), obj(2, 100)};
  const auto r = evaluate(gt, hyp);
  EXPECT_EQ(r.fp, 0);
  EXPECT_EQ(r.fn, 0);
  EXPECT_EQ(r.gt, 1);
}

TEST(MotMetrics, GroundTruthLinesRoundTrip) {
  const std::string text = format_mot_gt_line(3, 17, {10, 20, 50, 40}, true, 1, 0.9, 42.5) +
                           format_mot_gt_line(3, 18, {0, 0, 5, 5}, false, 2, 0.2, std::nullopt);
  const auto seq = parse_mot_gt(text);
  ASSERT_EQ(seq.at(3).size(), 2U);
  EXPECT_EQ(seq.at(3)[0].id, 17);
  EXPECT_NEAR(seq.at(3)[0].box.x2, 50, 1e-9);
  EXPECT_NEAR(*seq.at(3)[0].speed_kmh, 42.5, 1e-9);
  EXPECT_TRUE(seq.at(3)[1].ignore);
  EXPECT_FALSE(seq.at(3)[1].speed_kmh.has_value());
  EXPECT_THROW(parse_mot_gt("1,2,3\n"), std::invalid_argument);
}

// The tracker alone: ground truth of a generated scene as detections, with box noise and
// 10 % of detections missing, 20 s at 30 fps.
TEST(TrackerQuality, NoisyGroundTruthKeepsIdentities) {
  const int w = 1280, h = 720, fps = 30, frames = 600;
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 0.03);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double worst_idf1 = 1.0;
  for (std::uint64_t seed : {3ULL, 8ULL, 21ULL}) {
    keepup::scene::TrafficScene scene({w, h, seed, 1.0F, 0.0F});
    TrackerConfig config;
    config.ground = Homography::from_scale(scene.metres_per_pixel());
    config.frame_width = w;
    config.frame_height = h;
    Tracker tracker(config);
    MotSequence gt, hyp;
    std::map<std::uint64_t, std::int64_t> ids;
    cv::Mat frame;
    std::vector<keepup::scene::GroundTruth> truth;
    for (int f = 0; f < frames; ++f) {
      const std::int64_t t_ns = static_cast<std::int64_t>(f) * 1'000'000'000 / fps;
      scene.render(static_cast<double>(f) / fps, frame, truth);
      std::vector<Detection> dets;
      auto &g = gt[f + 1];
      for (const auto &o : truth) {
        const std::int64_t id =
            ids.emplace(o.id, static_cast<std::int64_t>(ids.size() + 1)).first->second;
        MotObject m;
        m.id = id;
        m.box = {o.box.x, o.box.y, o.box.x + o.box.width, o.box.y + o.box.height};
        m.ignore = o.visible_fraction < 0.5F;
        g.push_back(m);
        if (o.visible_fraction < 0.3F || u(rng) < 0.10)
          continue; // missed
        const double bw = o.box.width, bh = o.box.height;
        Box b{o.box.x + noise(rng) * bw, o.box.y + noise(rng) * bh, 0, 0};
        b.x2 = b.x1 + bw * (1 + noise(rng));
        b.y2 = b.y1 + bh * (1 + noise(rng));
        dets.push_back({b, o.class_id, 0.6 + 0.35 * u(rng)});
      }
      auto &hf = hyp[f + 1];
      for (const auto &t : tracker.update(dets, t_ns)) {
        MotObject m;
        m.id = static_cast<std::int64_t>(t.id);
        m.box = t.box;
        hf.push_back(m);
      }
    }
    const auto r = evaluate(gt, hyp);
    std::printf("seed %llu: %lld GT objects, MOTA %.3f IDF1 %.3f ID switches %lld\n",
                static_cast<unsigned long long>(seed), static_cast<long long>(r.gt), r.mota, r.idf1,
                static_cast<long long>(r.id_switches));
    EXPECT_GT(r.gt, 1000);
    worst_idf1 = std::min(worst_idf1, r.idf1);
  }
  EXPECT_GE(worst_idf1, 0.95);
}

// Behind a detector that runs on every 3rd frame and leaves the frames between empty, with
// 10 % of the frames dropped (3 % box noise, 8 % misses, false positives): the frames between
// are learned to be "not inferred" (empty-frames=auto) and only predict. Before: IDF1 0.05.
TEST(TrackerQuality, SparseDetectionsWithDropsKeepIdentities) {
  namespace ev = keepup::track::eval;
  ev::ScenarioOptions o;
  o.seed = 3;
  const auto sparse = ev::run_scenario(ev::Feed::sparse_drops, o);
  std::printf(
      "sparse + drops: MOTA %.3f IDF1 %.3f ID switches %lld, %llu of %llu frames predicted\n",
      sparse.mot.mota, sparse.mot.idf1, static_cast<long long>(sparse.mot.id_switches),
      static_cast<unsigned long long>(sparse.predictions),
      static_cast<unsigned long long>(sparse.frames));
  EXPECT_GT(sparse.mot.gt, 1000);
  EXPECT_GE(sparse.mot.idf1, 0.85);
  EXPECT_GE(sparse.mot.mota, 0.75);
  EXPECT_GT(sparse.predictions, sparse.frames / 2) << "the frames between predict";
  // Taken as "no objects" instead, the empty frames are misses; track life by time still
  // carries the tracks over them.
  o.empty = EmptyFrames::no_objects;
  const auto misses = ev::run_scenario(ev::Feed::sparse_drops, o);
  EXPECT_EQ(misses.predictions, 0U);
  EXPECT_GE(misses.mot.idf1, 0.85);
}

// yolodetect interval=3: the frames between carry the last result marked fresh=false. Those
// are not measurements: speed as good as with detections on every frame (within 0.5 points).
TEST(TrackerQuality, ReusedDetectionsAreNotMeasurements) {
  namespace ev = keepup::track::eval;
  ev::ScenarioOptions o;
  o.seed = 3;
  const auto every = ev::run_scenario(ev::Feed::every_frame, o);
  const auto reused = ev::run_scenario(ev::Feed::reused, o);
  std::printf(
      "speed error: every frame %.2f %%, reused fresh=false %.2f %% (%lld / %lld samples)\n",
      every.mot.speed_median_abs_error_pct, reused.mot.speed_median_abs_error_pct,
      static_cast<long long>(every.mot.speed_samples),
      static_cast<long long>(reused.mot.speed_samples));
  EXPECT_GT(reused.mot.speed_samples, 1000);
  EXPECT_LE(reused.mot.speed_median_abs_error_pct, every.mot.speed_median_abs_error_pct + 0.5);
  EXPECT_GE(reused.mot.idf1, 0.85);
  EXPECT_GT(reused.predictions, reused.frames / 2);
  EXPECT_GE(every.mot.idf1, 0.95);
}
