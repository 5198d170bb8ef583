// SPDX-License-Identifier: LGPL-2.1-or-later
// The stagelatency tracer's hot path: the pad-push hooks, and the registries they fill
// (stages per element, receiving pads, per-thread ledgers), plus the state-change hooks. No
// lock shared between streaming threads and no allocation or I/O per buffer: see
// gststagelatency.cpp for the tracer as a whole.
#include "stagelatency_state.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace keepup::stagelatency::tracer {

// initial-exec: a plain %fs-relative load instead of a __tls_get_addr call per push.
static thread_local std::array<ThreadState *, kMaxInstances> tls_states
    __attribute__((tls_model("initial-exec"))) = {};

// ---- registries ---------------------------------------------------------------------------

enum class QueueType { none, queue, dropqueue };

// Queue-like elements (core's queue, queue2 and multiqueue, our dropqueue, and subclasses of
// any of them) hand buffers to another thread: time in their chain is waiting, and buffers
// have a residence time. Recognised by GType, once per type: a renamed factory or a
// subclass is still a queue, and no factory name is compared anywhere else.
static QueueType queue_type(GstElement *element) {
  static std::mutex lock;
  static std::unordered_map<GType, QueueType> known;
  const GType type = G_OBJECT_TYPE(element);
  std::lock_guard lk(lock);
  if (auto it = known.find(type); it != known.end())
    return it->second;
  QueueType found = QueueType::none;
  for (GType t = type; t && t != GST_TYPE_ELEMENT && found == QueueType::none;
       t = g_type_parent(t)) {
    const char *name = g_type_name(t);
    if (std::strcmp(name, "GstDropQueue") == 0)
      found = QueueType::dropqueue;
    else if (std::strcmp(name, "GstQueue") == 0 || std::strcmp(name, "GstQueue2") == 0 ||
             std::strcmp(name, "GstMultiQueue") == 0)
      found = QueueType::queue;
  }
  known.emplace(type, found);
  return found;
}

static GstElement *element_of(GstPad *pad) {
  GstObject *parent = GST_OBJECT_PARENT(pad);
  if (parent && GST_IS_PAD(parent)) // a ghost pad's internal proxy pad
    parent = GST_OBJECT_PARENT(parent);
  return parent && GST_IS_ELEMENT(parent) ? GST_ELEMENT(parent) : nullptr;
}

static uint32_t stage_for(TracerState *self, GstElement *element) {
  if (gpointer id = g_object_get_qdata(G_OBJECT(element), self->stage_quark))
    return static_cast<uint32_t>(GPOINTER_TO_UINT(id) - 1);
  std::lock_guard lk(self->lock);
  if (gpointer id = g_object_get_qdata(G_OBJECT(element), self->stage_quark))
    return static_cast<uint32_t>(GPOINTER_TO_UINT(id) - 1);
  const uint32_t id = self->n_stages.load();
  if (id >= kMaxStages)
    return kIdle;
  auto *st = new Stage();
  st->name = GST_OBJECT_NAME(element);
  if (GstElementFactory *f = gst_element_get_factory(element))
    st->factory = GST_OBJECT_NAME(f);
  const QueueType queue = queue_type(element);
  st->queue_like = queue != QueueType::none;
  st->dropqueue = queue == QueueType::dropqueue;
  st->sink = GST_OBJECT_FLAG_IS_SET(element, GST_ELEMENT_FLAG_SINK);
  g_weak_ref_init(&st->element, st->dropqueue ? element : nullptr);
  st->reported = !self->filter || g_regex_match(self->filter, st->name.c_str(),
                                                static_cast<GRegexMatchFlags>(0), nullptr);
  self->stages[id].store(st);
  self->n_stages.store(id + 1);
  g_object_set_qdata(G_OBJECT(element), self->stage_quark, GUINT_TO_POINTER(id + 1));
  return id;
}

static uint32_t pad_for(TracerState *self, GstPad *pad, uint32_t stage) {
  if (gpointer id = g_object_get_qdata(G_OBJECT(pad), self->pad_quark))
    return static_cast<uint32_t>(GPOINTER_TO_UINT(id) - 1);
  std::lock_guard lk(self->lock);
  if (gpointer id = g_object_get_qdata(G_OBJECT(pad), self->pad_quark))
    return static_cast<uint32_t>(GPOINTER_TO_UINT(id) - 1);
  const uint32_t id = self->n_pads.load();
  if (id >= kMaxPads)
    return kIdle;
  auto *ps = new PadState();
  GstElement *el = element_of(pad);
  ps->name = std::string(el ? GST_OBJECT_NAME(el) : "?") + ":" + GST_OBJECT_NAME(pad);
  ps->stage = stage;
  self->pads[id].store(ps);
  self->n_pads.store(id + 1);
  g_object_set_qdata(G_OBJECT(pad), self->pad_quark, GUINT_TO_POINTER(id + 1));
  return id;
}

