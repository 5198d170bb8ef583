// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-dropqueue
 * @title: dropqueue
 *
 * A queue for live pipelines that keeps memory flat under overload by dropping buffers on
 * purpose, and tells everyone what it dropped and why.
 *
 * Like core `queue`, the sink pad only enqueues and a streaming thread of the element's own
 * (the src pad task) pushes downstream, so upstream and downstream run in separate threads.
 * When the queue is full (`max-size-buffers`, `max-size-bytes`, `max-size-time`; a limit of
 * 0 is off), `leaky` decides: `downstream` (default) drops the oldest queued buffer so the
 * freshest frame wins, `upstream` drops the incoming buffer, `no` blocks upstream.
 * `max-age` also drops queued buffers that waited too long, even when the queue is not full.
 *
 * Dropping is wrong for a file source, so with `live-only` (default) the element asks
 * upstream whether it is live (a latency query on the first buffer of each stream); a
 * non-live upstream turns the element into a plain blocking queue that loses nothing.
 *
 * For encoded streams (caps other than raw audio/video) with `keyframe-aware`, a drop cuts
 * the whole group of pictures: every delta frame up to the next keyframe goes too, so
 * downstream never sees a broken GOP, and an upstream force-key-unit event asks the
 * encoder for a new keyframe (at most once per `keyframe-request-interval`).
 *
 * Serialized events and queries keep their place between buffers and are never dropped, so
 * caps, segment and tags survive any drop; the first buffer pushed after a drop carries
 * DISCONT; EOS drains everything queued without drops; a flush empties the queue.
 *
 * After EOS, as with core `queue`, a STREAM_START or SEGMENT event starts the next stream
 * (no flush needed); after not-linked a relink (RECONFIGURE) resumes. Meanwhile sticky events
 * other than EOS are still queued in order; buffers, EOS and other serialized events are
 * refused. Buffer lists are queued as their buffers under one lock: policies and stats count
 * buffers, and a list longer than the queue keeps its newest buffers.
 *
 * What it reports:
 * - the `stats` property: a #GstStructure `application/x-dropqueue-stats`, zeros when stopped.
 *   Fields: in, out, dropped, dropped-overflow, dropped-age, dropped-gop, dropped-flush
 *   (guint64); drop-ratio (dropped/in since start) and window-drop-ratio (over
 *   `ratio-window`) (gdouble); current-level-buffers (guint), current-level-bytes,
 *   current-level-time (guint64); max-level-buffers-seen (guint); live (upstream is live),
 *   drops-enabled (gboolean); longest-downstream-block-ns (longest single push downstream),
 *   upstream-blocked-ns (total time upstream waited on a full blocking queue),
 *   avg-residence-ns, max-residence-ns (time from entering to leaving, pipeline clock),
 *   keyframe-requests (guint64); health ("ok", "warning", "critical").
 *   `in == out + dropped + current-level-buffers` holds in every snapshot.
 * - an element message `dropqueue-stats` with the same fields every `stats-interval` while
 *   data flows;
 * - a GST_MESSAGE_QOS (format buffers: processed = out, dropped = dropped) at most once a
 *   second while dropping, so generic applications see the loss;
 * - a warning (STREAM/FAILED, details: window-drop-ratio, health) when the drop ratio over
 *   `ratio-window` crosses `warn-drop-ratio` or `critical-drop-ratio`, and an info message
 *   when it falls back below; a window needs at least 20 buffers before it counts, and
 *   easing from critical to warning is not announced again;
 * - `notify::dropped` for every drop when `silent` is false;
 * - downstream, in band: a serialized custom event `keepup-drops` (queue, queue-id, dropped:
 *   the running total) before the first buffer, before the next buffer after each drop and
 *   before EOS, so elements downstream (detectoverlay's HUD) learn the drops without a
 *   reference to this element (elements/common/gst/analytics_contract.hpp reads it).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true num-buffers=150 ! video/x-raw,width=1280,height=720 ! \
 *     dropqueue max-size-buffers=2 leaky=downstream ! x264enc speed-preset=medium ! fakesink
 * ]|
 */
#include "gstdropqueue.hpp"

#include "analytics_contract.hpp"
#include "callback_guard.hpp"
#include "dropqueue_core.hpp"

#include <gst/video/video.h>

#include "monotonic_clock.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <vector>

namespace dq = keepup::dropqueue;

GST_DEBUG_CATEGORY_STATIC(dropqueue_debug);
GST_DEBUG_CATEGORY_STATIC(dropqueue_dataflow);
#define GST_CAT_DEFAULT dropqueue_debug

enum {
  PROP_0,
  PROP_MAX_SIZE_BUFFERS,
  PROP_MAX_SIZE_BYTES,
  PROP_MAX_SIZE_TIME,
  PROP_LEAKY,
  PROP_MAX_AGE,
  PROP_LIVE_ONLY,
  PROP_KEYFRAME_AWARE,
  PROP_KEYFRAME_REQUEST_INTERVAL,
  PROP_STATS_INTERVAL,
  PROP_WARN_DROP_RATIO,
  PROP_CRITICAL_DROP_RATIO,
  PROP_RATIO_WINDOW,
  PROP_SILENT,
  PROP_CURRENT_LEVEL_BUFFERS,
  PROP_CURRENT_LEVEL_BYTES,
  PROP_CURRENT_LEVEL_TIME,
  PROP_IN,
  PROP_OUT,
  PROP_DROPPED,
  PROP_STATS,
  N_PROPS
};

// The core's Settings{} holds every queue default; the ParamSpecs read them from here.
static constexpr dq::Settings kDefaults{};
// The shell's own setting.
static constexpr gboolean DEFAULT_SILENT = TRUE;

static GParamSpec *properties[N_PROPS];

struct DropQueuePrivate {
  // Guards everything below except the members marked "sink thread only".
  std::mutex lock;
  std::condition_variable item_added;   // src task waits for work
  std::condition_variable item_removed; // upstream waits for room (blocking mode)
  std::condition_variable query_done;   // upstream waits for its serialized query

