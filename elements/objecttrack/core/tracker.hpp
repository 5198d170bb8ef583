// SPDX-License-Identifier: LGPL-2.1-or-later
// Multi-object tracking, ByteTrack-class: a constant-velocity Kalman box per track, optimal
// (Hungarian) IoU assignment of high-confidence detections first, then low-confidence ones to
// the tracks left over, new tracks from unmatched confident detections. Every time is a
// timestamp in nanoseconds (buffer PTS), so dropped frames and skipped inference change only
// the prediction step, not the tracks' life. Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "track_geometry.hpp"

namespace keepup::track {

// Optimal assignment minimising the total cost; pairs costing more than `max_cost` are never
// made. Returns, per row, the assigned column or -1.
std::vector<int> assign(const std::vector<std::vector<double>> &cost, double max_cost);

// One box coordinate (cx, cy, w or h) as position + velocity; the four are independent, which
// is exactly ByteTrack's filter (its matrices are block-diagonal per coordinate).
class Kalman1D {
public:
  void init(double position, double position_sigma, double velocity_sigma);
  void predict(double dt_s, double q_position, double q_velocity);
  void update(double measured, double r);
  double position() const { return p_; }
  double velocity() const { return v_; }
  double variance() const { return P_[0][0]; }

private:
  double p_ = 0, v_ = 0;
  double P_[2][2] = {{1, 0}, {0, 1}};
};

class BoxKalman {
public:
  void init(const Box &box);
  void predict(double dt_s);
  void update(const Box &box);
  Box box() const;
  Point velocity() const { return {cx_.velocity(), cy_.velocity()}; } // px/s of the centre

private:
  double scale() const;
  Kalman1D cx_, cy_, w_, h_;
};

enum class TrackState { tentative, confirmed, lost };
const char *state_name(TrackState s);

struct Detection {
  Box box;
  int class_id = 0;
  double confidence = 0;
};

struct TrackerConfig {
  double track_thresh = 0.5;     // high-confidence detections (stage 1)
  double low_thresh = 0.1;       // low-confidence detections (stage 2), below: ignored
  double new_track_thresh = 0.6; // unmatched detections at least this start a track
  double match_thresh = 0.8;     // IoU distance (1 - IoU) accepted in stage 1
  std::int64_t max_lost_ns = 1'000'000'000;
  // A confirmed track that missed its detection is still reported (state lost, predicted
  // box) for this long, while its box centre stays inside the frame: a missed detection or
  // two should not blink the object out.
  std::int64_t coast_ns = 300'000'000;
  int frame_width = 0, frame_height = 0; // 0: unknown, no inside-the-frame check
  int min_hits = 3;
  bool per_class = true;
  std::int64_t speed_window_ns = 1'000'000'000;
  std::optional<Homography> ground; // image -> metres; no calibration: no speed
  std::vector<Point> roi;           // empty: the whole frame
  std::vector<CountLine> lines;
};

struct TrackOutput {
  std::uint64_t id = 0;
  int class_id = 0;
  double confidence = 0;
  TrackState state = TrackState::tentative;
  Box box;
  bool predicted = false;  // no detection this frame: the Kalman prediction
  int detection = -1;      // index of the matched detection in this update, or -1
  std::int64_t age_ns = 0; // since the track started
  std::optional<double> speed_kmh;
  Point velocity; // ground m/s with calibration, else image px/s (of the centre)
};

struct LineEvent {
  std::string line;
  std::uint64_t track_id = 0;
  int class_id = 0;
  int direction = 0; // +1 / -1, see crossing()
  std::int64_t t_ns = 0;
  std::optional<double> speed_kmh;
};

struct TrackEvent {
  bool started = true; // false: ended (lost for longer than max-lost-time)
  std::uint64_t track_id = 0;
  int class_id = 0;
  std::int64_t t_ns = 0;
  std::int64_t age_ns = 0;
};

struct TrackerCounters {
  std::uint64_t total_tracks = 0;
  std::uint64_t id_switch_suspects = 0; // a new track born where a recently lost one was
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> line_counts; // +1, -1
};

class Tracker {
public:
  explicit Tracker(TrackerConfig config) : config_(std::move(config)) {}

  // A frame with fresh detections at t_ns. Returns the confirmed tracks matched now, and
  // lost ones still coasting (see coast_ns) with their predicted boxes.
  std::vector<TrackOutput> update(const std::vector<Detection> &detections, std::int64_t t_ns);
  // A frame without fresh detections: every visible track's prediction at t_ns.
  std::vector<TrackOutput> predict(std::int64_t t_ns);

  // Line crossings since the last call.
  std::vector<LineEvent> take_events();
  // Tracks confirmed or ended since the last call.
  std::vector<TrackEvent> take_track_events();
  const TrackerCounters &counters() const { return counters_; }
  std::size_t active() const;
  void set_frame_size(int width, int height) {
    config_.frame_width = width;
    config_.frame_height = height;
  }
  void reset();

private:
  struct Track {
    std::uint64_t id = 0;
    int class_id = 0;
    double confidence = 0;
    TrackState state = TrackState::tentative;
    BoxKalman kf;
    int hits = 0;
    std::int64_t first_ns = 0, last_update_ns = 0, last_predict_ns = 0;
    std::deque<std::pair<std::int64_t, Point>> ground; // (t, bottom centre on the ground)
    std::optional<Point> last_foot;                    // image, for line crossings
    std::optional<double> speed_kmh;
    Point ground_velocity;
    bool announced = false; // a start event was emitted
  };
  void confirm(Track &t, std::int64_t t_ns);
  void end(const Track &t, std::int64_t t_ns);

  void predict_all(std::int64_t t_ns);
  bool coasting(const Track &t, std::int64_t t_ns) const;
  void apply_match(Track &t, const Detection &d, std::int64_t t_ns);
  TrackOutput output(const Track &t, int detection, bool predicted, std::int64_t t_ns) const;
  std::vector<std::pair<int, int>> match(const std::vector<int> &tracks,
                                         const std::vector<int> &dets,
                                         const std::vector<Detection> &all, double max_cost);

  TrackerConfig config_;
  std::vector<Track> tracks_;
  std::uint64_t next_id_ = 1;
  std::vector<LineEvent> events_;
  std::vector<TrackEvent> track_events_;
  TrackerCounters counters_;
};

} // namespace keepup::track
