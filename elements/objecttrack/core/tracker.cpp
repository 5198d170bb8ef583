// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tracker.hpp"

#include <algorithm>
#include <cmath>

#include "frame_policy.hpp"

namespace keepup::track {

namespace {
constexpr std::size_t kIntervalWindow = 15;
constexpr std::size_t kMinIntervals = 5;

ZoneSettings zone_settings(const TrackerConfig &c) {
  ZoneSettings z;
  z.zones = c.zones;
  z.loiter_ns = c.loiter_ns;
  z.exit_delay_ns = c.coast_ns;
  return z;
}
} // namespace

const char *state_name(TrackState s) {
  switch (s) {
  case TrackState::confirmed:
    return "confirmed";
  case TrackState::lost:
    return "lost";
  default:
    return "tentative";
  }
}

Tracker::Tracker(TrackerConfig config)
    : config_(std::move(config)), zones_(zone_settings(config_)) {}

void Tracker::reset() {
  tracks_.clear();
  events_.clear();
  track_events_.clear();
  zone_events_.clear();
  zones_.reset();
  counters_ = {};
  next_id_ = 1;
  last_update_call_ns_.reset();
  update_gaps_.clear();
}

std::size_t Tracker::active() const {
  return static_cast<std::size_t>(std::count_if(tracks_.begin(), tracks_.end(), [](const Track &t) {
    return t.state == TrackState::confirmed;
  }));
}

std::int64_t Tracker::update_interval_ns() const {
  return update_gaps_.size() >= kMinIntervals ? median_of(update_gaps_) : 0;
}

// Windows stretch with a slow detector: at one result per second, 300 ms of coasting would
// blink every object out between two results.
std::int64_t Tracker::coast_window() const {
  return std::max(config_.coast_ns, update_interval_ns() * 5 / 2);
}

std::int64_t Tracker::lost_window() const {
  return std::max(config_.max_lost_ns, update_interval_ns() * 3);
}

bool Tracker::inside_frame(const Point &c) const {
  if (config_.frame_width <= 0 || config_.frame_height <= 0)
    return true;
  return c.x >= 0 && c.y >= 0 && c.x < config_.frame_width && c.y < config_.frame_height;
}

void Tracker::predict_all(std::int64_t t_ns) {
  for (Track &t : tracks_) {
    const double dt = static_cast<double>(t_ns - t.last_predict_ns) / 1e9;
    if (dt > 0) {
      t.kf.predict(dt);
      t.last_predict_ns = t_ns;
    }
  }
}

// A track ends when nothing measured it for the lost window; a tentative one sooner (the
// coast window), and an unmeasured one whose predicted box has left the picture at once.
bool Tracker::expired(const Track &t, std::int64_t t_ns) const {
  const std::int64_t unseen = t_ns - t.last_update_ns;
  if (t.state == TrackState::tentative)
    return unseen > coast_window();
  if (unseen > lost_window())
    return true;
  if (t.state == TrackState::lost && config_.frame_width > 0 && config_.frame_height > 0) {
    const Box b = t.kf.box();
    return b.x2 < 0 || b.y2 < 0 || b.x1 > config_.frame_width || b.y1 > config_.frame_height;
  }
  return false;
}

bool Tracker::coasting(const Track &t, std::int64_t t_ns) const {
  if (t.state != TrackState::lost || t_ns - t.last_update_ns > coast_window())
    return false;
  return inside_frame(t.kf.box().centre());
}

bool Tracker::reported(const Track &t, std::int64_t t_ns, bool matched) const {
  if (t.state == TrackState::confirmed)
    return matched || inside_frame(t.kf.box().centre());
  return coasting(t, t_ns);
}

std::vector<std::pair<int, int>> Tracker::match(const std::vector<int> &tracks,
                                                const std::vector<int> &dets,
                                                const std::vector<Detection> &all,
                                                double max_cost) {
  std::vector<std::pair<int, int>> pairs;
  if (tracks.empty() || dets.empty())
    return pairs;
  std::vector<std::vector<double>> cost(tracks.size(), std::vector<double>(dets.size(), 1.0));
  for (std::size_t i = 0; i < tracks.size(); ++i) {
    const Track &t = tracks_[static_cast<std::size_t>(tracks[i])];
    const Box predicted = t.kf.box();
    for (std::size_t j = 0; j < dets.size(); ++j) {
      const Detection &d = all[static_cast<std::size_t>(dets[j])];
      if (config_.per_class && d.class_id != t.class_id)
        continue; // stays 1.0: never below max_cost < 1
      cost[i][j] = 1.0 - iou(predicted, d.box);
    }
  }
  const auto a = assign(cost, std::min(max_cost, 0.999999));
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] >= 0)
      pairs.emplace_back(tracks[i], dets[static_cast<std::size_t>(a[i])]);
  return pairs;
}