  // User settings: the queue's live in the core (core.configured()), plus the shell's own.
  std::atomic<bool> silent{DEFAULT_SILENT}; // read by report() without the lock

  // Run-time state, meaningful between start and stop.
  dq::DropQueueCore core;
  bool flushing = true;
  GstFlowReturn srcresult = GST_FLOW_FLUSHING;
  GstQuery *pending_query = nullptr;
  bool query_handled = false;
  bool query_result = false;

  // Sink thread only.
  std::atomic<bool> live_known{false};
  bool encoded = false;
  GstSegment segment;
  dq::Notices sink_notices;
  // Src thread only.
  dq::Notices src_notices;
  std::optional<guint64> drops_announced; // the total the last keepup-drops event carried
  const guint64 queue_id = next_queue_id();

  static guint64 next_queue_id() {
    static std::atomic<guint64> next{1};
    return next++;
  }
};

struct _GstDropQueue {
  GstElement parent;
  GstPad *sinkpad;
  GstPad *srcpad;
  DropQueuePrivate *priv;
};

#define gst_drop_queue_parent_class parent_class
G_DEFINE_TYPE(GstDropQueue, gst_drop_queue, GST_TYPE_ELEMENT)

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(dropqueue, "dropqueue", GST_RANK_NONE, GST_TYPE_DROP_QUEUE,
                                      GST_DEBUG_CATEGORY_INIT(dropqueue_debug, "dropqueue", 0,
                                                              "dropqueue element");
                                      GST_DEBUG_CATEGORY_INIT(dropqueue_dataflow,
                                                              "dropqueue_dataflow", 0,
                                                              "dropqueue per-buffer decisions"));

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

GType gst_drop_queue_leaky_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(dq::Leak::No), "Not leaky: block upstream when full", "no"},
      {static_cast<gint>(dq::Leak::Upstream), "Leaky on upstream: drop the incoming buffer",
       "upstream"},
      {static_cast<gint>(dq::Leak::Downstream), "Leaky on downstream: drop the oldest buffer",
       "downstream"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstDropQueueLeaky", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

// ---- helpers ------------------------------------------------------------------------------

static int64_t pipeline_now(GstDropQueue *self) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock)
    return dq::kNoTime;
  const GstClockTime now = gst_clock_get_time(clock);
  const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  gst_object_unref(clock);
  if (!GST_CLOCK_TIME_IS_VALID(now) || now < base)
    return dq::kNoTime;
  return static_cast<int64_t>(now - base);
}

static GstStructure *stats_structure(const char *name, const dq::Stats &s) {
  return gst_structure_new(
      name, "in", G_TYPE_UINT64, s.in, "out", G_TYPE_UINT64, s.out, "dropped", G_TYPE_UINT64,
      s.dropped, "dropped-overflow", G_TYPE_UINT64, s.dropped_overflow, "dropped-age",
      G_TYPE_UINT64, s.dropped_age, "dropped-gop", G_TYPE_UINT64, s.dropped_gop, "dropped-flush",
      G_TYPE_UINT64, s.dropped_flush, "drop-ratio", G_TYPE_DOUBLE, s.drop_ratio,
      "window-drop-ratio", G_TYPE_DOUBLE, s.window_drop_ratio, "current-level-buffers", G_TYPE_UINT,
      s.current_level_buffers, "current-level-bytes", G_TYPE_UINT64, s.current_level_bytes,
      "current-level-time", G_TYPE_UINT64, s.current_level_time_ns, "max-level-buffers-seen",
      G_TYPE_UINT, s.max_level_buffers_seen, "live", G_TYPE_BOOLEAN, s.live, "drops-enabled",
      G_TYPE_BOOLEAN, s.drops_enabled, "longest-downstream-block-ns", G_TYPE_UINT64,
      s.longest_downstream_block_ns, "upstream-blocked-ns", G_TYPE_UINT64, s.upstream_blocked_ns,
      "avg-residence-ns", G_TYPE_UINT64, s.avg_residence_ns, "max-residence-ns", G_TYPE_UINT64,
      s.max_residence_ns, "keyframe-requests", G_TYPE_UINT64, s.keyframe_requests, "health",
      G_TYPE_STRING, std::string(dq::to_string(s.health)).c_str(), nullptr);
}

static bool caps_are_raw(GstCaps *caps) {
  if (!caps || gst_caps_get_size(caps) == 0)
    return true;
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  return g_str_has_prefix(name, "video/x-raw") || g_str_has_prefix(name, "audio/x-raw");
}