// A streaming thread hands its ledger back when it exits, so threads that come and go
// (task pools, dynamic pipelines) reuse ledgers instead of adding new ones: memory stays
// bounded by the number of threads alive at once. The stat shards stay with the ledger
// (they add up per stage whoever wrote them); a reused ledger starts with an empty stack.
struct ThreadExit {
  std::array<TracerState *, kMaxInstances> tracers{};
  ~ThreadExit();
};
static thread_local ThreadExit tls_exit;

static ThreadState *thread_state(TracerState *self) {
  if (ThreadState *known = tls_states[self->slot])
    return known;
  ThreadState *ts = nullptr;
  {
    std::lock_guard lk(self->lock);
    if (!self->idle_threads.empty()) {
      ts = self->idle_threads.back();
      self->idle_threads.pop_back();
    }
  }
  if (ts) {
    ts->ledger.reset();
    ts->tracked_depth = 0;
  } else {
    ts = new ThreadState();
    if (!self->params.trace_file.empty())
      ts->trace.resize(kTraceEventsPerThread);
    std::lock_guard lk(self->lock);
    ts->tid = self->threads.size() + 1;
    self->threads.push_back(ts);
  }
  tls_states[self->slot] = ts;
  tls_exit.tracers[self->slot] = self;
  return ts;
}

ThreadExit::~ThreadExit() {
  for (size_t slot = 0; slot < kMaxInstances; ++slot) {
    if (!tracers[slot] || !tls_states[slot])
      continue;
    std::lock_guard lk(tracers[slot]->lock);
    tracers[slot]->idle_threads.push_back(tls_states[slot]);
  }
}

static StageShard *shard(TracerState *self, ThreadState *ts, uint32_t stage) {
  if (stage < ts->shards.size() && ts->shards[stage])
    return ts->shards[stage];
  if (ts->shards.size() <= stage)
    ts->shards.resize(stage + 1, nullptr); // once per new stage in this thread
  auto *sh = new StageShard();
  Stage *st = self->stages[stage].load();
  std::lock_guard lk(st->shards_lock);
  st->shards.push_back(sh);
  ts->shards[stage] = sh;
  return sh;
}

std::vector<StageInfo> stage_infos(TracerState *self) {
  std::vector<StageInfo> out;
  const uint32_t n = self->n_stages.load();
  for (uint32_t i = 0; i < n; ++i) {
    Stage *st = self->stages[i].load();
    out.push_back({st->name, st->queue_like || st->sink});
  }
  return out;
}

static size_t pad_index(GstPad *pad) {
  const char *name = GST_OBJECT_NAME(pad);
  const char *us = std::strrchr(name, '_');
  return us ? static_cast<size_t>(std::strtoul(us + 1, nullptr, 10)) % 4 : 0;
}
// ---- hooks --------------------------------------------------------------------------------

static void on_gap(TracerState *self, ThreadState *ts, PadState *ps, int64_t gap, int64_t now) {
  ps->gaps.fetch_add(1, std::memory_order_relaxed);
  if (!ts->ledger.claim_gap(now - gap, now))
    return; // the same stall, seen again at another pad of this thread
  const Attribution a = ts->ledger.attribute(now - gap, now);
  const auto infos = stage_infos(self);
  const std::string line = format_gap_line(ps->name, gap, a, infos);
  g_printerr("stagelatency: %s\n", line.c_str());
  self->file.write(gap_event(hook_seconds(self, now), ps->name, gap, a, infos));
  gst_tracer_record_log(record_gap, ps->name.c_str(), static_cast<guint64>(gap),
                        static_cast<guint64>(a.idle_ns), line.c_str());
}

static void on_telemetry(TracerState *self, ThreadState *ts, Stage *st, int64_t gap, int64_t now) {
  if (st->telemetry_done.load(std::memory_order_relaxed) >= self->params.telemetry_frames)
    return; // done: no read-modify-write on every later buffer
  const uint32_t frame = st->telemetry_done.fetch_add(1, std::memory_order_relaxed);
  if (frame >= self->params.telemetry_frames)
    return;
  const Attribution a = ts->ledger.attribute(now - gap, now);
  const std::string line = format_telemetry_line(frame + 1, st->name, gap, a, stage_infos(self));
  g_printerr("stagelatency: %s\n", line.c_str());
  self->file.write(telemetry_event(line));
}

