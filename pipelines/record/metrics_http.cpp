// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's GET /metrics (Prometheus text 0.0.4): sessions, bytes, frames, audio
// packets, RTP loss/jitter/NACK/PLI from webrtcbin's get-stats (polled every 2 s, handed to
// the main loop), disk free bytes, hooks, retention, the time-to-first-frame histogram, and
// with --cluster the redirects, refusals, live nodes and Redis state.
// Counters are the finished sessions' totals plus the live sessions' current values.
// Main loop only; the text format is prometheus.cpp.
#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <string>

#include "cluster.hpp"
#include "route_state.hpp"
#include "routes.hpp"
#include "session.hpp"

namespace keepup::record {

namespace {

double number_field(const GstStructure *st, const char *field) {
  const GValue *v = gst_structure_get_value(st, field);
  if (!v)
    return 0;
  switch (G_VALUE_TYPE(v)) {
  case G_TYPE_INT:
    return g_value_get_int(v);
  case G_TYPE_UINT:
    return g_value_get_uint(v);
  case G_TYPE_INT64:
    return static_cast<double>(g_value_get_int64(v));
  case G_TYPE_UINT64:
    return static_cast<double>(g_value_get_uint64(v));
  case G_TYPE_DOUBLE:
    return g_value_get_double(v);
  default:
    return 0;
  }
}

RtpStats read_stats(const GstStructure *reply) {
  RtpStats r;
  const int n = gst_structure_n_fields(reply);
  for (int i = 0; i < n; ++i) {
    const GValue *v = gst_structure_get_value(reply, gst_structure_nth_field_name(reply, i));
    if (!v || G_VALUE_TYPE(v) != GST_TYPE_STRUCTURE)
      continue;
    const GstStructure *st = gst_value_get_structure(v);
    GstWebRTCStatsType type;
    if (!gst_structure_get(st, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr) ||
        type != GST_WEBRTC_STATS_INBOUND_RTP)
      continue;
    r.packets_received += number_field(st, "packets-received");
    r.packets_lost += std::max(0.0, number_field(st, "packets-lost"));
    r.jitter_s = std::max(r.jitter_s, number_field(st, "jitter"));
    r.nack_sent += number_field(st, "nack-count");
    r.pli_sent += number_field(st, "pli-count");
    r.fir_sent += number_field(st, "fir-count");
  }
  return r;
}

void poll_stats(const std::shared_ptr<Session> &s) {
  const Phase phase = s->phase();
  if (phase != Phase::answered && phase != Phase::recording)
    return;
  GstPromise *promise = gst_promise_new_with_change_func(
      [](GstPromise *p, gpointer d) {
        whip::guarded("get-stats reply", [&]() {
          const GstStructure *reply = gst_promise_wait(p) == GST_PROMISE_RESULT_REPLIED
                                          ? gst_promise_get_reply(p)
                                          : nullptr;
          if (!reply)
            return;
          const RtpStats stats = read_stats(reply);
          on_session_main(*static_cast<std::weak_ptr<Session> *>(d),
                          [stats](const std::shared_ptr<Session> &ss) {
                            if (ss->app->route_state && ss->app->sessions.count(ss->id))
                              ss->app->route_state->rtp[ss->id] = stats;
                          });
        });
        gst_promise_unref(p);
      },
      new std::weak_ptr<Session>(s),
      [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
  g_signal_emit_by_name(s->webrtc, "get-stats", nullptr, promise);
}

// The end reason as a label with few values.
std::string reason_label(const std::string &why) {
  if (why == "DELETE")
    return "delete";
  if (why == "SIGINT" || why == "SIGTERM")
    return "shutdown";
  if (why.find("ICE") != std::string::npos)
    return "ice";
  if (why.find("timeout") != std::string::npos || why.find("within") != std::string::npos)
    return "timeout";
  if (why.empty())
    return "error";
  return "other";
}

double json_number(const nlohmann::json &j, const char *key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

// One session's counters into `t`: its /status numbers, `bytes`, its last RTP statistics.
void add_session(RouteState::Totals &t, const nlohmann::json &j, double bytes,
                 const RtpStats *rtp) {
  t.bytes += bytes;
  t.frames_in += json_number(j, "frames_in");
  t.frames_out += json_number(j, "frames_out");
  t.frames_dropped += json_number(j, "frames_dropped");
  t.audio_in += json_number(j, "audio_packets_in");
  t.audio_out += json_number(j, "audio_packets");
  t.audio_filled += json_number(j, "audio_packets_filled");
  if (rtp) {
    t.packets_received += rtp->packets_received;
    t.packets_lost += rtp->packets_lost;
    t.nack_sent += rtp->nack_sent;
    t.pli_sent += rtp->pli_sent;
    t.fir_sent += rtp->fir_sent;
  }
}

void observe_first_frame(RouteState &st, Session &s) {
  if (s.first_frame_ms >= 0 && st.ttff_seen.insert(s.id).second)
    st.time_to_first_frame.observe(s.first_frame_ms / 1000.0);
}

} // namespace

void session_finished(App &app, Session &s, bool has_file) {
  if (!app.route_state)
    return;
  RouteState &st = *app.route_state;
  st.sessions_ended[reason_label(s.end_reason)] += 1;
  const auto rtp = st.rtp.find(s.id);
  add_session(st.finished, session_status(s), has_file ? static_cast<double>(s.bytes) : 0.0,
              rtp == st.rtp.end() ? nullptr : &rtp->second);
  if (rtp != st.rtp.end())
    st.rtp.erase(rtp);
  observe_first_frame(st, s);
  st.ttff_seen.erase(s.id);
}

std::string metrics_text(App &app) {
  RouteState &st = *app.route_state;
  RouteState::Totals t = st.finished;
  std::map<std::string, double> by_phase;
  for (const char *p : {"offered", "answered", "recording", "ending"})
    by_phase[p] = 0;
  using Type = whip::MetricsWriter::Type;
  whip::MetricsWriter w;
  std::vector<std::pair<whip::Labels, double>> jitter;
  for (const auto &[id, s] : app.sessions) {
    const nlohmann::json j = session_status(*s);
    by_phase[phase_name(s->phase())] += 1;
    const auto rtp = st.rtp.find(id);
    add_session(t, j, json_number(j, "bytes_written"),
                rtp == st.rtp.end() ? nullptr : &rtp->second);
    if (rtp != st.rtp.end())
      jitter.push_back({{{"session", id}, {"stream", s->stream}}, rtp->second.jitter_s});
    observe_first_frame(st, *s);
  }
  w.family("keepup_record_sessions_active", Type::kGauge, "Live WHIP sessions by phase.");
  for (const auto &[phase, n] : by_phase)
    w.sample({{"phase", phase}}, n);
  w.family("keepup_record_sessions_started_total", Type::kCounter,
           "Offers that started a session.");
  w.sample({}, st.sessions_total);
  w.family("keepup_record_sessions_ended_total", Type::kCounter,
           "Sessions that ended, by reason (delete, shutdown, ice, timeout, error, other).");
  for (const char *r : {"delete", "shutdown", "ice", "timeout", "error", "other"})
    w.sample({{"reason", r}}, st.sessions_ended.count(r) ? st.sessions_ended.at(r) : 0.0);
  const std::pair<const char *, std::pair<const char *, double>> counters[] = {
      {"keepup_record_bytes_written_total", {"Bytes written to recordings.", t.bytes}},
      {"keepup_record_video_frames_received_total",
       {"Video frames that reached the recorder.", t.frames_in}},
      {"keepup_record_video_frames_recorded_total",
       {"Video frames written to a recording.", t.frames_out}},
      {"keepup_record_video_frames_dropped_total",
       {"Video frames dropped by the transcoding branch's dropqueue.", t.frames_dropped}},
      {"keepup_record_audio_packets_received_total",
       {"Audio packets that reached the recorder.", t.audio_in}},
      {"keepup_record_audio_packets_recorded_total",
       {"Audio packets written to a recording.", t.audio_out}},
      {"keepup_record_audio_packets_filled_total",
       {"Silence packets written to fill audio gaps (DTX, mute).", t.audio_filled}},
      {"keepup_record_rtp_packets_received_total",
       {"RTP packets received (webrtcbin inbound-rtp).", t.packets_received}},
      {"keepup_record_rtp_packets_lost_total",
       {"RTP packets lost (webrtcbin inbound-rtp).", t.packets_lost}},
      {"keepup_record_nack_sent_total", {"RTCP NACKs sent to publishers.", t.nack_sent}},
      {"keepup_record_pli_sent_total", {"RTCP PLIs sent to publishers.", t.pli_sent}},
      {"keepup_record_fir_sent_total",
       {"RTCP FIRs (keyframe requests) sent to publishers.", t.fir_sent}},
      {"keepup_record_trickle_requests_total",
       {"PATCH requests with trickled candidates accepted.", st.trickle_requests}},
      {"keepup_record_trickle_candidates_total",
       {"ICE candidates trickled by publishers.", st.trickle_candidates}},
      {"keepup_record_hook_runs_total", {"--on-segment-complete runs started.", st.hook_runs}},
      {"keepup_record_hook_failures_total",
       {"--on-segment-complete runs that could not start or exited non-zero.", st.hook_failures}},
      {"keepup_record_retention_deleted_total",
       {"Recordings deleted by --retain-hours / --retain-gb.", st.retention_deleted}},
  };
  for (const auto &[name, help_value] : counters) {
    w.family(name, Type::kCounter, help_value.first);
    w.sample({}, help_value.second);
  }
  w.family("keepup_record_rtp_jitter_seconds", Type::kGauge,
           "Interarrival jitter of each live session (largest inbound stream).");
  for (const auto &[labels, value] : jitter)
    w.sample(labels, value);
  w.family("keepup_record_disk_free_bytes", Type::kGauge,
           "Free bytes on the output directory's file system.");
  w.sample({}, disk_free_bytes(app));
  w.family("keepup_record_time_to_first_frame_seconds", Type::kHistogram,
           "From the offer to the recording's first frame.");
  w.histogram({}, st.time_to_first_frame);
  if (const ClusterCounters c = cluster_counters(app); c.enabled) { // --cluster only
    w.family("keepup_record_cluster_redirects_total", Type::kCounter,
             "POSTs this full node redirected (307) to another node.");
    w.sample({}, c.redirects);
    w.family("keepup_record_cluster_refused_total", Type::kCounter,
             "POSTs this full node refused (503): no live node with room.");
    w.sample({}, c.refused);
    w.family("keepup_record_cluster_live_nodes", Type::kGauge,
             "Nodes of the fleet whose last heartbeat is younger than the TTL (this one too).");
    w.sample({}, c.live_nodes);
    w.family("keepup_record_cluster_redis_up", Type::kGauge,
             "1 when the last heartbeat reached Redis.");
    w.sample({}, c.redis_up ? 1 : 0);
  }
  return w.text();
}

void start_metrics(App &app) {
  app.route_state->stats_timer = g_timeout_add_seconds(
      2,
      [](gpointer d) -> gboolean {
        whip::guarded("stats timer", [&]() {
          App &a = *static_cast<App *>(d);
          for (const auto &[id, s] : a.sessions)
            poll_stats(s);
        });
        return G_SOURCE_CONTINUE;
      },
      &app);
}

void stop_metrics(App &app) {
  if (app.route_state && app.route_state->stats_timer) {
    g_source_remove(app.route_state->stats_timer);
    app.route_state->stats_timer = 0;
  }
}

} // namespace keepup::record