// Releases what the core handed back and posts what it asked for. Runs without the lock.
static void report(GstDropQueue *self, dq::Notices &notices, const dq::Stats &snap) {
  DropQueuePrivate *p = self->priv;
  GstClockTime qos_pts = GST_CLOCK_TIME_NONE, qos_duration = GST_CLOCK_TIME_NONE;
  GstClockTime qos_running_time = GST_CLOCK_TIME_NONE;
  guint buffer_drops = 0;
  for (const auto &d : notices.dropped) {
    switch (d.item.kind) {
    case dq::ItemKind::Buffer: {
      auto *buf = static_cast<GstBuffer *>(d.item.handle);
      GST_CAT_LOG_OBJECT(dropqueue_dataflow, self, "dropped (%s) buffer %" GST_TIME_FORMAT,
                         std::string(dq::to_string(d.reason)).c_str(),
                         GST_TIME_ARGS(GST_BUFFER_PTS(buf)));
      qos_pts = GST_BUFFER_PTS(buf);
      qos_duration = GST_BUFFER_DURATION(buf);
      if (d.item.running_time_ns != dq::kNoTime)
        qos_running_time = static_cast<GstClockTime>(d.item.running_time_ns);
      gst_buffer_unref(buf);
      if (d.reason != dq::DropReason::Flush)
        ++buffer_drops;
      break;
    }
    case dq::ItemKind::Event:
      gst_event_unref(static_cast<GstEvent *>(d.item.handle));
      break;
    case dq::ItemKind::Query:
      break; // owned by the thread that sent it; it was woken with a failure
    }
  }
  notices.dropped.clear();

  if (!p->silent) {
    for (guint i = 0; i < buffer_drops; ++i)
      g_object_notify_by_pspec(G_OBJECT(self), properties[PROP_DROPPED]);
  }
  if (notices.request_keyframe) {
    GST_DEBUG_OBJECT(self, "asking upstream for a keyframe");
    gst_pad_push_event(self->sinkpad, gst_video_event_new_upstream_force_key_unit(
                                          GST_CLOCK_TIME_NONE, TRUE, snap.keyframe_requests));
  }
  if (notices.post_qos) {
    GstMessage *msg = gst_message_new_qos(GST_OBJECT(self), snap.live, qos_running_time,
                                          GST_CLOCK_TIME_NONE, qos_pts, qos_duration);
    gst_message_set_qos_stats(msg, GST_FORMAT_BUFFERS, snap.out, snap.dropped);
    gst_element_post_message(GST_ELEMENT(self), msg);
  }
  if (notices.post_stats) {
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_element(GST_OBJECT(self), stats_structure("dropqueue-stats", snap)));
  }
  if (notices.health_changed) {
    const dq::Health health = *notices.health_changed;
    double window_s;
    {
      std::lock_guard lk(p->lock); // report() runs unlocked; settings change under the lock
      window_s =
          static_cast<double>(p->core.settings().ratio_window_ns) / static_cast<double>(GST_SECOND);
    }
    const std::string health_name(dq::to_string(health));
    if (health == dq::Health::Ok) {
      GST_ELEMENT_INFO(self, STREAM, FAILED,
                       ("%s: drop ratio back to %.1f%% over the last %.1f s", GST_OBJECT_NAME(self),
                        snap.window_drop_ratio * 100.0, window_s),
                       ("in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT
                        " dropped %" G_GUINT64_FORMAT,
                        snap.in, snap.out, snap.dropped));
    } else {
      GST_ELEMENT_WARNING_WITH_DETAILS(
          self, STREAM, FAILED,
          ("%s dropped %.1f%% of buffers over the last %.1f s (%s): downstream is too slow "
           "for the input rate",
           GST_OBJECT_NAME(self), snap.window_drop_ratio * 100.0, window_s, health_name.c_str()),
          ("in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT " dropped %" G_GUINT64_FORMAT
           " (overflow %" G_GUINT64_FORMAT ", age %" G_GUINT64_FORMAT ", gop %" G_GUINT64_FORMAT
           "), longest downstream block %" GST_TIME_FORMAT,
           snap.in, snap.out, snap.dropped, snap.dropped_overflow, snap.dropped_age,
           snap.dropped_gop, GST_TIME_ARGS(snap.longest_downstream_block_ns)),
          ("window-drop-ratio", G_TYPE_DOUBLE, snap.window_drop_ratio, "health", G_TYPE_STRING,
           health_name.c_str(), nullptr));
    }
  }
  notices.request_keyframe = notices.post_qos = notices.post_stats = false;
  notices.health_changed.reset();
}

// Under the lock: whether report() has anything to do, and the stats snapshot it needs.
static bool prepare_report(const dq::DropQueueCore &core, const dq::Notices &n, dq::Stats &snap) {
  const bool needs_snapshot =
      n.request_keyframe || n.post_qos || n.post_stats || n.health_changed.has_value();
  if (needs_snapshot)
    snap = core.stats();
  return needs_snapshot || !n.dropped.empty();
}

// Asks upstream once per stream whether it is live: dropping frames from a file is wrong.
static void ensure_live_known(GstDropQueue *self) {
  DropQueuePrivate *p = self->priv;
  if (p->live_known.load())
    return;
  gboolean live = FALSE;
  GstQuery *query = gst_query_new_latency();
  if (gst_pad_peer_query(self->sinkpad, query))
    gst_query_parse_latency(query, &live, nullptr, nullptr);
  else
    GST_INFO_OBJECT(self, "upstream did not answer the latency query: treating it as not live");
  gst_query_unref(query);
  {
    std::lock_guard lk(p->lock);
    p->core.set_upstream_live(live);
    GST_INFO_OBJECT(self, "upstream is %s: dropping %s", live ? "live" : "not live",
                    p->core.drops_enabled() ? "enabled" : "disabled (blocking queue)");
  }
  p->live_known = true;
}

static void set_flushing_locked(DropQueuePrivate *p, GstFlowReturn result) {
  p->flushing = result == GST_FLOW_FLUSHING;
  p->srcresult = result;
  p->item_added.notify_all();
  p->item_removed.notify_all();
  p->query_done.notify_all();
}

static void flush_queue(GstDropQueue *self) {
  DropQueuePrivate *p = self->priv;
  dq::Notices notices;
  {
    std::lock_guard lk(p->lock);
    p->core.flush(notices);
  }
  report(self, notices, dq::Stats{});
}

// ---- streaming ----------------------------------------------------------------------------

// The core's view of a buffer. Sink thread only (reads the segment).
static dq::Item buffer_item(DropQueuePrivate *p, GstBuffer *buffer) {
  dq::Item item;
  item.kind = dq::ItemKind::Buffer;
  item.handle = buffer;
  item.bytes = gst_buffer_get_size(buffer);
  item.duration_ns = GST_BUFFER_DURATION_IS_VALID(buffer)
                         ? static_cast<int64_t>(GST_BUFFER_DURATION(buffer))
                         : dq::kNoTime;
  GstClockTime ts =
      GST_BUFFER_PTS_IS_VALID(buffer) ? GST_BUFFER_PTS(buffer) : GST_BUFFER_DTS(buffer);
  if (p->segment.format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(ts)) {
    const GstClockTime rt = gst_segment_to_running_time(&p->segment, GST_FORMAT_TIME, ts);
    if (GST_CLOCK_TIME_IS_VALID(rt))
      item.running_time_ns = static_cast<int64_t>(rt);
  }
  item.delta = GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  item.gop_sensitive = p->encoded; // the core applies keyframe-aware
  return item;
}