void Tracker::measure_speed(Track &t, const Box &box, std::int64_t t_ns) {
  if (!config_.ground)
    return;
  SpeedSettings s;
  s.window_ns = config_.speed_window_ns;
  s.min_distance_m = config_.speed_min_distance_m;
  s.max_size_change = config_.speed_max_size_change;
  if (t.speed.add(t_ns, box, *config_.ground, s, config_.frame_width, config_.frame_height) !=
      SpeedSample::used)
    return;
  const auto &e = t.speed.estimate();
  if (!e)
    return;
  if (!t.max_speed || e->kmh > t.max_speed->kmh)
    t.max_speed = SpeedValue{e->kmh, e->uncertainty_kmh};
  t.speed_sum += e->kmh;
  t.uncertainty_sum += e->uncertainty_kmh;
  ++t.speed_count;
}

void Tracker::apply_match(Track &t, const Detection &d, std::int64_t t_ns) {
  t.kf.update(d.box);
  t.confidence = d.confidence;
  t.last_update_ns = t_ns;
  ++t.hits;
  if (t.state == TrackState::lost ||
      (t.state == TrackState::tentative && t.hits >= config_.min_hits))
    confirm(t, t_ns);
  measure_speed(t, d.box, t_ns);

  const Point foot = d.box.bottom_centre();
  if (t.last_foot && t.state == TrackState::confirmed) {
    for (const CountLine &line : config_.lines) {
      const int dir = crossing(line, *t.last_foot, foot);
      if (dir == 0)
        continue;
      const auto &e = t.speed.estimate();
      LineEvent ev{line.name, t.id, t.class_id, dir, t_ns, std::nullopt, std::nullopt};
      if (e) {
        ev.speed_kmh = e->kmh;
        ev.speed_uncertainty_kmh = e->uncertainty_kmh;
      }
      events_.push_back(ev);
      t.lines.push_back({line.name, dir, t_ns});
      auto &count = counters_.line_counts[line.name];
      (dir > 0 ? count.first : count.second) += 1;
      auto &by_class = counters_.line_class_counts[line.name][t.class_id];
      (dir > 0 ? by_class.first : by_class.second) += 1;
    }
  }
  t.last_foot = foot;
}

void Tracker::observe_zones(Track &t, const Point &foot, std::int64_t t_ns) {
  if (zones_.empty())
    return;
  zones_.observe(t.id, t.class_id, foot, t_ns);
  for (ZoneEvent &z : zones_.take_events()) {
    if (z.kind == ZoneEventKind::entered &&
        std::find(t.zones.begin(), t.zones.end(), z.zone) == t.zones.end())
      t.zones.push_back(z.zone);
    zone_events_.push_back(std::move(z));
  }
}

TrackOutput Tracker::output(const Track &t, int detection, bool predicted,
                            std::int64_t t_ns) const {
  TrackOutput o;
  o.id = t.id;
  o.class_id = t.class_id;
  o.confidence = t.confidence;
  o.state = t.state;
  o.box = t.kf.box();
  o.predicted = predicted;
  o.detection = detection;
  o.age_ns = t_ns - t.first_ns;
  if (const auto &e = t.speed.estimate()) {
    o.speed_kmh = e->kmh;
    o.speed_uncertainty_kmh = e->uncertainty_kmh;
    o.velocity = e->velocity;
  } else if (!config_.ground) {
    o.velocity = t.kf.velocity();
  }
  return o;
}

