// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tracker_scenario.hpp"

#include <map>
#include <random>
#include <vector>

#include "traffic_scene.hpp"

namespace keepup::track::eval {

const char *feed_name(Feed f) {
  switch (f) {
  case Feed::sparse:
    return "sparse";
  case Feed::sparse_drops:
    return "sparse + drops";
  case Feed::reused:
    return "reused (fresh=false)";
  case Feed::reused_as_fresh:
    return "reused, marks ignored";
  default:
    return "every frame";
  }
}

ScenarioResult run_scenario(Feed feed, const ScenarioOptions &o, TrackerConfig config) {
  keepup::scene::TrafficScene scene({o.width, o.height, o.seed, 1.0F, 0.0F});
  config.frame_width = o.width;
  config.frame_height = o.height;
  const double mpp = scene.metres_per_pixel();
  config.ground = Homography::from_scale(mpp);
  Tracker tracker(config);
  FrameClassifier classifier(o.empty);

  std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<std::uint64_t>(feed));
  std::normal_distribution<double> noise(0.0, o.box_noise);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::poisson_distribution<int> fp_count(o.false_positives);

  ScenarioResult result;
  MotSequence gt, hyp;
  std::map<std::uint64_t, std::int64_t> ids;
  std::vector<Detection> last;
  cv::Mat frame;
  std::vector<keepup::scene::GroundTruth> truth;
  const int frames = static_cast<int>(o.seconds * o.fps);
  std::uint64_t received = 0;
  const bool sparse = feed != Feed::every_frame;
  for (int f = 0; f < frames; ++f) {
    const std::int64_t t_ns = static_cast<std::int64_t>(f) * 1'000'000'000 / o.fps;
    scene.render(static_cast<double>(f) / o.fps, frame, truth);
    auto &g = gt[f + 1];
    for (const auto &obj : truth) {
      MotObject m;
      m.id = ids.emplace(obj.id, static_cast<std::int64_t>(ids.size() + 1)).first->second;
      m.box = {obj.box.x, obj.box.y, obj.box.x + obj.box.width, obj.box.y + obj.box.height};
      m.ignore = obj.visible_fraction < 0.5F;
      m.speed_kmh = obj.speed_px_per_s * mpp * 3.6;
      g.push_back(m);
    }
    if (feed == Feed::sparse_drops && u(rng) < o.drop)
      continue; // dropped before the detector: neither detected nor tracked
    const bool inferred = !sparse || received % static_cast<std::uint64_t>(o.every) == 0;
    ++received;
    ++result.frames;

    FrameFacts facts;
    facts.t_ns = t_ns;
    std::vector<Detection> dets;
    if (inferred) {
      for (const auto &obj : truth) {
        if (obj.visible_fraction < 0.3F || u(rng) < o.miss)
          continue;
        const double bw = obj.box.width, bh = obj.box.height;
        Box b{obj.box.x + noise(rng) * bw, obj.box.y + noise(rng) * bh, 0, 0};
        b.x2 = b.x1 + bw * (1 + noise(rng));
        b.y2 = b.y1 + bh * (1 + noise(rng));
        dets.push_back({b, obj.class_id, 0.5 + 0.45 * u(rng)});
      }
      for (int i = fp_count(rng); i > 0; --i) {
        const double w = 30 + 90 * u(rng), h = 20 + 40 * u(rng);
        const double x = u(rng) * (o.width - w), y = u(rng) * (o.height - h);
        dets.push_back({{x, y, x + w, y + h}, static_cast<int>(u(rng) * 3), 0.3 + 0.45 * u(rng)});
      }
      last = dets;
      facts.detections = dets.size();
    } else if (feed == Feed::reused || feed == Feed::reused_as_fresh) {
      dets = last;
      facts.detections = dets.size();
      facts.stale = feed == Feed::reused ? dets.size() : 0;
    }

    std::vector<TrackOutput> out;
    if (classifier.classify(facts) == FrameKind::update) {
      ++result.updates;
      out = tracker.update(dets, t_ns);
    } else {
      ++result.predictions;
      out = tracker.predict(t_ns);
    }
    auto &h = hyp[f + 1];
    for (const auto &t : out) {
      MotObject m;
      m.id = static_cast<std::int64_t>(t.id);
      m.box = t.box;
      m.speed_kmh = t.speed_kmh;
      h.push_back(m);
    }
  }
  // Frames dropped before the tracker have no output to score: only frames that reached it.
  result.mot = evaluate(gt, hyp, 0.5, true);
  return result;
}

} // namespace keepup::track::eval