// Queues `count` buffers in order under one hold of the lock, taking ownership of all of
// them. A buffer list comes here as its buffers: each is an item of its own, so the leak
// policies, GOP cuts, DISCONT and every counter work per buffer, and the src task cannot
// take any of them before the last one is in (the limits apply as if the list arrived in
// one instant). A blocking queue still waits for room buffer by buffer.
static GstFlowReturn enqueue_buffers(GstDropQueue *self, GstBuffer *const *buffers, guint count) {
  DropQueuePrivate *p = self->priv;
  guint done = 0; // buffers handed to the core (or released) so far
  auto release_rest = [&] {
    for (; done < count; ++done)
      gst_buffer_unref(buffers[done]);
  };
  try {
    ensure_live_known(self);
    int64_t now = pipeline_now(self);
    dq::Stats snap;
    bool need_report;
    {
      std::unique_lock lk(p->lock);
      while (done < count) {
        if (p->srcresult != GST_FLOW_OK) {
          const GstFlowReturn ret = p->srcresult;
          need_report = prepare_report(p->core, p->sink_notices, snap);
          lk.unlock();
          GST_CAT_LOG_OBJECT(dropqueue_dataflow, self, "refusing %u buffer(s): %s", count - done,
                             gst_flow_get_name(ret));
          release_rest();
          if (need_report)
            report(self, p->sink_notices, snap);
          return ret;
        }
        const dq::Item item = buffer_item(p, buffers[done]);
        dq::PushOutcome outcome;
        while ((outcome = p->core.push(item, now, p->sink_notices)) == dq::PushOutcome::MustWait) {
          const int64_t t0 = keepup::monotonic_ns();
          p->item_removed.wait(lk);
          p->core.record_upstream_block(static_cast<uint64_t>(keepup::monotonic_ns() - t0));
          if (p->srcresult != GST_FLOW_OK)
            break; // refused at the top of the next round
          lk.unlock();
          now = pipeline_now(self);
          lk.lock();
        }
        if (outcome == dq::PushOutcome::MustWait)
          continue; // not taken: the top of the loop refuses it
        if (outcome == dq::PushOutcome::Queued)
          p->item_added.notify_one();
        ++done;
      }
      need_report = prepare_report(p->core, p->sink_notices, snap);
    }
    if (need_report)
      report(self, p->sink_notices, snap);
    return GST_FLOW_OK;
  } catch (const std::exception &e) {
    release_rest();
    GST_ELEMENT_ERROR(self, CORE, FAILED, ("dropqueue failed while queueing a buffer"),
                      ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
}

static GstFlowReturn gst_drop_queue_chain(GstPad *, GstObject *parent, GstBuffer *buffer) {
  return enqueue_buffers(GST_DROP_QUEUE(parent), &buffer, 1);
}

static GstFlowReturn gst_drop_queue_chain_list(GstPad *, GstObject *parent, GstBufferList *list) {
  const guint count = gst_buffer_list_length(list);
  std::vector<GstBuffer *> buffers(count);
  for (guint i = 0; i < count; ++i)
    buffers[i] = gst_buffer_ref(gst_buffer_list_get(list, i));
  gst_buffer_list_unref(list);
  return enqueue_buffers(GST_DROP_QUEUE(parent), buffers.data(), count);
}

// Stops the src task after a failed push, or after it pushed EOS (`eos_pushed`). The task
// pauses under the lock: whoever restarts it (a new stream after EOS, a relink after
// not-linked) takes the lock after that, so it always finds the task paused and starts it
// again, never the other way round.
static void on_push_failed(GstDropQueue *self, GstFlowReturn ret, bool eos_pushed = false) {
  DropQueuePrivate *p = self->priv;
  bool upstream_done;
  {
    std::lock_guard lk(p->lock);
    if (p->flushing)
      return; // the task is being stopped anyway
    if (eos_pushed && !p->core.empty())
      return; // a new stream was queued behind the EOS: go on with it
    set_flushing_locked(p, ret);
    gst_pad_pause_task(self->srcpad);
    upstream_done = p->core.draining();
  }
  GST_DEBUG_OBJECT(self, "paused task: %s", gst_flow_get_name(ret));
  // Like core queue: upstream hears of the failure from its next push and reports it, unless
  // it already sent EOS and pushes nothing more; then this element reports it and ends the
  // stream. (An EOS pushed otherwise would stick to the src pad and end a relinked stream.)
  if (upstream_done && (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS)) {
    GST_ELEMENT_FLOW_ERROR(self, ret);
    gst_pad_push_event(self->srcpad, gst_event_new_eos());
  }
}

// The running drop total goes downstream in band, before the first buffer, before the next
// buffer after each change and before EOS, as a `keepup-drops` event (analytics_contract.hpp):
// detectoverlay shows it without looking this element up or holding a reference to it.
static void announce_drops(GstDropQueue *self, guint64 dropped) {
  DropQueuePrivate *p = self->priv;
  if (p->drops_announced == dropped)
    return;
  p->drops_announced = dropped;
  keepup::contract::DropCount d;
  gchar *name = gst_object_get_name(GST_OBJECT(self));
  d.queue = name ? name : "";
  g_free(name);
  d.queue_id = p->queue_id;
  d.dropped = dropped;
  gst_pad_push_event(self->srcpad, keepup::contract::drops_event(d));
}

static void gst_drop_queue_loop(gpointer user_data) {
  auto *pad = static_cast<GstPad *>(user_data);
  GstDropQueue *self = GST_DROP_QUEUE(GST_PAD_PARENT(pad));
  DropQueuePrivate *p = self->priv;
  try {
    const int64_t now = pipeline_now(self);
    std::optional<dq::Item> item;
    dq::Stats snap;
    bool need_report;
    guint64 dropped = 0;
    {
      std::unique_lock lk(p->lock);
      p->item_added.wait(lk, [p] { return !p->core.empty() || p->srcresult != GST_FLOW_OK; });
      if (p->srcresult != GST_FLOW_OK) {
        gst_pad_pause_task(pad); // under the lock, see on_push_failed()
        return;
      }
      item = p->core.pop(now, p->src_notices);
      dropped = p->core.stats().dropped;
      p->item_removed.notify_all();
      need_report = prepare_report(p->core, p->src_notices, snap);
    }
    if (need_report)
      report(self, p->src_notices, snap);
    if (!item)
      return; // everything queued was too old

    switch (item->kind) {
    case dq::ItemKind::Buffer: {
      auto *buf = static_cast<GstBuffer *>(item->handle);
      if (item->discont) {
        buf = gst_buffer_make_writable(buf);
        GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
      }
      announce_drops(self, dropped);
      GST_CAT_LOG_OBJECT(dropqueue_dataflow, self, "pushing buffer %" GST_TIME_FORMAT "%s",
                         GST_TIME_ARGS(GST_BUFFER_PTS(buf)), item->discont ? " (discont)" : "");
      const uint64_t t0 = keepup::monotonic_ns();
      const GstFlowReturn ret = gst_pad_push(self->srcpad, buf);
      const uint64_t blocked = keepup::monotonic_ns() - t0;
      {
        std::lock_guard lk(p->lock);
        p->core.record_downstream_block(blocked);
      }
      if (ret != GST_FLOW_OK)
        on_push_failed(self, ret);
      break;
    }
    case dq::ItemKind::Event: {
      auto *event = static_cast<GstEvent *>(item->handle);
      const bool eos = item->is_eos;
      if (eos) // the final total, for what comes after the last buffer
        announce_drops(self, dropped);
      GST_DEBUG_OBJECT(self, "pushing event %s", GST_EVENT_TYPE_NAME(event));
      gst_pad_push_event(self->srcpad, event);
      if (eos)
        on_push_failed(self, GST_FLOW_EOS, true);
      break;
    }
    case dq::ItemKind::Query: {
      auto *query = static_cast<GstQuery *>(item->handle);
      const gboolean result = gst_pad_peer_query(self->srcpad, query);
      std::lock_guard lk(p->lock);
      if (p->pending_query == query) {
        p->query_result = result;
        p->query_handled = true;
        p->query_done.notify_all();
      }
      break;
    }
    }
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, CORE, FAILED, ("dropqueue failed while pushing downstream"),
                      ("%s", e.what()));
    on_push_failed(self, GST_FLOW_ERROR);
  }
}

static gboolean gst_drop_queue_sink_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  GstDropQueue *self = GST_DROP_QUEUE(parent);
  DropQueuePrivate *p = self->priv;
  try {
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_START: {
      gst_pad_push_event(self->srcpad, event);
      {
        std::lock_guard lk(p->lock);
        set_flushing_locked(p, GST_FLOW_FLUSHING);
      }
      gst_pad_pause_task(self->srcpad);
      return TRUE;
    }
    case GST_EVENT_FLUSH_STOP: {
      flush_queue(self);
      {
        std::lock_guard lk(p->lock);
        set_flushing_locked(p, GST_FLOW_OK);
      }
      gst_segment_init(&p->segment, GST_FORMAT_UNDEFINED);
      const gboolean ret = gst_pad_push_event(self->srcpad, event);
      gst_pad_start_task(self->srcpad, gst_drop_queue_loop, self->srcpad, nullptr);
      return ret;
    }
    default:
      break;
    }
    if (!GST_EVENT_IS_SERIALIZED(event))
      return gst_pad_event_default(pad, parent, event);

    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_STREAM_START:
      p->live_known = false;
      break;
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gst_event_parse_caps(event, &caps);
      p->encoded = !caps_are_raw(caps);
      GST_DEBUG_OBJECT(self, "caps %" GST_PTR_FORMAT " (%s)", caps, p->encoded ? "encoded" : "raw");
      break;
    }
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment(event, &p->segment);
      break;
    default:
      break;
    }

    dq::Item item;
    item.kind = dq::ItemKind::Event;
    item.handle = event;
    item.is_eos = GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    bool restart = false;
    {
      std::lock_guard lk(p->lock);
      if (p->srcresult == GST_FLOW_EOS && (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START ||
                                           GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT)) {
        // A new stream after EOS: take data again, like core queue.
        GST_DEBUG_OBJECT(self, "%s after EOS: restarting", GST_EVENT_TYPE_NAME(event));
        set_flushing_locked(p, GST_FLOW_OK);
        restart = true;
      }
      // After EOS, not-linked or an error, sticky events (but EOS) are still taken: they
      // keep their place and go out when the task runs again (a new stream, a relink), or
      // a flush discards them. Everything is refused while flushing.
      if (p->srcresult != GST_FLOW_OK &&
          (p->srcresult == GST_FLOW_FLUSHING || !GST_EVENT_IS_STICKY(event) || item.is_eos)) {
        GST_DEBUG_OBJECT(self, "refusing event %s: %s", GST_EVENT_TYPE_NAME(event),
                         gst_flow_get_name(p->srcresult));
        gst_event_unref(event);
        return FALSE;
      }
      p->core.push(item, dq::kNoTime, p->sink_notices);
      p->item_added.notify_one();
    }
    if (restart)
      gst_pad_start_task(self->srcpad, gst_drop_queue_loop, self->srcpad, nullptr);
    return TRUE;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, CORE, FAILED, ("dropqueue failed while handling an event"),
                      ("%s", e.what()));
    return FALSE;
  }
}