std::vector<TrackOutput> Tracker::update(const std::vector<Detection> &detections_in,
                                         std::int64_t t_ns) {
  if (last_update_call_ns_ && t_ns > *last_update_call_ns_) {
    update_gaps_.push_back(t_ns - *last_update_call_ns_);
    if (update_gaps_.size() > kIntervalWindow)
      update_gaps_.pop_front();
  }
  last_update_call_ns_ = t_ns;
  predict_all(t_ns);
  // Only objects standing inside the region of interest are tracked.
  std::vector<Detection> dets;
  std::vector<int> original; // dets index -> detections_in index
  for (std::size_t i = 0; i < detections_in.size(); ++i)
    if (config_.roi.empty() || inside_polygon(config_.roi, detections_in[i].box.bottom_centre())) {
      dets.push_back(detections_in[i]);
      original.push_back(static_cast<int>(i));
    }

  std::vector<int> high, low;
  for (std::size_t i = 0; i < dets.size(); ++i) {
    if (dets[i].confidence >= config_.track_thresh)
      high.push_back(static_cast<int>(i));
    else if (dets[i].confidence >= config_.low_thresh)
      low.push_back(static_cast<int>(i));
  }
  std::vector<int> pool, tentative;
  for (std::size_t i = 0; i < tracks_.size(); ++i)
    (tracks_[i].state == TrackState::tentative ? tentative : pool).push_back(static_cast<int>(i));

  std::vector<int> det_of_track(tracks_.size(), -1);
  std::vector<bool> det_used(dets.size(), false);
  auto take = [&](const std::vector<std::pair<int, int>> &pairs) {
    for (auto [ti, di] : pairs) {
      det_of_track[static_cast<std::size_t>(ti)] = di;
      det_used[static_cast<std::size_t>(di)] = true;
      apply_match(tracks_[static_cast<std::size_t>(ti)], dets[static_cast<std::size_t>(di)], t_ns);
    }
  };
  auto unmatched = [&](const std::vector<int> &idx, bool tracks) {
    std::vector<int> out;
    for (int i : idx)
      if (tracks ? det_of_track[static_cast<std::size_t>(i)] < 0
                 : !det_used[static_cast<std::size_t>(i)])
        out.push_back(i);
    return out;
  };

  // 1. confirmed and lost tracks vs confident detections
  take(match(pool, high, dets, config_.match_thresh));
  // 2. tracks still unmatched and not lost vs the weak detections (occlusion, blur)
  std::vector<int> rest;
  for (int i : unmatched(pool, true))
    if (tracks_[static_cast<std::size_t>(i)].state == TrackState::confirmed)
      rest.push_back(i);
  take(match(rest, low, dets, 0.5));
  // 3. tentative tracks vs the confident detections left
  take(match(tentative, unmatched(high, false), dets, 0.7));

  // Unmatched: confirmed ones become lost; any track ends by time (see expired()).
  std::vector<Track> kept;
  std::vector<int> kept_det;
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    Track &t = tracks_[i];
    if (det_of_track[i] < 0) {
      if (t.state == TrackState::confirmed)
        t.state = TrackState::lost;
      if (expired(t, t_ns)) {
        end(t, t_ns);
        continue;
      }
    }
    kept.push_back(std::move(t));
    kept_det.push_back(det_of_track[i]);
  }
  tracks_ = std::move(kept);
  det_of_track = std::move(kept_det);

  // New tracks from confident detections nobody claimed.
  for (int di : unmatched(high, false)) {
    const Detection &d = dets[static_cast<std::size_t>(di)];
    if (d.confidence < config_.new_track_thresh)
      continue;
    for (const Track &t : tracks_)
      if (t.state == TrackState::lost && t.class_id == d.class_id &&
          t_ns - t.last_update_ns < config_.max_lost_ns / 2 && iou(t.kf.box(), d.box) > 0.3) {
        ++counters_.id_switch_suspects;
        break;
      }
    Track t;
    t.id = next_id_++;
    t.class_id = d.class_id;
    t.kf.init(d.box);
    t.first_ns = t.last_update_ns = t.last_predict_ns = t_ns;
    t.state = TrackState::tentative;
    apply_match(t, d, t_ns);
    t.hits = 1;
    if (config_.min_hits <= 1)
      confirm(t, t_ns);
    tracks_.push_back(std::move(t));
    det_of_track.push_back(di);
    ++counters_.total_tracks;
  }

  std::vector<TrackOutput> out;
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    Track &t = tracks_[i];
    const bool matched = det_of_track[i] >= 0;
    if (!reported(t, t_ns, matched))
      continue;
    const int det = matched ? det_of_track[i] : -1;
    out.push_back(
        output(t, det >= 0 ? original[static_cast<std::size_t>(det)] : -1, !matched, t_ns));
    observe_zones(t,
                  det >= 0 ? dets[static_cast<std::size_t>(det)].box.bottom_centre()
                           : t.kf.box().bottom_centre(),
                  t_ns);
  }
  return out;
}

