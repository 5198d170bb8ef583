// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tracker.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "least_squares.hpp"

namespace keepup::track {

std::vector<int> assign(const std::vector<std::vector<double>> &cost_in, double max_cost) {
  const std::size_t rows = cost_in.size();
  const std::size_t cols = rows ? cost_in[0].size() : 0;
  std::vector<int> result(rows, -1);
  if (rows == 0 || cols == 0)
    return result;
  // Forbidden pairs cost more than any allowed assignment could in total.
  const double forbidden = (max_cost + 1.0) * static_cast<double>(rows + cols + 1) + 1.0;
  const bool transpose = rows > cols; // the algorithm wants n <= m
  const std::size_t n = transpose ? cols : rows, m = transpose ? rows : cols;
  auto cost = [&](std::size_t i, std::size_t j) {
    const double c = transpose ? cost_in[j][i] : cost_in[i][j];
    return c > max_cost ? forbidden : c;
  };
  // Shortest augmenting paths with potentials (Kuhn-Munkres), 1-based.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(m + 1, 0);
  std::vector<std::size_t> p(m + 1, 0), way(m + 1, 0);
  for (std::size_t i = 1; i <= n; ++i) {
    p[0] = i;
    std::size_t j0 = 0;
    std::vector<double> minv(m + 1, inf);
    std::vector<bool> used(m + 1, false);
    do {
      used[j0] = true;
      const std::size_t i0 = p[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= m; ++j) {
        if (used[j])
          continue;
        const double cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (std::size_t j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const std::size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  for (std::size_t j = 1; j <= m; ++j) {
    if (p[j] == 0)
      continue;
    const std::size_t i = p[j] - 1, col = j - 1;
    const std::size_t r = transpose ? col : i, c = transpose ? i : col;
    if (cost_in[r][c] <= max_cost)
      result[r] = static_cast<int>(c);
  }
  return result;
}

void Kalman1D::init(double position, double position_sigma, double velocity_sigma) {
  p_ = position;
  v_ = 0;
  P_[0][0] = position_sigma * position_sigma;
  P_[1][1] = velocity_sigma * velocity_sigma;
  P_[0][1] = P_[1][0] = 0;
}

void Kalman1D::predict(double dt, double q_position, double q_velocity) {
  p_ += v_ * dt;
  // P = F P F^T + Q with F = [[1, dt], [0, 1]]
  const double p00 = P_[0][0] + dt * (P_[1][0] + P_[0][1]) + dt * dt * P_[1][1];
  const double p01 = P_[0][1] + dt * P_[1][1];
  const double p10 = P_[1][0] + dt * P_[1][1];
  P_[0][0] = p00 + q_position;
  P_[0][1] = p01;
  P_[1][0] = p10;
  P_[1][1] += q_velocity;
}

void Kalman1D::update(double z, double r) {
  const double s = P_[0][0] + r;
  const double k0 = P_[0][0] / s, k1 = P_[1][0] / s;
  const double y = z - p_;
  p_ += k0 * y;
  v_ += k1 * y;
  const double p00 = (1 - k0) * P_[0][0], p01 = (1 - k0) * P_[0][1];
  const double p10 = P_[1][0] - k1 * P_[0][0], p11 = P_[1][1] - k1 * P_[0][1];
  P_[0][0] = p00;
  P_[0][1] = p01;
  P_[1][0] = p10;
  P_[1][1] = p11;
}

// Noise levels follow ByteTrack's (position 1/20 and velocity 1/160 of the box height per
// 30 fps frame), turned into per-second rates so they hold for any frame interval.
namespace {
constexpr double kFps = 30.0;
constexpr double kPos = 1.0 / 20.0, kVel = 1.0 / 160.0;
} // namespace

double BoxKalman::scale() const {
  return std::max(4.0, h_.position());
}

void BoxKalman::init(const Box &b) {
  const double h = std::max(4.0, b.height());
  cx_.init((b.x1 + b.x2) * 0.5, 2 * kPos * h, 10 * kVel * h * kFps);
  cy_.init((b.y1 + b.y2) * 0.5, 2 * kPos * h, 10 * kVel * h * kFps);
  w_.init(b.width(), 2 * kPos * h, 10 * kVel * h * kFps);
  h_.init(b.height(), 2 * kPos * h, 10 * kVel * h * kFps);
}

void BoxKalman::predict(double dt) {
  if (dt <= 0)
    return;
  const double s = scale(), frames = dt * kFps;
  const double qp = (kPos * s) * (kPos * s) * frames;
  const double qv = (kVel * s * kFps) * (kVel * s * kFps) * frames;
  cx_.predict(dt, qp, qv);
  cy_.predict(dt, qp, qv);
  w_.predict(dt, qp, qv);
  h_.predict(dt, qp, qv);
}

void BoxKalman::update(const Box &b) {
  const double r = (kPos * scale()) * (kPos * scale());
  cx_.update((b.x1 + b.x2) * 0.5, r);
  cy_.update((b.y1 + b.y2) * 0.5, r);
  w_.update(b.width(), r);
  h_.update(b.height(), r);
}

Box BoxKalman::box() const {
  const double w = std::max(1.0, w_.position()), h = std::max(1.0, h_.position());
  return {cx_.position() - w / 2, cy_.position() - h / 2, cx_.position() + w / 2,
          cy_.position() + h / 2};
}

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

void Tracker::reset() {
  tracks_.clear();
  events_.clear();
  counters_ = {};
  next_id_ = 1;
}

std::size_t Tracker::active() const {
  return static_cast<std::size_t>(std::count_if(tracks_.begin(), tracks_.end(), [](const Track &t) {
    return t.state == TrackState::confirmed;
  }));
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

void Tracker::apply_match(Track &t, const Detection &d, std::int64_t t_ns) {
  t.kf.update(d.box);
  t.confidence = d.confidence;
  t.last_update_ns = t_ns;
  ++t.hits;
  if (t.state == TrackState::lost ||
      (t.state == TrackState::tentative && t.hits >= config_.min_hits))
    confirm(t, t_ns);

  const Point foot = d.box.bottom_centre();
  if (config_.ground) {
    t.ground.emplace_back(t_ns, config_.ground->to_ground(foot));
    while (!t.ground.empty() && t_ns - t.ground.front().first > config_.speed_window_ns)
      t.ground.pop_front();
    // Velocity = least-squares slope of the ground position over the window's timestamps;
    // needs a quarter of the window so two noisy boxes do not make a speed.
    if (t.ground.size() >= 3 &&
        t.ground.back().first - t.ground.front().first >= config_.speed_window_ns / 4) {
      std::vector<std::pair<double, double>> xs, ys;
      const std::int64_t t0 = t.ground.front().first;
      for (const auto &[ts, g] : t.ground) {
        xs.emplace_back(static_cast<double>(ts - t0) / 1e9, g.x);
        ys.emplace_back(static_cast<double>(ts - t0) / 1e9, g.y);
      }
      t.ground_velocity = {least_squares_slope(xs), least_squares_slope(ys)};
      t.speed_kmh = std::hypot(t.ground_velocity.x, t.ground_velocity.y) * 3.6;
    }
  }
  if (t.last_foot && t.state == TrackState::confirmed) {
    for (const CountLine &line : config_.lines) {
      const int dir = crossing(line, *t.last_foot, foot);
      if (dir == 0)
        continue;
      events_.push_back({line.name, t.id, t.class_id, dir, t_ns, t.speed_kmh});
      auto &count = counters_.line_counts[line.name];
      (dir > 0 ? count.first : count.second) += 1;
    }
  }
  t.last_foot = foot;
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
  o.speed_kmh = t.speed_kmh;
  o.velocity = config_.ground ? t.ground_velocity : t.kf.velocity();
  return o;
}

std::vector<TrackOutput> Tracker::update(const std::vector<Detection> &detections_in,
                                         std::int64_t t_ns) {
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

  // Unmatched: confirmed become lost, tentative ones end.
  std::vector<Track> kept;
  std::vector<int> kept_det;
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    Track &t = tracks_[i];
    if (det_of_track[i] < 0) {
      if (t.state == TrackState::tentative)
        continue;
      t.state = TrackState::lost;
      if (t_ns - t.last_update_ns > config_.max_lost_ns) {
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
    const Track &t = tracks_[i];
    if (t.state == TrackState::confirmed && det_of_track[i] >= 0)
      out.push_back(output(t, original[static_cast<std::size_t>(det_of_track[i])], false, t_ns));
    else if (coasting(t, t_ns))
      out.push_back(output(t, -1, true, t_ns));
  }
  return out;
}

bool Tracker::coasting(const Track &t, std::int64_t t_ns) const {
  if (t.state != TrackState::lost || t_ns - t.last_update_ns > config_.coast_ns)
    return false;
  if (config_.frame_width <= 0 || config_.frame_height <= 0)
    return true;
  const Point c = t.kf.box().centre();
  return c.x >= 0 && c.y >= 0 && c.x < config_.frame_width && c.y < config_.frame_height;
}

std::vector<TrackOutput> Tracker::predict(std::int64_t t_ns) {
  predict_all(t_ns);
  std::vector<TrackOutput> out;
  std::vector<Track> kept;
  for (Track &t : tracks_) {
    if (t.state == TrackState::lost && t_ns - t.last_update_ns > config_.max_lost_ns) {
      end(t, t_ns);
      continue;
    }
    if (t.state == TrackState::confirmed || coasting(t, t_ns))
      out.push_back(output(t, -1, true, t_ns));
    kept.push_back(std::move(t));
  }
  tracks_ = std::move(kept);
  return out;
}

void Tracker::confirm(Track &t, std::int64_t t_ns) {
  t.state = TrackState::confirmed;
  if (!t.announced) {
    t.announced = true;
    track_events_.push_back({true, t.id, t.class_id, t_ns, t_ns - t.first_ns});
  }
}

void Tracker::end(const Track &t, std::int64_t t_ns) {
  if (t.announced)
    track_events_.push_back({false, t.id, t.class_id, t_ns, t_ns - t.first_ns});
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

} // namespace keepup::track