static gboolean gst_drop_queue_sink_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  GstDropQueue *self = GST_DROP_QUEUE(parent);
  DropQueuePrivate *p = self->priv;
  if (!GST_QUERY_IS_SERIALIZED(query))
    return gst_pad_query_default(pad, parent, query);
  try {
    // Serialized queries (allocation, drain, ...) must see the data queued before them.
    std::unique_lock lk(p->lock);
    if (p->srcresult != GST_FLOW_OK)
      return FALSE;
    dq::Item item;
    item.kind = dq::ItemKind::Query;
    item.handle = query;
    p->pending_query = query;
    p->query_handled = false;
    p->core.push(item, dq::kNoTime, p->sink_notices);
    p->item_added.notify_one();
    p->query_done.wait(lk, [p] { return p->query_handled || p->srcresult != GST_FLOW_OK; });
    const bool result = p->query_handled && p->query_result;
    p->pending_query = nullptr;
    return result;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, CORE, FAILED, ("dropqueue failed while handling a query"),
                      ("%s", e.what()));
    return FALSE;
  }
}

static gboolean src_query_impl(GstPad *pad, GstObject *parent, GstQuery *query) {
  GstDropQueue *self = GST_DROP_QUEUE(parent);
  DropQueuePrivate *p = self->priv;
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return gst_pad_query_default(pad, parent, query);
  if (!gst_pad_peer_query(self->sinkpad, query))
    return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(query, &live, &min, &max);
  guint64 max_time;
  {
    std::lock_guard lk(p->lock);
    max_time = p->core.settings().max_time_ns;
  }
  // The queue adds buffering capacity, never latency of its own.
  if (GST_CLOCK_TIME_IS_VALID(max) && max_time > 0)
    max += max_time;
  gst_query_set_latency(query, live, min, max);
  return TRUE;
}

