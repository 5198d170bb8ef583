// SPDX-License-Identifier: LGPL-2.1-or-later
// What objecttrack reads off and writes onto buffers: the detector's ROI metas in, one ROI
// meta per track out (detection and tracking params), the line counts and zone occupancy
// structures of the tracking meta and the stats, and the frame's UTC wall time.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <gst/gst.h>

#include "analytics_contract.hpp"
#include "tracker.hpp"

namespace keepup::trackmetas {

// Class id -> label, as the detector wrote them (a detector without class ids gets one id
// per distinct label).
class Labels {
public:
  std::string of(int class_id) const; // "class<N>" when never seen
  // Records the label of a detection and returns its class id: `class_id` when it has one
  // (>= 0), else the id this label got before, else a new one.
  int learn(const std::string &label, int class_id);

private:
  std::map<int, std::string> names_;
};

// Reads the detector's ROI metas, then removes them: the output carries tracks instead.
// `stale` gets, per detection, whether its param says fresh=false (a reused result).
std::vector<keepup::track::Detection> take_detections(GstBuffer *buf, Labels &labels,
                                                      std::vector<bool> &stale);
// One ROI meta with `detection` and `tracking` params (speed-kmh, speed-uncertainty-kmh).
void attach_track(GstBuffer *buf, const Labels &labels, const keepup::track::TrackOutput &o);
// `<zone>`: a structure of `<label>` -> objects inside now (every zone, empty ones too).
GstStructure *occupancy_structure(const Labels &labels,
                                  const std::map<std::string, std::map<int, unsigned>> &o);
// `<line>-forward` / `-backward`, and `<line>-<label>-forward` / `-backward` per class.
void set_line_counts(GstStructure *s, const Labels &labels,
                     const keepup::track::TrackerCounters &counters);
// The tracking meta's geometry (roi, lines, zones) from the tracker's settings.
keepup::contract::TrackingMeta scene_geometry(const keepup::track::TrackerConfig &config);
// The frame's tracking meta: `geometry` with the line counts, occupancy and active tracks.
keepup::contract::TrackingMeta
scene_meta(const keepup::contract::TrackingMeta &geometry, const Labels &labels,
           const keepup::track::TrackerCounters &counters,
           const std::map<std::string, std::map<int, unsigned>> &occupancy, std::size_t active);
// UTC wall time of the frame in microseconds: a timestamp/x-unix reference meta (the capture
// time, when the source put one on), else now.
gint64 frame_wall_us(GstBuffer *buf);

} // namespace keepup::trackmetas