static PadLink *build_link(TracerState *self, GstPad *pad, GstPad *peer) {
  auto *link = static_cast<PadLink *>(g_object_get_qdata(G_OBJECT(pad), self->link_quark));
  if (!link) {
    link = new PadLink();
    g_object_set_qdata_full(G_OBJECT(pad), self->link_quark, link,
                            [](gpointer l) { delete static_cast<PadLink *>(l); });
  }
  *link = PadLink{};
  link->peer = peer;
  GstElement *receiver = peer ? element_of(peer) : nullptr;
  if (!receiver || GST_IS_BIN(receiver))
    return link; // bins: the push continues through their ghost pads and is counted there
  link->receiver = stage_for(self, receiver);
  if (link->receiver == kIdle)
    return link;
  GstElement *pusher = element_of(pad);
  link->pusher = pusher ? stage_for(self, pusher) : kIdle;
  const uint32_t padid = pad_for(self, peer, link->receiver);
  link->receiving = padid == kIdle ? nullptr : self->pads[padid].load();
  link->push_fifo = pad_index(pad);
  link->enter_fifo = pad_index(peer);
  link->tracked = true;
  return link;
}

static void push_pre(TracerState *self, GstClockTime ts_hook, GstPad *pad, GstClockTime pts) {
  if (G_UNLIKELY(self->hook_offset.load(std::memory_order_relaxed) == INT64_MIN)) {
    int64_t unset = INT64_MIN; // first thing, so the offset is as exact as it can be
    self->hook_offset.compare_exchange_strong(unset, mono_ns() - static_cast<int64_t>(ts_hook));
  }
  ThreadState *ts = thread_state(self);
  GstPad *peer = GST_PAD_PEER(pad);
  auto *link = static_cast<PadLink *>(g_object_get_qdata(G_OBJECT(pad), self->link_quark));
  if (!link || link->peer != peer)
    link = build_link(self, pad, peer);
  const bool tracked = link->tracked && ts->tracked_depth < ts->tracked.size();
  if (ts->tracked_depth < ts->tracked.size())
    ts->tracked[ts->tracked_depth] = tracked;
  ++ts->tracked_depth;
  if (!tracked)
    return;
  const int64_t now = static_cast<int64_t>(ts_hook);
  ts->ledger.push_start(link->pusher, link->receiver, now);

  Stage *rst = self->stages[link->receiver].load(std::memory_order_relaxed);
  if (rst->first_arrival.load(std::memory_order_relaxed) < 0)
    rst->first_arrival.store(now, std::memory_order_relaxed);
  rst->last_arrival.store(now, std::memory_order_relaxed);
  if (rst->queue_like)
    rst->fifos[link->enter_fifo].enter(pts, now);
  if (link->pusher != kIdle) {
    Stage *pst = self->stages[link->pusher].load(std::memory_order_relaxed);
    if (pst->queue_like) {
      const int64_t residence = pst->fifos[link->push_fifo].leave(pts, now);
      if (residence >= 0)
        shard(self, ts, link->pusher)->residence.record(static_cast<uint64_t>(residence));
    }
  }
  PadState *ps = link->receiving;
  if (!ps)
    return;
  const int64_t gap = ps->clock.arrive(now);
  if (gap > 0 && rst->reported) {
    if (gap > static_cast<int64_t>(self->params.gap_ms * 1e6))
      on_gap(self, ts, ps, gap, now);
    if (rst->sink && self->params.telemetry_frames > 0)
      on_telemetry(self, ts, rst, gap, now);
  }
}