static gboolean gst_drop_queue_src_query(GstPad *pad, GstObject *parent, GstQuery *query) {
  return keepup::gstutil::guard(GST_ELEMENT(parent), GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                                "dropqueue: query failed", FALSE,
                                [&] { return src_query_impl(pad, parent, query); });
}

static gboolean src_event_impl(GstPad *pad, GstObject *parent, GstEvent *event) {
  GstDropQueue *self = GST_DROP_QUEUE(parent);
  DropQueuePrivate *p = self->priv;
  if (GST_EVENT_TYPE(event) == GST_EVENT_RECONFIGURE) {
    // A relink after not-linked: resume pushing.
    std::unique_lock lk(p->lock);
    if (p->srcresult == GST_FLOW_NOT_LINKED) {
      set_flushing_locked(p, GST_FLOW_OK);
      lk.unlock();
      gst_pad_start_task(self->srcpad, gst_drop_queue_loop, self->srcpad, nullptr);
    }
  }
  return gst_pad_event_default(pad, parent, event);
}

static gboolean gst_drop_queue_src_event(GstPad *pad, GstObject *parent, GstEvent *event) {
  return keepup::gstutil::guard(GST_ELEMENT(parent), GST_CORE_ERROR, GST_CORE_ERROR_EVENT,
                                "dropqueue: event handling failed", FALSE,
                                [&] { return src_event_impl(pad, parent, event); });
}

static gboolean src_activate_mode_impl(GstPad *pad, GstObject *parent, GstPadMode mode,
                                       gboolean active) {
  GstDropQueue *self = GST_DROP_QUEUE(parent);
  DropQueuePrivate *p = self->priv;
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (active) {
    {
      std::lock_guard lk(p->lock);
      set_flushing_locked(p, GST_FLOW_OK);
    }
    return gst_pad_start_task(pad, gst_drop_queue_loop, pad, nullptr);
  }
  {
    std::lock_guard lk(p->lock);
    set_flushing_locked(p, GST_FLOW_FLUSHING);
  }
  const gboolean stopped = gst_pad_stop_task(pad);
  flush_queue(self);
  return stopped;
}

static gboolean gst_drop_queue_src_activate_mode(GstPad *pad, GstObject *parent, GstPadMode mode,
                                                 gboolean active) {
  return keepup::gstutil::guard(GST_ELEMENT(parent), GST_CORE_ERROR, GST_CORE_ERROR_PAD,
                                "dropqueue: pad activation failed", FALSE,
                                [&] { return src_activate_mode_impl(pad, parent, mode, active); });
}

static gboolean gst_drop_queue_sink_activate_mode(GstPad *, GstObject *parent, GstPadMode mode,
                                                  gboolean active) {
  GstDropQueue *self = GST_DROP_QUEUE(parent);
  DropQueuePrivate *p = self->priv;
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  std::lock_guard lk(p->lock);
  if (active) {
    p->live_known = false;
    gst_segment_init(&p->segment, GST_FORMAT_UNDEFINED);
  } else {
    set_flushing_locked(p, GST_FLOW_FLUSHING);
  }
  return TRUE;
}

static GstStateChangeReturn change_state_impl(GstElement *element, GstStateChange transition) {
  GstDropQueue *self = GST_DROP_QUEUE(element);
  DropQueuePrivate *p = self->priv;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    std::lock_guard lk(p->lock);
    p->core.reset();
    p->encoded = false;
  }
  const GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::lock_guard lk(p->lock);
    p->core.reset(); // stats read zeros while stopped
  }
  return ret;
}

static GstStateChangeReturn gst_drop_queue_change_state(GstElement *element,
                                                        GstStateChange transition) {
  return keepup::gstutil::guard(element, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                                "dropqueue: state change failed", GST_STATE_CHANGE_FAILURE,
                                [&] { return change_state_impl(element, transition); });
}

// ---- properties ---------------------------------------------------------------------------

