// SPDX-License-Identifier: LGPL-2.1-or-later
#include "mot_metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <stdexcept>

#include "parse_number.hpp"
#include "tracker.hpp"

namespace keepup::track {

MotResult evaluate(const MotSequence &gt, const MotSequence &hyp, double iou_threshold,
                   bool only_hyp_frames) {
  MotResult r;
  std::map<std::int64_t, std::int64_t> last_match; // gt id -> hyp id it was last matched to
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> co; // (gt, hyp) -> frames
  std::map<std::int64_t, std::int64_t> gt_count, hyp_count;
  double iou_sum = 0;
  std::vector<double> speed_errors;

  std::set<std::int64_t> frames;
  for (const auto &[f, _] : hyp)
    frames.insert(f);
  if (!only_hyp_frames)
    for (const auto &[f, _] : gt)
      frames.insert(f);

  static const std::vector<MotObject> none;
  for (std::int64_t f : frames) {
    ++r.frames;
    const auto git = gt.find(f), hit = hyp.find(f);
    const auto &g_all = git == gt.end() ? none : git->second;
    const auto &h_all = hit == hyp.end() ? none : hit->second;

    std::vector<const MotObject *> g, ign;
    for (const auto &o : g_all)
      (o.ignore ? ign : g).push_back(&o);
    // Hypotheses on ignored objects are dropped before anything is counted.
    std::vector<const MotObject *> h;
    for (const auto &o : h_all) {
      bool on_ignored = false;
      for (const auto *i : ign)
        on_ignored = on_ignored || iou(o.box, i->box) >= iou_threshold;
      bool on_counted = false;
      for (const auto *x : g)
        on_counted = on_counted || iou(o.box, x->box) >= iou_threshold;
      if (!on_ignored || on_counted)
        h.push_back(&o);
    }
    r.gt += static_cast<std::int64_t>(g.size());
    r.hyp += static_cast<std::int64_t>(h.size());
    for (const auto *o : g)
      ++gt_count[o->id];
    for (const auto *o : h)
      ++hyp_count[o->id];

    // Co-occurrence for IDF1: every pair above the threshold.
    for (const auto *a : g)
      for (const auto *b : h)
        if (iou(a->box, b->box) >= iou_threshold)
          ++co[{a->id, b->id}];

    // CLEAR-MOT matching: keep last frame's correspondences that still overlap, then the
    // optimal assignment for the rest.
    std::vector<int> match(g.size(), -1);
    std::vector<bool> used(h.size(), false);
    for (std::size_t i = 0; i < g.size(); ++i) {
      auto lm = last_match.find(g[i]->id);
      if (lm == last_match.end())
        continue;
      for (std::size_t j = 0; j < h.size(); ++j)
        if (!used[j] && h[j]->id == lm->second && iou(g[i]->box, h[j]->box) >= iou_threshold) {
          match[i] = static_cast<int>(j);
          used[j] = true;
          break;
        }
    }
    std::vector<int> gi, hj;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (match[i] < 0)
        gi.push_back(static_cast<int>(i));
    for (std::size_t j = 0; j < h.size(); ++j)
      if (!used[j])
        hj.push_back(static_cast<int>(j));
    if (!gi.empty() && !hj.empty()) {
      std::vector<std::vector<double>> cost(gi.size(), std::vector<double>(hj.size()));
      for (std::size_t a = 0; a < gi.size(); ++a)
        for (std::size_t b = 0; b < hj.size(); ++b)
          cost[a][b] = 1.0 - iou(g[static_cast<std::size_t>(gi[a])]->box,
                                 h[static_cast<std::size_t>(hj[b])]->box);
      const auto a = assign(cost, 1.0 - iou_threshold);
      for (std::size_t k = 0; k < a.size(); ++k)
        if (a[k] >= 0) {
          match[static_cast<std::size_t>(gi[k])] = hj[static_cast<std::size_t>(a[k])];
          used[static_cast<std::size_t>(hj[static_cast<std::size_t>(a[k])])] = true;
        }
    }
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (match[i] < 0) {
        ++r.fn;
        continue;
      }
      const MotObject &gh = *h[static_cast<std::size_t>(match[i])];
      ++r.tp;
      iou_sum += iou(g[i]->box, gh.box);
      auto lm = last_match.find(g[i]->id);
      if (lm != last_match.end() && lm->second != gh.id)
        ++r.id_switches;
      last_match[g[i]->id] = gh.id;
      if (g[i]->speed_kmh && gh.speed_kmh && *g[i]->speed_kmh > 1.0)
        speed_errors.push_back(std::abs(*gh.speed_kmh - *g[i]->speed_kmh) / *g[i]->speed_kmh *
                               100.0);
    }
    for (std::size_t j = 0; j < h.size(); ++j)
      if (!used[j])
        ++r.fp;
  }

