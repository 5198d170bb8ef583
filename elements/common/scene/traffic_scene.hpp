// SPDX-License-Identifier: LGPL-2.1-or-later
// A generated traffic scene: roads with lanes, cars / trucks / bikes moving at constant lane
// speeds, clutter and sensor noise. Deterministic: the same seed and time give the same pixels
// and the same ground truth. It is the training set of the bundled detector, the test input of
// yolodetect's quality test, and the built-in "test" source of the analytics pipeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace keepup::scene {

enum class VehicleClass : int { car = 0, truck = 1, bike = 2 };

struct GroundTruth {
  std::uint64_t id = 0;          // stable while the vehicle is in view
  int class_id = 0;              // VehicleClass
  cv::Rect2f box;                // visible part, clipped to the frame, in frame pixels
  float visible_fraction = 1.0F; // visible area / full area: partial objects at the borders
  float speed_px_per_s = 0.0F;   // along the lane, in frame pixels
};

struct SceneOptions {
  int width = 640;
  int height = 360;
  std::uint64_t seed = 1;
  // Roads and vehicles in scene units scale with the frame height (360 = 1.0).
  float zoom = 0.0F;   // 0 = random per seed in [0.8, 1.5]
  float noise = -1.0F; // Gaussian sensor noise sigma; < 0 = random per seed in [0, 8]
  // Traffic that stops, as at a red light on every lane: from stop_from until stop_until
  // (seconds) every vehicle stands where it is and none enters, then all move on from there.
  // No window (stop_until <= stop_from, the default) leaves the scene exactly as it was.
  double stop_from = 0.0;
  double stop_until = 0.0;
};

class TrafficScene {
public:
  explicit TrafficScene(const SceneOptions &options);

  // Renders the scene at time t (seconds) into a BGR frame of width x height.
  void render(double t_seconds, cv::Mat &bgr, std::vector<GroundTruth> &truth) const;

  // The scene is seen from straight above: one scale maps pixels to metres on the ground
  // (a car is about 4.5 m long).
  double metres_per_pixel() const { return 0.09 / unit_; }
  int width() const { return options_.width; }
  int height() const { return options_.height; }

private:
  struct Vehicle {
    int class_id;
    float length, breadth;
    cv::Scalar body, accent;
    float slot_offset; // position inside the lane's cycle at t = 0
  };
  struct Lane {
    bool vertical;
    float center; // y of a horizontal lane, x of a vertical one
    float speed;  // px/s, sign = direction
    float cycle;  // positions repeat with this period (px)
    int index;
    std::vector<Vehicle> vehicles;
  };
  struct Clutter {
    int kind;
    cv::Rect2f rect;
    cv::Scalar colour;
  };

  void draw_vehicle(cv::Mat &frame, const Lane &lane, const Vehicle &v, float along) const;
  // Seconds the traffic has moved by time t (t itself unless a stop window is set).
  double moving_time(double t) const;
  bool stopped_at(double t) const;

  SceneOptions options_;
  float unit_ = 1.0F;
  cv::Scalar ground_, asphalt_;
  std::vector<cv::Rect2f> roads_;
  std::vector<bool> road_vertical_;
  std::vector<Lane> lanes_;
  std::vector<Clutter> clutter_;
  cv::Mat background_;
};

} // namespace keepup::scene