static void set_property_impl(GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec) {
  GstDropQueue *self = GST_DROP_QUEUE(object);
  DropQueuePrivate *p = self->priv;
  std::lock_guard lk(p->lock);
  dq::Settings s = p->core.configured();
  switch (prop_id) {
  case PROP_MAX_SIZE_BUFFERS:
    s.max_buffers = g_value_get_uint(value);
    break;
  case PROP_MAX_SIZE_BYTES:
    s.max_bytes = g_value_get_uint64(value);
    break;
  case PROP_MAX_SIZE_TIME:
    s.max_time_ns = g_value_get_uint64(value);
    break;
  case PROP_LEAKY:
    s.leak = static_cast<dq::Leak>(g_value_get_enum(value));
    break;
  case PROP_MAX_AGE:
    s.max_age_ns = g_value_get_uint64(value);
    break;
  case PROP_LIVE_ONLY:
    s.live_only = g_value_get_boolean(value);
    break;
  case PROP_KEYFRAME_AWARE:
    s.keyframe_aware = g_value_get_boolean(value);
    break;
  case PROP_KEYFRAME_REQUEST_INTERVAL:
    s.keyframe_request_interval_ns = g_value_get_uint64(value);
    break;
  case PROP_STATS_INTERVAL:
    s.stats_interval_ns = g_value_get_uint64(value);
    break;
  case PROP_WARN_DROP_RATIO:
    s.warn_drop_ratio = g_value_get_double(value);
    break;
  case PROP_CRITICAL_DROP_RATIO:
    s.critical_drop_ratio = g_value_get_double(value);
    break;
  case PROP_RATIO_WINDOW:
    s.ratio_window_ns = g_value_get_uint64(value);
    break;
  case PROP_SILENT:
    p->silent = g_value_get_boolean(value);
    return;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    return;
  }
  if (s.critical_drop_ratio < s.warn_drop_ratio)
    GST_WARNING_OBJECT(self, "critical-drop-ratio %.3f is below warn-drop-ratio %.3f: using %.3f",
                       s.critical_drop_ratio, s.warn_drop_ratio, s.warn_drop_ratio);
  p->core.configure(s);
  // Larger limits or a switch to leaky mode may let a blocked upstream go on.
  p->item_removed.notify_all();
}

static void gst_drop_queue_set_property(GObject *object, guint prop_id, const GValue *value,
                                        GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "set_property",
                             [&] { set_property_impl(object, prop_id, value, pspec); });
}