  r.mota = r.gt ? 1.0 - static_cast<double>(r.fn + r.fp + r.id_switches) / static_cast<double>(r.gt)
                : 0.0;
  r.motp_iou = r.tp ? iou_sum / static_cast<double>(r.tp) : 0.0;
  r.precision = r.hyp ? static_cast<double>(r.tp) / static_cast<double>(r.hyp) : 0.0;
  r.recall = r.gt ? static_cast<double>(r.tp) / static_cast<double>(r.gt) : 0.0;

  // IDF1: the one-to-one identity mapping with the most co-occurring frames.
  std::vector<std::int64_t> gids, hids;
  for (const auto &[id, _] : gt_count)
    gids.push_back(id);
  for (const auto &[id, _] : hyp_count)
    hids.push_back(id);
  if (!gids.empty() && !hids.empty()) {
    // Maximum total co-occurrence: cost = most - n for every pair (no pair is forbidden, an
    // unrelated pair costs `most`, the same as leaving both unmatched).
    std::int64_t most = 1;
    for (const auto &[_, n] : co)
      most = std::max(most, n);
    const auto top = static_cast<double>(most);
    std::vector<std::vector<double>> cost(gids.size(), std::vector<double>(hids.size(), top));
    std::map<std::int64_t, std::size_t> hindex;
    for (std::size_t j = 0; j < hids.size(); ++j)
      hindex[hids[j]] = j;
    std::map<std::int64_t, std::size_t> gindex;
    for (std::size_t i = 0; i < gids.size(); ++i)
      gindex[gids[i]] = i;
    for (const auto &[pair, n] : co)
      cost[gindex[pair.first]][hindex[pair.second]] = top - static_cast<double>(n);
    const auto a = assign(cost, top);
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i] >= 0) {
        auto it = co.find({gids[i], hids[static_cast<std::size_t>(a[i])]});
        if (it != co.end())
          r.idtp += it->second;
      }
  }
  const double denom = static_cast<double>(r.gt + r.hyp);
  r.idf1 = denom > 0 ? 2.0 * static_cast<double>(r.idtp) / denom : 0.0;
  r.idp = r.hyp ? static_cast<double>(r.idtp) / static_cast<double>(r.hyp) : 0.0;
  r.idr = r.gt ? static_cast<double>(r.idtp) / static_cast<double>(r.gt) : 0.0;

  r.speed_samples = static_cast<std::int64_t>(speed_errors.size());
  if (!speed_errors.empty()) {
    std::nth_element(speed_errors.begin(),
                     speed_errors.begin() + static_cast<long>(speed_errors.size() / 2),
                     speed_errors.end());
    r.speed_median_abs_error_pct = speed_errors[speed_errors.size() / 2];
  }
  return r;
}

namespace {

// One MOT field: a finite decimal (strict, see parse_number.hpp), spaces, tabs and a CR around
// it allowed.
double mot_field(std::string_view field, int line_no) {
  const auto first = field.find_first_not_of(" \t\r");
  const auto trimmed = first == std::string_view::npos
                           ? std::string_view()
                           : field.substr(first, field.find_last_not_of(" \t\r") - first + 1);
  if (const std::optional<double> v = parse_decimal(trimmed))
    return *v;
  throw std::invalid_argument("MOT line " + std::to_string(line_no) + ": '" + std::string(trimmed) +
                              "' is not a finite number");
}

// A frame number or id: truncated towards zero as before, but within +-2^53 (exact in a double
// and far from the int64 limits, so the conversion is defined).
std::int64_t mot_integer(double v, const char *what, int line_no) {
  if (!(std::abs(v) <= 9007199254740992.0))
    throw std::invalid_argument("MOT line " + std::to_string(line_no) + ": " + what +
                                " is out of range");
  return static_cast<std::int64_t>(v);
}

} // namespace

MotSequence parse_mot_gt(const std::string &text) {
  MotSequence seq;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#')
      continue;
    std::vector<double> v;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ','))
      v.push_back(mot_field(field, line_no));
    if (v.size() < 6)
      throw std::invalid_argument("MOT line " + std::to_string(line_no) +
                                  ": needs at least frame,id,left,top,width,height");
    MotObject o;
    o.id = mot_integer(v[1], "id", line_no);
    o.box = {v[2], v[3], v[2] + v[4], v[3] + v[5]};
    o.ignore = v.size() > 6 && v[6] == 0.0;
    if (v.size() > 9 && v[9] >= 0)
      o.speed_kmh = v[9];
    seq[mot_integer(v[0], "frame", line_no)].push_back(o);
  }
  return seq;
}

std::string format_mot_gt_line(std::int64_t frame, std::int64_t id, const Box &box, bool consider,
                               int class_id, double visibility, std::optional<double> speed_kmh) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%lld,%lld,%.2f,%.2f,%.2f,%.2f,%d,%d,%.3f,%.3f\n",
                static_cast<long long>(frame), static_cast<long long>(id), box.x1, box.y1,
                box.width(), box.height(), consider ? 1 : 0, class_id, visibility,
                speed_kmh.value_or(-1.0));
  return buf;
}

} // namespace keepup::track