static void push_post(TracerState *self, GstClockTime ts_hook) {
  ThreadState *ts = tls_states[self->slot];
  if (!ts || ts->tracked_depth == 0)
    return; // the push started before the tracer saw this thread
  --ts->tracked_depth;
  if (ts->tracked_depth >= ts->tracked.size() || !ts->tracked[ts->tracked_depth])
    return;
  const int64_t now = static_cast<int64_t>(ts_hook);
  const ThreadLedger::Closed c = ts->ledger.push_end(now);
  if (!c.valid || c.stage == kIdle)
    return;
  shard(self, ts, c.stage)->exclusive.record(static_cast<uint64_t>(c.exclusive_ns));
  if (!ts->trace.empty()) {
    const size_t n = ts->trace_count.load(std::memory_order_relaxed);
    if (n < ts->trace.size()) {
      ts->trace[n] = TraceEvent{c.stage, now - c.inclusive_ns, c.inclusive_ns};
      ts->trace_count.store(n + 1, std::memory_order_release);
    }
  }
  const double ms = c.exclusive_ns / 1e6;
  if (ms <= self->params.slow_ms)
    return;
  Stage *st = self->stages[c.stage].load(std::memory_order_relaxed);
  if (st->queue_like || st->sink || !st->reported)
    return;
  const int64_t last = st->last_warn.load(std::memory_order_relaxed);
  if (last >= 0 && now - last < kWarnEveryNs) {
    st->suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  st->last_warn.store(now, std::memory_order_relaxed);
  const bool critical = ms > self->params.critical_ms;
  const uint32_t suppressed = st->suppressed.exchange(0, std::memory_order_relaxed);
  g_printerr("stagelatency: %s %s %.1f ms (%s-ms %.0f)%s\n", critical ? "CRITICAL" : "SLOW",
             st->name.c_str(), ms, critical ? "critical" : "slow",
             critical ? self->params.critical_ms : self->params.slow_ms,
             suppressed ? (" +" + std::to_string(suppressed) + " more in the last second").c_str()
                        : "");
  self->file.write(slow_event(hook_seconds(self, now), st->name, ms, critical));
}

static void hook_push_pre(GObject *tracer, GstClockTime ts, GstPad *pad, GstBuffer *buffer) {
  guarded("pad-push-pre", [&] { push_pre(state_of(tracer), ts, pad, GST_BUFFER_PTS(buffer)); });
}
static void hook_push_list_pre(GObject *tracer, GstClockTime ts, GstPad *pad, GstBufferList *list) {
  GstBuffer *first = gst_buffer_list_length(list) ? gst_buffer_list_get(list, 0) : nullptr;
  guarded("pad-push-list-pre", [&] {
    push_pre(state_of(tracer), ts, pad, first ? GST_BUFFER_PTS(first) : GST_CLOCK_TIME_NONE);
  });
}
static void hook_push_post(GObject *tracer, GstClockTime ts, GstPad *, GstFlowReturn) {
  guarded("pad-push-post", [&] { push_post(state_of(tracer), ts); });
}
static void hook_state_pre(GObject *tracer, GstClockTime, GstElement *element,
                           GstStateChange transition) {
  // A dropqueue resets its stats on PAUSED->READY: keep its last numbers.
  if (transition != GST_STATE_CHANGE_PAUSED_TO_READY)
    return;
  TracerState *self = state_of(tracer);
  gpointer id = g_object_get_qdata(G_OBJECT(element), self->stage_quark);
  if (!id)
    return;
  Stage *st = self->stages[GPOINTER_TO_UINT(id) - 1].load();
  if (!st->dropqueue)
    return;
  GstStructure *stats = nullptr;
  g_object_get(element, "stats", &stats, nullptr);
  guarded("element-change-state-pre", [&] {
    std::lock_guard lk(st->dq_lock); // std::system_error
    if (st->dropqueue_stats)
      gst_structure_free(st->dropqueue_stats);
    st->dropqueue_stats = std::exchange(stats, nullptr);
  });
  if (stats)
    gst_structure_free(stats);
}

static void hook_state_post(GObject *tracer, GstClockTime, GstElement *element,
                            GstStateChange transition, GstStateChangeReturn) {
  if (transition == GST_STATE_CHANGE_READY_TO_NULL && GST_IS_PIPELINE(element) &&
      !GST_OBJECT_PARENT(element)) {
    TracerState *self = state_of(tracer);
    guarded("final summary", [self] { final_summary(self); });
    self->final_done = true;
  }
}

void register_hooks(GstTracer *tracer) {
  gst_tracing_register_hook(tracer, "pad-push-pre", G_CALLBACK(hook_push_pre));
  gst_tracing_register_hook(tracer, "pad-push-post", G_CALLBACK(hook_push_post));
  gst_tracing_register_hook(tracer, "pad-push-list-pre", G_CALLBACK(hook_push_list_pre));
  gst_tracing_register_hook(tracer, "pad-push-list-post", G_CALLBACK(hook_push_post));
  gst_tracing_register_hook(tracer, "element-change-state-pre", G_CALLBACK(hook_state_pre));
  gst_tracing_register_hook(tracer, "element-change-state-post", G_CALLBACK(hook_state_post));
}

} // namespace keepup::stagelatency::tracer