static void get_property_impl(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstDropQueue *self = GST_DROP_QUEUE(object);
  DropQueuePrivate *p = self->priv;
  std::lock_guard lk(p->lock);
  const dq::Settings &s = p->core.configured();
  switch (prop_id) {
  case PROP_MAX_SIZE_BUFFERS:
    g_value_set_uint(value, s.max_buffers);
    break;
  case PROP_MAX_SIZE_BYTES:
    g_value_set_uint64(value, s.max_bytes);
    break;
  case PROP_MAX_SIZE_TIME:
    g_value_set_uint64(value, s.max_time_ns);
    break;
  case PROP_LEAKY:
    g_value_set_enum(value, static_cast<gint>(s.leak));
    break;
  case PROP_MAX_AGE:
    g_value_set_uint64(value, s.max_age_ns);
    break;
  case PROP_LIVE_ONLY:
    g_value_set_boolean(value, s.live_only);
    break;
  case PROP_KEYFRAME_AWARE:
    g_value_set_boolean(value, s.keyframe_aware);
    break;
  case PROP_KEYFRAME_REQUEST_INTERVAL:
    g_value_set_uint64(value, s.keyframe_request_interval_ns);
    break;
  case PROP_STATS_INTERVAL:
    g_value_set_uint64(value, s.stats_interval_ns);
    break;
  case PROP_WARN_DROP_RATIO:
    g_value_set_double(value, s.warn_drop_ratio);
    break;
  case PROP_CRITICAL_DROP_RATIO:
    g_value_set_double(value, s.critical_drop_ratio);
    break;
  case PROP_RATIO_WINDOW:
    g_value_set_uint64(value, s.ratio_window_ns);
    break;
  case PROP_SILENT:
    g_value_set_boolean(value, p->silent);
    break;
  case PROP_CURRENT_LEVEL_BUFFERS:
    g_value_set_uint(value, p->core.stats().current_level_buffers);
    break;
  case PROP_CURRENT_LEVEL_BYTES:
    g_value_set_uint64(value, p->core.stats().current_level_bytes);
    break;
  case PROP_CURRENT_LEVEL_TIME:
    g_value_set_uint64(value, p->core.stats().current_level_time_ns);
    break;
  case PROP_IN:
    g_value_set_uint64(value, p->core.stats().in);
    break;
  case PROP_OUT:
    g_value_set_uint64(value, p->core.stats().out);
    break;
  case PROP_DROPPED:
    g_value_set_uint64(value, p->core.stats().dropped);
    break;
  case PROP_STATS:
    g_value_take_boxed(value, stats_structure("application/x-dropqueue-stats", p->core.stats()));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_drop_queue_get_property(GObject *object, guint prop_id, GValue *value,
                                        GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "get_property",
                             [&] { get_property_impl(object, prop_id, value, pspec); });
}

// ---- GObject boilerplate ------------------------------------------------------------------

static void gst_drop_queue_finalize(GObject *object) {
  GstDropQueue *self = GST_DROP_QUEUE(object);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_drop_queue_class_init(GstDropQueueClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

  gobject_class->set_property = gst_drop_queue_set_property;
  gobject_class->get_property = gst_drop_queue_get_property;
  gobject_class->finalize = gst_drop_queue_finalize;

  constexpr auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                               GST_PARAM_MUTABLE_PLAYING);
  constexpr auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_MAX_SIZE_BUFFERS] = g_param_spec_uint(
      "max-size-buffers", "Max. size (buffers)", "Max. number of buffers queued (0 = no limit)", 0,
      G_MAXUINT, kDefaults.max_buffers, rw);
  properties[PROP_MAX_SIZE_BYTES] = g_param_spec_uint64(
      "max-size-bytes", "Max. size (bytes)", "Max. amount of data queued in bytes (0 = no limit)",
      0, G_MAXUINT64, kDefaults.max_bytes, rw);
  properties[PROP_MAX_SIZE_TIME] = g_param_spec_uint64(
      "max-size-time", "Max. size (ns)", "Max. amount of data queued in ns (0 = no limit)", 0,
      G_MAXUINT64, kDefaults.max_time_ns, rw);
  properties[PROP_LEAKY] = g_param_spec_enum(
      "leaky", "Leaky", "What to drop when the queue is full (no = block upstream)",
      GST_TYPE_DROP_QUEUE_LEAKY, static_cast<gint>(kDefaults.leak), rw);
  properties[PROP_MAX_AGE] = g_param_spec_uint64(
      "max-age", "Max. age (ns)",
      "Drop queued buffers that waited longer than this on the pipeline clock (0 = off)", 0,
      G_MAXUINT64, kDefaults.max_age_ns, rw);
  properties[PROP_LIVE_ONLY] = g_param_spec_boolean(
      "live-only", "Live only",
      "Drop only when upstream is live; a non-live upstream makes this a blocking queue",
      kDefaults.live_only, rw);
  properties[PROP_KEYFRAME_AWARE] = g_param_spec_boolean(
      "keyframe-aware", "Keyframe aware",
      "For encoded streams, drop whole GOPs (up to the next keyframe) and ask upstream for a "
      "keyframe",
      kDefaults.keyframe_aware, rw);
  properties[PROP_KEYFRAME_REQUEST_INTERVAL] =
      g_param_spec_uint64("keyframe-request-interval", "Keyframe request interval (ns)",
                          "Minimum time between two upstream force-key-unit requests", 0,
                          G_MAXUINT64, kDefaults.keyframe_request_interval_ns, rw);
  properties[PROP_STATS_INTERVAL] = g_param_spec_uint64(
      "stats-interval", "Stats interval (ns)",
      "Post a dropqueue-stats element message this often while data flows (0 = off)", 0,
      G_MAXUINT64, kDefaults.stats_interval_ns, rw);
  properties[PROP_WARN_DROP_RATIO] =
      g_param_spec_double("warn-drop-ratio", "Warning drop ratio",
                          "Post a warning when the drop ratio over ratio-window reaches this", 0.0,
                          1.0, kDefaults.warn_drop_ratio, rw);
  properties[PROP_CRITICAL_DROP_RATIO] = g_param_spec_double(
      "critical-drop-ratio", "Critical drop ratio",
      "Post a critical warning when the drop ratio over ratio-window reaches this", 0.0, 1.0,
      kDefaults.critical_drop_ratio, rw);
  properties[PROP_RATIO_WINDOW] = g_param_spec_uint64(
      "ratio-window", "Ratio window (ns)", "Sliding window for the drop ratio warnings",
      GST_MSECOND * 100, 3600 * GST_SECOND, kDefaults.ratio_window_ns, rw);
  properties[PROP_SILENT] = g_param_spec_boolean(
      "silent", "Silent", "When false, emit notify::dropped for every dropped buffer",
      DEFAULT_SILENT, rw);
  properties[PROP_CURRENT_LEVEL_BUFFERS] =
      g_param_spec_uint("current-level-buffers", "Current level (buffers)",
                        "Buffers in the queue now", 0, G_MAXUINT, 0, ro);
  properties[PROP_CURRENT_LEVEL_BYTES] =
      g_param_spec_uint64("current-level-bytes", "Current level (bytes)", "Bytes in the queue now",
                          0, G_MAXUINT64, 0, ro);
  properties[PROP_CURRENT_LEVEL_TIME] =
      g_param_spec_uint64("current-level-time", "Current level (ns)",
                          "Time span of the data in the queue now", 0, G_MAXUINT64, 0, ro);
  properties[PROP_IN] =
      g_param_spec_uint64("in", "In", "Buffers received since start", 0, G_MAXUINT64, 0, ro);
  properties[PROP_OUT] =
      g_param_spec_uint64("out", "Out", "Buffers pushed since start", 0, G_MAXUINT64, 0, ro);
  properties[PROP_DROPPED] = g_param_spec_uint64(
      "dropped", "Dropped", "Buffers dropped since start (all reasons)", 0, G_MAXUINT64, 0, ro);
  properties[PROP_STATS] = g_param_spec_boxed(
      "stats", "Statistics", "application/x-dropqueue-stats (see the element documentation)",
      GST_TYPE_STRUCTURE, ro);
  g_object_class_install_properties(gobject_class, N_PROPS, properties);

  element_class->change_state = gst_drop_queue_change_state;
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Drop queue", "Generic",
      "Leaky queue for live pipelines: drops deliberately under overload, keeps GOPs whole and "
      "reports every drop",
      "keepup developers");
  gst_type_mark_as_plugin_api(GST_TYPE_DROP_QUEUE_LEAKY, static_cast<GstPluginAPIFlags>(0));
}

static void gst_drop_queue_init(GstDropQueue *self) {
  self->priv = new DropQueuePrivate();
  gst_segment_init(&self->priv->segment, GST_FORMAT_UNDEFINED);

  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(self->sinkpad, gst_drop_queue_chain);
  gst_pad_set_chain_list_function(self->sinkpad, gst_drop_queue_chain_list);
  gst_pad_set_event_function(self->sinkpad, gst_drop_queue_sink_event);
  gst_pad_set_query_function(self->sinkpad, gst_drop_queue_sink_query);
  gst_pad_set_activatemode_function(self->sinkpad, gst_drop_queue_sink_activate_mode);
  GST_PAD_SET_PROXY_CAPS(self->sinkpad);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_set_event_function(self->srcpad, gst_drop_queue_src_event);
  gst_pad_set_query_function(self->srcpad, gst_drop_queue_src_query);
  gst_pad_set_activatemode_function(self->srcpad, gst_drop_queue_src_activate_mode);
  GST_PAD_SET_PROXY_CAPS(self->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}
