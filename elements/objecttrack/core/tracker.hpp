// SPDX-License-Identifier: LGPL-2.1-or-later
// Multi-object tracking, ByteTrack-class: a constant-velocity Kalman box per track, optimal
// (Hungarian) IoU assignment of high-confidence detections first, then low-confidence ones to
// the tracks left over, new tracks from unmatched confident detections. Every time is a
// timestamp in nanoseconds (buffer PTS), and a track's life is measured in that time, never
// in frames: dropped frames, a detector that runs on every Nth frame and frames without new
// measurements (predict) change only the prediction step. Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "box_kalman.hpp"
#include "speed_estimator.hpp"
#include "track_geometry.hpp"
#include "zones.hpp"

namespace keepup::track {

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
  // A track without a measurement for this long ends (at least three detector intervals).
  std::int64_t max_lost_ns = 1'000'000'000;
  // A track without a measurement is still reported (state lost, predicted box) for this
  // long (at least 2.5 detector intervals), while its box centre stays inside the frame: a
  // missed detection or two should not blink the object out. A tentative track without a
  // measurement for as long ends.
  std::int64_t coast_ns = 300'000'000;
  int frame_width = 0, frame_height = 0; // 0: unknown, no inside-the-frame checks
  int min_hits = 3;
  bool per_class = true;
  std::int64_t speed_window_ns = 2'000'000'000;
  double speed_min_distance_m = 1.0;   // see SpeedSettings
  double speed_max_size_change = 0.25; // see SpeedSettings
  std::optional<Homography> ground;    // image -> metres; no calibration: no speed
  std::vector<Point> roi;              // empty: the whole frame
  std::vector<CountLine> lines;
  std::vector<Zone> zones;
  std::int64_t loiter_ns = 0; // 0: no loitering events
};

struct SpeedValue {
  double kmh = 0;
  double uncertainty_kmh = 0; // about 95 % (two standard errors)
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
  std::optional<double> speed_uncertainty_kmh; // with speed_kmh
  Point velocity; // ground m/s with calibration, else image px/s (of the centre)
};

struct LineEvent {
  std::string line;
  std::uint64_t track_id = 0;
  int class_id = 0;
  int direction = 0; // +1 / -1, see crossing()
  std::int64_t t_ns = 0;
  std::optional<double> speed_kmh;
  std::optional<double> speed_uncertainty_kmh;
};

struct LineCrossing {
  std::string line;
  int direction = 0;
  std::int64_t t_ns = 0;
};

struct TrackEvent {
  bool started = true; // false: ended (not measured for longer than max-lost-time)
  std::uint64_t track_id = 0;
  int class_id = 0;
  std::int64_t t_ns = 0;
  std::int64_t age_ns = 0;
  // The track's story (complete on `ended`; on `started` only the first seen time).
  std::int64_t first_seen_ns = 0, last_seen_ns = 0;
  std::optional<SpeedValue> max_speed, mean_speed;
  std::vector<std::string> zones; // zones visited, in order of first entry
  std::vector<LineCrossing> lines;
};

struct TrackerCounters {
  std::uint64_t total_tracks = 0;
  std::uint64_t id_switch_suspects = 0; // a new track born where a recently lost one was
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> line_counts; // +1, -1
  // line -> class id -> (+1, -1)
  std::map<std::string, std::map<int, std::pair<std::uint64_t, std::uint64_t>>> line_class_counts;
};

class Tracker {
public:
  explicit Tracker(TrackerConfig config);

  // A frame with fresh detections at t_ns (an empty list: the detector ran and saw nothing).
  // Returns the confirmed tracks matched now, confirmed ones not measured on this frame, and
  // lost ones still coasting (see coast_ns) with their predicted boxes.
  std::vector<TrackOutput> update(const std::vector<Detection> &detections, std::int64_t t_ns);
  // A frame without new measurements: every reported track's prediction at t_ns. Nothing is
  // a miss; tracks still end by time (max-lost-time), so a scene everybody left empties.
  std::vector<TrackOutput> predict(std::int64_t t_ns);
  // A frame without new measurements whose picture has not changed since the last measured
  // one (a motion gate skipped it as still): like predict(), but every track stays where it
  // is and its velocity becomes zero (a car stopped at a light is not carried on).
  std::vector<TrackOutput> hold(std::int64_t t_ns);

  // The stream is over at t_ns (its last frame): every track ends now, leaving its zones.
  void finish(std::int64_t t_ns);

  // Line crossings since the last call.
  std::vector<LineEvent> take_events();
  // Tracks confirmed or ended since the last call.
  std::vector<TrackEvent> take_track_events();
  // Zone entries, exits and loitering since the last call.
  std::vector<ZoneEvent> take_zone_events();
  const TrackerCounters &counters() const { return counters_; }
  // zone -> class id -> objects inside now
  std::map<std::string, std::map<int, unsigned>> occupancy() const { return zones_.occupancy(); }
  std::size_t active() const;
  // The detector's interval as seen by update() calls (median gap, 0 until known).
  std::int64_t update_interval_ns() const;
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
    std::optional<Point> last_foot; // image, for line crossings
    SpeedEstimator speed;
    bool announced = false; // a start event was emitted
    std::optional<SpeedValue> max_speed;
    double speed_sum = 0, uncertainty_sum = 0;
    int speed_count = 0;
    std::vector<std::string> zones;
    std::vector<LineCrossing> lines;
  };
  TrackEvent track_event(const Track &t, bool started, std::int64_t t_ns) const;
  void confirm(Track &t, std::int64_t t_ns);
  void end(Track &t, std::int64_t t_ns);

  void predict_all(std::int64_t t_ns);
  std::vector<TrackOutput> without_measurement(std::int64_t t_ns);
  std::int64_t coast_window() const;
  std::int64_t lost_window() const;
  bool inside_frame(const Point &p) const;
  bool coasting(const Track &t, std::int64_t t_ns) const;
  bool reported(const Track &t, std::int64_t t_ns, bool matched) const;
  bool expired(const Track &t, std::int64_t t_ns) const;
  void apply_match(Track &t, const Detection &d, std::int64_t t_ns);
  void measure_speed(Track &t, const Box &box, std::int64_t t_ns);
  void observe_zones(Track &t, const Point &foot, std::int64_t t_ns);
  TrackOutput output(const Track &t, int detection, bool predicted, std::int64_t t_ns) const;
  std::vector<std::pair<int, int>> match(const std::vector<int> &tracks,
                                         const std::vector<int> &dets,
                                         const std::vector<Detection> &all, double max_cost);

  TrackerConfig config_;
  std::vector<Track> tracks_;
  std::uint64_t next_id_ = 1;
  std::vector<LineEvent> events_;
  std::vector<TrackEvent> track_events_;
  std::vector<ZoneEvent> zone_events_;
  ZoneMonitor zones_;
  TrackerCounters counters_;
  std::optional<std::int64_t> last_update_call_ns_;
  std::deque<std::int64_t> update_gaps_;
};

} // namespace keepup::track
