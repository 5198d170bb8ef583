// SPDX-License-Identifier: LGPL-2.1-or-later
#include "traffic_scene.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

namespace keepup::scene {

namespace {

struct Rng {
  std::mt19937_64 engine;
  explicit Rng(std::uint64_t seed) : engine(seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL) {}
  float uniform(float lo, float hi) {
    return std::uniform_real_distribution<float>(lo, hi)(engine);
  }
  int integer(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(engine); }
  bool chance(float p) { return uniform(0.0F, 1.0F) < p; }
  cv::Scalar colour(int lo, int hi) {
    return {static_cast<double>(integer(lo, hi)), static_cast<double>(integer(lo, hi)),
            static_cast<double>(integer(lo, hi))};
  }
};

cv::Scalar vehicle_colour(Rng &rng) {
  static const cv::Scalar palette[] = {
      {40, 40, 200},  {200, 60, 40}, {230, 230, 230}, {30, 30, 30},  {150, 150, 150},
      {40, 160, 220}, {60, 140, 60}, {140, 40, 120},  {0, 200, 255}, {180, 120, 60}};
  cv::Scalar c = palette[rng.integer(0, 9)];
  for (int i = 0; i < 3; ++i)
    c[i] = std::clamp(c[i] + rng.uniform(-25.0F, 25.0F), 0.0, 255.0);
  return c;
}

cv::Scalar darker(const cv::Scalar &c, double f) {
  return {c[0] * f, c[1] * f, c[2] * f};
}

} // namespace

TrafficScene::TrafficScene(const SceneOptions &options) : options_(options) {
  Rng rng(options.seed);
  const float w = static_cast<float>(options.width), h = static_cast<float>(options.height);
  const float zoom = options.zoom > 0.0F ? options.zoom : rng.uniform(0.8F, 1.5F);
  unit_ = h / 360.0F * zoom;
  if (options_.noise < 0.0F)
    options_.noise = rng.chance(0.3F) ? 0.0F : rng.uniform(0.0F, 8.0F);

  ground_ = rng.chance(0.6F) ? cv::Scalar(rng.integer(40, 90), rng.integer(100, 160),
                                          rng.integer(60, 110)) // grass
                             : rng.colour(120, 200);            // concrete / sand
  asphalt_ = rng.colour(55, 110);

  // One to three roads; a horizontal one always, plus possibly a vertical crossing one.
  const float lane_width = 34.0F * unit_;
  auto add_road = [&](bool vertical, int lanes) {
    const float extent = vertical ? w : h;
    const float road_width = lane_width * static_cast<float>(lanes) + 8.0F * unit_;
    const float centre = rng.uniform(
        road_width * 0.5F, std::max(road_width * 0.5F + 1.0F, extent - road_width * 0.5F));
    const float start = centre - road_width * 0.5F;
    roads_.push_back(vertical ? cv::Rect2f(start, 0, road_width, h)
                              : cv::Rect2f(0, start, w, road_width));
    road_vertical_.push_back(vertical);
    const float along = vertical ? h : w;
    for (int l = 0; l < lanes; ++l) {
      Lane lane;
      lane.vertical = vertical;
      lane.index = static_cast<int>(lanes_.size());
      lane.center = start + 4.0F * unit_ + lane_width * (static_cast<float>(l) + 0.5F);
      const float direction = (l < lanes / 2 || (lanes == 1 && rng.chance(0.5F))) ? -1.0F : 1.0F;
      lane.speed = direction * rng.uniform(40.0F, 160.0F) * unit_;
      lane.cycle = along + 260.0F * unit_ * rng.uniform(1.0F, 2.0F);
      float cursor = rng.uniform(0.0F, 80.0F * unit_);
      while (true) {
        Vehicle v;
        const float pick = rng.uniform(0.0F, 1.0F);
        v.class_id = pick < 0.6F ? 0 : (pick < 0.8F ? 1 : 2);
        if (v.class_id == 0) {
          v.length = rng.uniform(44.0F, 58.0F) * unit_;
          v.breadth = rng.uniform(21.0F, 26.0F) * unit_;
        } else if (v.class_id == 1) {
          v.length = rng.uniform(85.0F, 120.0F) * unit_;
          v.breadth = rng.uniform(27.0F, 31.0F) * unit_;
        } else {
          v.length = rng.uniform(28.0F, 34.0F) * unit_;
          v.breadth = rng.uniform(11.0F, 14.0F) * unit_;
        }
        v.body = vehicle_colour(rng);
        v.accent = v.class_id == 1 ? rng.colour(170, 250) : vehicle_colour(rng);
        if (cursor + v.length > lane.cycle - 20.0F * unit_)
          break;
        v.slot_offset = cursor;
        lane.vehicles.push_back(v);
        cursor += v.length + rng.uniform(25.0F, 200.0F) * unit_;
      }
      lanes_.push_back(std::move(lane));
    }
  };
  add_road(false, rng.integer(1, 4));
  if (rng.chance(0.35F))
    add_road(true, rng.integer(1, 2));

  // Clutter off the roads: buildings, trees, parked blobs; on the roads: manholes, stains.
  const int clutter_count = rng.integer(3, 14);
  for (int i = 0; i < clutter_count; ++i) {
    Clutter c;
    c.kind = rng.integer(0, 3);
    const float size =
        (c.kind == 0 ? rng.uniform(40.0F, 120.0F) : rng.uniform(10.0F, 40.0F)) * unit_;
    c.rect = cv::Rect2f(rng.uniform(-size * 0.5F, w), rng.uniform(-size * 0.5F, h),
                        size * rng.uniform(0.7F, 1.4F), size);
    c.colour = c.kind == 1
                   ? cv::Scalar(rng.integer(20, 60), rng.integer(80, 140), rng.integer(20, 60))
                   : rng.colour(60, 220);
    clutter_.push_back(c);
  }

  // The static part is drawn once.
  background_.create(options.height, options.width, CV_8UC3);
  background_.setTo(ground_);
  for (const auto &c : clutter_) {
    const cv::Rect r(c.rect);
    if (c.kind == 0) { // building with a roof ridge
      cv::rectangle(background_, r, c.colour, cv::FILLED);
      cv::line(background_, {r.x, r.y + r.height / 2}, {r.x + r.width, r.y + r.height / 2},
               darker(c.colour, 0.7), std::max(1, static_cast<int>(2 * unit_)));
    } else if (c.kind == 1) { // tree
      cv::circle(background_, {r.x + r.width / 2, r.y + r.height / 2}, r.height / 2, c.colour,
                 cv::FILLED, cv::LINE_AA);
    }
  }
  for (std::size_t i = 0; i < roads_.size(); ++i) {
    const cv::Rect r(roads_[i]);
    cv::rectangle(background_, r, asphalt_, cv::FILLED);
    const bool vertical = road_vertical_[i];
    const cv::Scalar edge(220, 220, 220);
    const int thick = std::max(1, static_cast<int>(1.5F * unit_));
    if (vertical) {
      cv::line(background_, {r.x + 2, 0}, {r.x + 2, r.height}, edge, thick);
      cv::line(background_, {r.x + r.width - 3, 0}, {r.x + r.width - 3, r.height}, edge, thick);
    } else {
      cv::line(background_, {0, r.y + 2}, {r.width, r.y + 2}, edge, thick);
      cv::line(background_, {0, r.y + r.height - 3}, {r.width, r.y + r.height - 3}, edge, thick);
    }
  }
  // Dashed lane separators between neighbouring lanes of one road.
  for (std::size_t i = 1; i < lanes_.size(); ++i) {
    const Lane &a = lanes_[i - 1], &b = lanes_[i];
    if (a.vertical != b.vertical || std::abs(b.center - a.center) > lane_width * 1.5F)
      continue;
    const float mid = (a.center + b.center) * 0.5F;
    const float dash = 18.0F * unit_;
    const float along = a.vertical ? h : w;
    for (float s = 0; s < along; s += dash * 2.0F) {
      const cv::Point p1 = a.vertical ? cv::Point(static_cast<int>(mid), static_cast<int>(s))
                                      : cv::Point(static_cast<int>(s), static_cast<int>(mid));
      const cv::Point p2 = a.vertical
                               ? cv::Point(static_cast<int>(mid), static_cast<int>(s + dash))
                               : cv::Point(static_cast<int>(s + dash), static_cast<int>(mid));
      cv::line(background_, p1, p2, cv::Scalar(230, 230, 230),
               std::max(1, static_cast<int>(1.5F * unit_)));
    }
  }
  for (const auto &c : clutter_) {
    const cv::Rect r(c.rect);
    if (c.kind == 2) { // manhole / stain
      cv::ellipse(background_, {r.x + r.width / 2, r.y + r.height / 2},
                  {r.width / 3 + 1, r.height / 3 + 1}, 0, 0, 360, darker(asphalt_, 0.6), cv::FILLED,
                  cv::LINE_AA);
    } else if (c.kind == 3) { // sign post: small disc on a pole
      cv::line(background_, {r.x + r.width / 2, r.y + r.height / 2},
               {r.x + r.width / 2, r.y + r.height}, cv::Scalar(90, 90, 90),
               std::max(1, static_cast<int>(unit_)));
      cv::circle(background_, {r.x + r.width / 2, r.y + r.height / 3}, r.width / 4 + 1, c.colour,
                 cv::FILLED, cv::LINE_AA);
    }
  }
}

void TrafficScene::draw_vehicle(cv::Mat &frame, const Lane &lane, const Vehicle &v,
                                float along) const {
  // Draw along +x in a local sprite frame, then map to the lane's orientation and direction.
  const bool forward = lane.speed >= 0.0F;
  auto to_frame = [&](float u, float s) -> cv::Point2f {
    // u: 0..length along the travel direction (front at length), s: -breadth/2..+breadth/2
    const float pos = forward ? along + u : along + v.length - u;
    return lane.vertical ? cv::Point2f(lane.center + s, pos) : cv::Point2f(pos, lane.center + s);
  };
  auto fill = [&](float u0, float u1, float s0, float s1, const cv::Scalar &colour) {
    const cv::Point2f a = to_frame(u0, s0), b = to_frame(u1, s1);
    const cv::Point p0(static_cast<int>(std::lround(std::min(a.x, b.x))),
                       static_cast<int>(std::lround(std::min(a.y, b.y))));
    const cv::Point p1(static_cast<int>(std::lround(std::max(a.x, b.x))),
                       static_cast<int>(std::lround(std::max(a.y, b.y))));
    cv::rectangle(frame, p0, p1, colour, cv::FILLED, cv::LINE_AA);
  };
  const float L = v.length, B = v.breadth * 0.5F;
  // Shadow first, offset to one side.
  fill(1.5F * unit_, L + 1.5F * unit_, -B + 2.5F * unit_, B + 2.5F * unit_, darker(asphalt_, 0.55));
  if (v.class_id == 0) {
    fill(0, L, -B, B, v.body);
    fill(L * 0.62F, L * 0.78F, -B * 0.8F, B * 0.8F, cv::Scalar(50, 40, 30));   // windscreen
    fill(L * 0.12F, L * 0.24F, -B * 0.75F, B * 0.75F, cv::Scalar(45, 35, 30)); // rear window
    fill(L * 0.26F, L * 0.60F, -B * 0.7F, B * 0.7F, darker(v.body, 0.85));     // roof
  } else if (v.class_id == 1) {
    fill(0, L * 0.76F, -B, B, v.accent);                                    // cargo box
    fill(L * 0.78F, L, -B * 0.92F, B * 0.92F, v.body);                      // cab
    fill(L * 0.9F, L * 0.97F, -B * 0.8F, B * 0.8F, cv::Scalar(50, 40, 30)); // windscreen
    for (float rib = L * 0.1F; rib < L * 0.7F; rib += L * 0.15F)
      fill(rib, rib + std::max(1.0F, unit_), -B, B, darker(v.accent, 0.85));
  } else {
    fill(0, L, -B * 0.25F, B * 0.25F, cv::Scalar(25, 25, 25)); // frame and wheels
    fill(0, L * 0.22F, -B * 0.35F, B * 0.35F, cv::Scalar(15, 15, 15));
    fill(L * 0.78F, L, -B * 0.35F, B * 0.35F, cv::Scalar(15, 15, 15));
    fill(L * 0.6F, L * 0.68F, -B, B, cv::Scalar(60, 60, 60)); // handlebar
    const cv::Point2f rider = to_frame(L * 0.45F, 0);
    cv::ellipse(frame, rider,
                lane.vertical ? cv::Size2f(B * 0.95F, L * 0.2F) : cv::Size2f(L * 0.2F, B * 0.95F),
                0, 0, 360, v.body, cv::FILLED, cv::LINE_AA); // rider's shoulders
    cv::circle(frame, rider, static_cast<int>(std::max(2.0F, B * 0.55F)), v.accent, cv::FILLED,
               cv::LINE_AA); // helmet
  }
}

bool TrafficScene::stopped_at(double t) const {
  return options_.stop_until > options_.stop_from && t >= options_.stop_from &&
         t < options_.stop_until;
}

double TrafficScene::moving_time(double t) const {
  if (options_.stop_until <= options_.stop_from || t < options_.stop_from)
    return t;
  return t < options_.stop_until ? options_.stop_from
                                 : t - (options_.stop_until - options_.stop_from);
}

void TrafficScene::render(double t, cv::Mat &bgr, std::vector<GroundTruth> &truth) const {
  background_.copyTo(bgr);
  truth.clear();
  const double moved = moving_time(t);
  const bool stopped = stopped_at(t);
  const float w = static_cast<float>(options_.width), h = static_cast<float>(options_.height);
  const float margin = 130.0F * unit_;
  for (const Lane &lane : lanes_) {
    const float along_extent = lane.vertical ? h : w;
    for (std::size_t i = 0; i < lane.vehicles.size(); ++i) {
      const Vehicle &v = lane.vehicles[i];
      // Position of the vehicle's rear along the lane, periodic with the lane's cycle.
      const double travelled =
          static_cast<double>(v.slot_offset) + std::abs(static_cast<double>(lane.speed)) * moved;
      const double laps = std::floor(travelled / lane.cycle);
      const float phase = static_cast<float>(travelled - laps * lane.cycle) - margin;
      float along = lane.speed >= 0.0F ? phase : along_extent - phase - v.length;
      if (along > along_extent || along + v.length < 0.0F)
        continue;
      draw_vehicle(bgr, lane, v, along);
      const cv::Rect2f full =
          lane.vertical ? cv::Rect2f(lane.center - v.breadth * 0.5F, along, v.breadth, v.length)
                        : cv::Rect2f(along, lane.center - v.breadth * 0.5F, v.length, v.breadth);
      const cv::Rect2f visible = full & cv::Rect2f(0, 0, w, h);
      if (visible.area() <= 0.0F)
        continue;
      GroundTruth gt;
      gt.id = (static_cast<std::uint64_t>(lane.index) << 40) |
              (static_cast<std::uint64_t>(i) << 24) | static_cast<std::uint64_t>(laps);
      gt.class_id = v.class_id;
      gt.box = visible;
      gt.visible_fraction = visible.area() / full.area();
      gt.speed_px_per_s = stopped ? 0.0F : std::abs(lane.speed);
      truth.push_back(gt);
    }
  }
  // Vertical and horizontal roads cross: a vehicle drawn later can hide an earlier one.
  // Mark the hidden fraction so evaluators can ignore mostly-covered objects.
  for (std::size_t i = 0; i < truth.size(); ++i)
    for (std::size_t j = i + 1; j < truth.size(); ++j) {
      const float overlap = (truth[i].box & truth[j].box).area();
      if (overlap > 0.0F)
        truth[i].visible_fraction =
            std::min(truth[i].visible_fraction,
                     truth[i].visible_fraction * (1.0F - overlap / truth[i].box.area()));
    }
  if (options_.noise > 0.0F) {
    cv::Mat noise(bgr.size(), CV_16SC3);
    cv::RNG rng(options_.seed * 7919ULL + static_cast<std::uint64_t>(t * 1000.0) + 1);
    rng.fill(noise, cv::RNG::NORMAL, 0.0, options_.noise);
    cv::Mat wide;
    bgr.convertTo(wide, CV_16SC3);
    wide += noise;
    wide.convertTo(bgr, CV_8UC3);
  }
}

} // namespace keepup::scene