std::vector<TrackOutput> Tracker::predict(std::int64_t t_ns) {
  predict_all(t_ns);
  return without_measurement(t_ns);
}

std::vector<TrackOutput> Tracker::hold(std::int64_t t_ns) {
  for (Track &t : tracks_) {
    t.kf.stop();
    t.last_predict_ns = std::max(t.last_predict_ns, t_ns);
  }
  return without_measurement(t_ns);
}

std::vector<TrackOutput> Tracker::without_measurement(std::int64_t t_ns) {
  std::vector<TrackOutput> out;
  std::vector<Track> kept;
  for (Track &t : tracks_) {
    // A frame nobody looked at is no evidence of absence: confirmed tracks stay confirmed
    // (a motion-gated detector may skip a still scene for a second), lost ones coast on,
    // and every track still ends by time.
    if (expired(t, t_ns)) {
      end(t, t_ns);
      continue;
    }
    if (reported(t, t_ns, false)) {
      out.push_back(output(t, -1, true, t_ns));
      observe_zones(t, t.kf.box().bottom_centre(), t_ns);
    }
    kept.push_back(std::move(t));
  }
  tracks_ = std::move(kept);
  return out;
}

TrackEvent Tracker::track_event(const Track &t, bool started, std::int64_t t_ns) const {
  TrackEvent e;
  e.started = started;
  e.track_id = t.id;
  e.class_id = t.class_id;
  e.t_ns = t_ns;
  e.age_ns = t_ns - t.first_ns;
  e.first_seen_ns = t.first_ns;
  e.last_seen_ns = t.last_update_ns;
  return e;
}

void Tracker::finish(std::int64_t t_ns) {
  for (Track &t : tracks_)
    end(t, t_ns);
  tracks_.clear();
}

void Tracker::confirm(Track &t, std::int64_t t_ns) {
  t.state = TrackState::confirmed;
  if (!t.announced) {
    t.announced = true;
    track_events_.push_back(track_event(t, true, t_ns));
  }
}

void Tracker::end(Track &t, std::int64_t t_ns) {
  zones_.forget(t.id, t.last_update_ns);
  for (ZoneEvent &z : zones_.take_events())
    zone_events_.push_back(std::move(z));
  if (!t.announced)
    return;
  TrackEvent e = track_event(t, false, t_ns);
  e.max_speed = t.max_speed;
  if (t.speed_count > 0)
    e.mean_speed = SpeedValue{t.speed_sum / t.speed_count, t.uncertainty_sum / t.speed_count};
  e.zones = std::move(t.zones);
  e.lines = std::move(t.lines);
  track_events_.push_back(std::move(e));
}

std::vector<TrackEvent> Tracker::take_track_events() {
  std::vector<TrackEvent> out;
  out.swap(track_events_);
  return out;
}

std::vector<LineEvent> Tracker::take_events() {
  std::vector<LineEvent> out;
  out.swap(events_);
  return out;
}

std::vector<ZoneEvent> Tracker::take_zone_events() {
  std::vector<ZoneEvent> out;
  out.swap(zone_events_);
  return out;
}

} // namespace keepup::track
