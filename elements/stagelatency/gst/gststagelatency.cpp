// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:tracer-stagelatency
 * @title: stagelatency
 *
 * Where every millisecond and every gap went, per element, with no lock shared between
 * streaming threads and no allocation or I/O per buffer.
 *
 *   GST_TRACERS="stagelatency(slow-ms=50,gap-ms=1000,interval=5,file=run.jsonl)" gst-launch-1.0 ...
 *
 * Measures, from the pad-push hooks:
 * - exclusive ("self") processing time per element per buffer: time in its chain minus the
 *   pushes it made downstream meanwhile, right for elements that output a different number
 *   of buffers than they take (encoders with delay, muxers, decoders) and for several pads;
 * - residence time in queue-like elements (queue, queue2, multiqueue, dropqueue): from
 *   entering at the sink pad to leaving at the src pad, matched by timestamp so drops do not
 *   skew it. Time a queue or a sink spends in its chain is waiting ("blocked"), reported
 *   apart from processing and never as SLOW;
 * - gaps between consecutive buffers at every receiving pad; a gap over gap-ms logs a GAP
 *   line that splits the gap into what the feeding thread did: processing per element,
 *   blocked in pushes into full queues or syncing sinks, and idle upstream (in its source
 *   or loop function: nothing arrived);
 * - process RSS every interval (every second when a memory limit is set) and its growth.
 *
 * Parameters: slow-ms (50), critical-ms (100), gap-ms (1000), interval (s, 0 = summary only
 * at the end), filter (GRegex on element names to report), file (JSON lines), trace-file
 * (Chrome trace-event JSON for Perfetto / chrome://tracing), memory-limit-mb,
 * memory-growth-mb-per-min, telemetry-frames (per-frame breakdown for the first N buffers
 * reaching each sink). Unknown keys, and values a known key cannot take (numbers are strict
 * decimal from 0 to 1e9: "abc", "0x10", "1,5", "-1" are refused), are reported once on stderr;
 * a bad value keeps the default. The string is read by core/tracer_params (fuzzed as
 * tracer_params): a syntax error (unclosed quote, a field without '=') applies nothing.
 *
 * Several instances in one process (up to four; GST_TRACERS="stagelatency(..);stagelatency(..)")
 * each keep their own stages, pads and per-thread ledgers (qdata keys and thread-local slots
 * per instance); a fifth is refused with a line on stderr.
 *
 * Output: SLOW / CRITICAL / GAP / MEMORY / TELEMETRY lines on stderr; an aligned summary
 * table (slowest stage first) at every interval and when a pipeline goes to NULL (or at
 * exit); the same data as JSON lines in `file`; GstTracerRecords stagelatency-element,
 * stagelatency-gap and stagelatency-summary (GST_DEBUG=GST_TRACER:7); an action signal
 * `get-stats` returning a GstStructure snapshot (find the tracer with
 * gst_tracing_get_active_tracers()).
 */
#include "gststagelatency.hpp"

#include "callback_guard.hpp"
#include "process_stats.hpp"
#include "stage_profiler.hpp"
#include "tracer_params.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sl = keepup::stagelatency;

GST_DEBUG_CATEGORY_STATIC(stagelatency_debug);
#define GST_CAT_DEFAULT stagelatency_debug

static GstTracerRecord *record_element, *record_gap, *record_summary;

namespace {

constexpr size_t kMaxStages = 4096;
constexpr size_t kMaxPads = 8192;
constexpr size_t kTraceEventsPerThread = 1 << 18;
constexpr int64_t kWarnEveryNs = 1'000'000'000;
// Tracer instances per process (GST_TRACERS="stagelatency(...);stagelatency(...)"): each has
// its own slot for per-thread ledgers and its own qdata keys on elements and pads.
constexpr size_t kMaxInstances = 4;

struct StageShard { // one thread's numbers for one stage: single writer
  sl::Histogram exclusive;
  sl::Histogram residence;
};

struct Stage {
  std::string name, factory;
  bool queue_like = false, sink = false, reported = true;
  std::atomic<int64_t> first_arrival{-1}, last_arrival{-1};
  std::atomic<int64_t> last_warn{-1};
  std::atomic<uint32_t> suppressed{0};
  std::atomic<uint32_t> telemetry_done{0};
  std::array<sl::ResidenceFifo, 4> fifos; // queue-like: one per sink/src pad pair (multiqueue)
  std::mutex shards_lock;                 // taken when a thread first meets this stage
  std::vector<StageShard *> shards;
  std::mutex dq_lock;
  GstStructure *dropqueue_stats = nullptr; // last snapshot of a dropqueue's stats
  GWeakRef element;                        // dropqueues only: read by the timer thread
};

struct PadState {
  std::string name; // element:pad
  uint32_t stage;
  sl::PadClock clock;
  std::atomic<uint64_t> gaps{0};
};

// What a push from one src pad means, cached on that pad (one qdata lookup per push),
// rebuilt when the pad is relinked.
struct PadLink {
  GstPad *peer = nullptr; // identity of the link this was built for
  bool tracked = false;   // false: bins (counted at their ghost pads), pads without elements
  uint32_t pusher = sl::kIdle, receiver = sl::kIdle;
  PadState *receiving = nullptr;
  size_t push_fifo = 0, enter_fifo = 0; // residence FIFOs (queue-like pusher/receiver)
};

struct TraceEvent {
  uint32_t stage;
  int64_t start, dur;
};

struct ThreadState {
  sl::ThreadLedger ledger;
  std::array<bool, sl::ThreadLedger::kMaxDepth * 2> tracked{}; // per nested push: counted?
  size_t tracked_depth = 0;
  std::vector<StageShard *> shards; // by stage id
  std::vector<TraceEvent> trace;    // reserved up front when trace-file is set
  std::atomic<size_t> trace_count{0};
  uint64_t tid = 0;
};

const char *const kQueueFactories[] = {"queue", "queue2", "multiqueue", "dropqueue"};

} // namespace

struct TracerState {
  size_t slot = kMaxInstances; // kMaxInstances: refused (too many instances), no hooks
  GQuark stage_quark = 0, pad_quark = 0, link_quark = 0; // this instance's qdata keys
  sl::Params params;
  GRegex *filter = nullptr;
  std::mutex lock; // stage/pad creation, thread registration, output files
  std::array<std::atomic<Stage *>, kMaxStages> stages{};
  std::atomic<uint32_t> n_stages{0};
  std::array<std::atomic<PadState *>, kMaxPads> pads{};
  std::atomic<uint32_t> n_pads{0};
  std::vector<ThreadState *> threads;      // every ledger ever made
  std::vector<ThreadState *> idle_threads; // ledgers of threads that exited, for reuse
  FILE *file = nullptr;
  int64_t start_ns = 0; // gst_util_get_timestamp() when the tracer started
  // Hook timestamps count from GStreamer's trace start, not from gst_util_get_timestamp()'s
  // origin: this offset (taken at the first hook) turns them into the same time base.
  std::atomic<int64_t> hook_offset{INT64_MIN};
  sl::RssTrend rss; // timer thread only
  bool memory_warned = false, growth_warned = false;
  std::thread timer;
  std::mutex timer_lock;
  std::condition_variable timer_cv;
  bool stopping = false;
  std::atomic<bool> final_done{false};
  bool closed = false;
};

struct _GstStageLatencyTracer {
  GstTracer parent;
  TracerState *state;
};

G_DEFINE_TYPE(GstStageLatencyTracer, gst_stage_latency_tracer, GST_TYPE_TRACER)

// initial-exec: a plain %fs-relative load instead of a __tls_get_addr call per push.
static thread_local std::array<ThreadState *, kMaxInstances> tls_states
    __attribute__((tls_model("initial-exec"))) = {};
static std::atomic<size_t> next_slot{0};
static std::array<std::atomic<TracerState *>, kMaxInstances> live_tracers{}; // exit summaries

// ---- helpers ------------------------------------------------------------------------------

static int64_t mono_ns() {
  return static_cast<int64_t>(gst_util_get_timestamp());
}

// No exception crosses into GStreamer from a hook, a signal or the timer thread: a failure
// (allocation, a string operation) is logged and the buffer goes on unmeasured.
template <typename F> static void guarded(const char *where, F &&body) noexcept {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, nullptr, where, std::forward<F>(body));
}

static std::string json_escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += c;
      }
    }
  }
  return out;
}

// Seconds since the tracer started, for a hook timestamp.
static double hook_seconds(TracerState *self, int64_t hook_ns) {
  return static_cast<double>(hook_ns + self->hook_offset.load(std::memory_order_relaxed) -
                             self->start_ns) /
         1e9;
}

static void write_json_line(TracerState *self, const std::string &line) {
  std::lock_guard lk(self->lock);
  if (self->file) {
    std::fputs(line.c_str(), self->file);
    std::fputc('\n', self->file);
    std::fflush(self->file);
  }
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
    return sl::kIdle;
  auto *st = new Stage();
  st->name = GST_OBJECT_NAME(element);
  if (GstElementFactory *f = gst_element_get_factory(element))
    st->factory = GST_OBJECT_NAME(f);
  for (const char *q : kQueueFactories)
    st->queue_like |= st->factory == q;
  st->sink = GST_OBJECT_FLAG_IS_SET(element, GST_ELEMENT_FLAG_SINK);
  g_weak_ref_init(&st->element, st->factory == "dropqueue" ? element : nullptr);
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
    return sl::kIdle;
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

static std::vector<sl::StageInfo> stage_infos(TracerState *self) {
  std::vector<sl::StageInfo> out;
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
  const sl::Attribution a = ts->ledger.attribute(now - gap, now);
  const auto infos = stage_infos(self);
  const std::string line = sl::format_gap_line(ps->name, gap, a, infos);
  g_printerr("stagelatency: %s\n", line.c_str());
  std::string json = "{\"type\":\"gap\",\"t\":" + std::to_string(hook_seconds(self, now)) +
                     ",\"pad\":\"" + json_escape(ps->name) +
                     "\",\"gap_s\":" + std::to_string(gap / 1e9) + ",\"stages\":[";
  for (size_t i = 0; i < a.stages.size(); ++i) {
    const auto &[id, ns] = a.stages[i];
    json += std::string(i ? "," : "") + "{\"element\":\"" + json_escape(infos[id].name) +
            "\",\"kind\":\"" + (infos[id].blocking ? "blocked" : "processing") +
            "\",\"s\":" + std::to_string(ns / 1e9) + "}";
  }
  json += "],\"idle_s\":" + std::to_string(a.idle_ns / 1e9) + ",\"src\":\"" +
          json_escape(a.idle_source < infos.size() ? infos[a.idle_source].name : "") +
          "\",\"complete\":" + (a.complete ? "true" : "false") + "}";
  write_json_line(self, json);
  gst_tracer_record_log(record_gap, ps->name.c_str(), static_cast<guint64>(gap),
                        static_cast<guint64>(a.idle_ns), line.c_str());
}

static void on_telemetry(TracerState *self, ThreadState *ts, Stage *st, int64_t gap, int64_t now) {
  if (st->telemetry_done.load(std::memory_order_relaxed) >= self->params.telemetry_frames)
    return; // done: no read-modify-write on every later buffer
  const uint32_t frame = st->telemetry_done.fetch_add(1, std::memory_order_relaxed);
  if (frame >= self->params.telemetry_frames)
    return;
  const sl::Attribution a = ts->ledger.attribute(now - gap, now);
  const auto infos = stage_infos(self);
  std::string line = "[TELEMETRY] Frame " + std::to_string(frame + 1) + " at " + st->name + ":";
  char buf[96];
  for (const auto &[id, ns] : a.stages) {
    std::snprintf(buf, sizeof buf, " %s=%.1fms", infos[id].name.c_str(), ns / 1e6);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, " idle=%.1fms TOTAL=%.1fms", a.idle_ns / 1e6, gap / 1e6);
  line += buf;
  g_printerr("stagelatency: %s\n", line.c_str());
  write_json_line(self, "{\"type\":\"telemetry\",\"line\":\"" + json_escape(line) + "\"}");
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
  if (link->receiver == sl::kIdle)
    return link;
  GstElement *pusher = element_of(pad);
  link->pusher = pusher ? stage_for(self, pusher) : sl::kIdle;
  const uint32_t padid = pad_for(self, peer, link->receiver);
  link->receiving = padid == sl::kIdle ? nullptr : self->pads[padid].load();
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
  if (link->pusher != sl::kIdle) {
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
  const sl::ThreadLedger::Closed c = ts->ledger.push_end(now);
  if (!c.valid || c.stage == sl::kIdle)
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
  write_json_line(self, std::string("{\"type\":\"") + (critical ? "critical" : "slow") +
                            "\",\"t\":" + std::to_string(hook_seconds(self, now)) +
                            ",\"element\":\"" + json_escape(st->name) +
                            "\",\"ms\":" + std::to_string(ms) + "}");
}

// Hooks are registered by this tracer only: a plain cast, no GType check per push.
static TracerState *state_of(GObject *tracer) {
  return reinterpret_cast<GstStageLatencyTracer *>(tracer)->state;
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

// ---- summaries ----------------------------------------------------------------------------

struct StageSummary {
  Stage *stage;
  sl::Histogram exclusive, residence;
  int64_t max_gap = 0;
  uint64_t gaps = 0;
  double fps = 0;
};

static std::vector<std::unique_ptr<StageSummary>> collect(TracerState *self) {
  std::vector<std::unique_ptr<StageSummary>> out;
  const uint32_t n = self->n_stages.load();
  for (uint32_t i = 0; i < n; ++i) {
    Stage *st = self->stages[i].load();
    if (!st->reported)
      continue;
    auto s = std::make_unique<StageSummary>();
    s->stage = st;
    {
      std::lock_guard lk(st->shards_lock);
      for (StageShard *sh : st->shards) {
        sh->exclusive.merge_into(s->exclusive);
        sh->residence.merge_into(s->residence);
      }
    }
    if (s->exclusive.count() == 0)
      continue;
    const uint32_t np = self->n_pads.load();
    for (uint32_t p = 0; p < np; ++p) {
      PadState *ps = self->pads[p].load();
      if (ps->stage == i) {
        s->max_gap = std::max(s->max_gap, ps->clock.max_gap());
        s->gaps += ps->gaps.load(std::memory_order_relaxed);
      }
    }
    const int64_t span = st->last_arrival.load() - st->first_arrival.load();
    s->fps = span > 0 ? (static_cast<double>(s->exclusive.count()) - 1) * 1e9 / span : 0;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const auto &a, const auto &b) { return a->exclusive.sum() > b->exclusive.sum(); });
  return out;
}

static uint64_t dq_field(Stage *st, const char *field) {
  std::lock_guard lk(st->dq_lock);
  guint64 v = 0;
  if (st->dropqueue_stats)
    gst_structure_get_uint64(st->dropqueue_stats, field, &v);
  return v;
}

static void summary(TracerState *self, bool final) {
  const int64_t now = mono_ns();
  const double wall_s = (now - self->start_ns) / 1e9;
  auto stages = collect(self);
  GString *table = g_string_new(nullptr);
  g_string_append_printf(table,
                         "stagelatency %s summary after %.1f s (RSS %.0f MB, peak %.0f MB, "
                         "growth %.1f MB/min)\n",
                         final ? "final" : "periodic", wall_s, self->rss.last_mb(),
                         self->rss.peak_mb(), self->rss.growth_mb_per_min());
  g_string_append_printf(table, "  %-24s %8s %7s %8s %8s %8s %8s %8s %6s %9s %9s %8s  %s\n",
                         "stage", "buffers", "fps", "mean ms", "p50 ms", "p95 ms", "p99 ms",
                         "max ms", "share", "res p50", "res p95", "max gap", "notes");
  std::string json = "{\"type\":\"summary\",\"final\":" + std::string(final ? "true" : "false") +
                     ",\"t\":" + std::to_string(wall_s) +
                     ",\"rss_mb\":" + std::to_string(self->rss.last_mb()) + ",\"stages\":[";
  bool first = true;
  for (const auto &s : stages) {
    const sl::Histogram &h = s->exclusive;
    const double share = wall_s > 0 ? h.sum() / 1e9 / wall_s : 0;
    std::string notes = s->stage->queue_like ? "queue (time = waiting)"
                        : s->stage->sink     ? "sink (time = waiting/sync)"
                                             : "";
    if (s->stage->factory == "dropqueue") {
      char buf[128];
      std::snprintf(buf, sizeof buf, "; in %llu out %llu dropped %llu",
                    static_cast<unsigned long long>(dq_field(s->stage, "in")),
                    static_cast<unsigned long long>(dq_field(s->stage, "out")),
                    static_cast<unsigned long long>(dq_field(s->stage, "dropped")));
      notes += buf;
    }
    const bool q = s->stage->queue_like;
    char res50[16] = "-", res95[16] = "-";
    if (q) {
      std::snprintf(res50, sizeof res50, "%.2f", s->residence.percentile(0.5) / 1e6);
      std::snprintf(res95, sizeof res95, "%.2f", s->residence.percentile(0.95) / 1e6);
    }
    g_string_append_printf(
        table, "  %-24s %8llu %7.1f %8.2f %8.2f %8.2f %8.2f %8.2f %5.1f%% %9s %9s %8.1f  %s\n",
        s->stage->name.c_str(), static_cast<unsigned long long>(h.count()), s->fps,
        h.sum() / 1e6 / h.count(), h.percentile(0.5) / 1e6, h.percentile(0.95) / 1e6,
        h.percentile(0.99) / 1e6, h.max() / 1e6, share * 100, res50, res95, s->max_gap / 1e6,
        notes.c_str());
    json += std::string(first ? "" : ",") + "{\"element\":\"" + json_escape(s->stage->name) +
            "\",\"factory\":\"" + json_escape(s->stage->factory) + "\",\"kind\":\"" +
            (q                ? "queue"
             : s->stage->sink ? "sink"
                              : "processing") +
            "\",\"buffers\":" + std::to_string(h.count()) + ",\"fps\":" + std::to_string(s->fps) +
            ",\"mean_ms\":" + std::to_string(h.sum() / 1e6 / h.count()) +
            ",\"p50_ms\":" + std::to_string(h.percentile(0.5) / 1e6) +
            ",\"p95_ms\":" + std::to_string(h.percentile(0.95) / 1e6) +
            ",\"p99_ms\":" + std::to_string(h.percentile(0.99) / 1e6) +
            ",\"max_ms\":" + std::to_string(h.max() / 1e6) +
            ",\"total_s\":" + std::to_string(h.sum() / 1e9) +
            ",\"share\":" + std::to_string(share) +
            ",\"max_gap_ms\":" + std::to_string(s->max_gap / 1e6) +
            ",\"gaps\":" + std::to_string(s->gaps);
    if (q)
      json += ",\"residence_p50_ms\":" + std::to_string(s->residence.percentile(0.5) / 1e6) +
              ",\"residence_p95_ms\":" + std::to_string(s->residence.percentile(0.95) / 1e6);
    if (s->stage->factory == "dropqueue")
      json += ",\"dropqueue\":{\"in\":" + std::to_string(dq_field(s->stage, "in")) +
              ",\"out\":" + std::to_string(dq_field(s->stage, "out")) +
              ",\"dropped\":" + std::to_string(dq_field(s->stage, "dropped")) + "}";
    json += "}";
    first = false;
    gst_tracer_record_log(record_element, s->stage->name.c_str(), static_cast<guint64>(h.count()),
                          static_cast<guint64>(h.sum()), static_cast<guint64>(h.percentile(0.5)),
                          static_cast<guint64>(h.percentile(0.95)),
                          static_cast<guint64>(h.percentile(0.99)), static_cast<guint64>(h.max()));
  }
  json += "]}";
  g_printerr("%s", table->str);
  g_string_free(table, TRUE);
  write_json_line(self, json);
  gst_tracer_record_log(record_summary, final, wall_s, static_cast<guint>(stages.size()));
}

static void write_trace_file(TracerState *self) {
  if (self->params.trace_file.empty())
    return;
  FILE *f = std::fopen(self->params.trace_file.c_str(), "w");
  if (!f) {
    g_printerr("stagelatency: cannot write trace-file %s: %s\n", self->params.trace_file.c_str(),
               std::strerror(errno));
    return;
  }
  const auto infos = stage_infos(self);
  std::fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", f);
  bool first = true;
  std::vector<ThreadState *> threads;
  {
    std::lock_guard lk(self->lock);
    threads = self->threads;
  }
  for (ThreadState *ts : threads) {
    const size_t n = ts->trace_count.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      const TraceEvent &e = ts->trace[i];
      std::fprintf(f,
                   "%s{\"name\":\"%s\",\"cat\":\"stage\",\"ph\":\"X\",\"pid\":1,\"tid\":%llu,"
                   "\"ts\":%.3f,\"dur\":%.3f}",
                   first ? "" : ",\n", json_escape(infos[e.stage].name).c_str(),
                   static_cast<unsigned long long>(ts->tid), hook_seconds(self, e.start) * 1e6,
                   e.dur / 1e3);
      first = false;
    }
  }
  std::fputs("]}\n", f);
  std::fclose(f);
}

static void final_summary(TracerState *self) {
  summary(self, true);
  write_trace_file(self);
}

static void hook_state_pre(GObject *tracer, GstClockTime, GstElement *element,
                           GstStateChange transition) {
  // A dropqueue resets its stats on PAUSED->READY: keep its last numbers.
  if (transition != GST_STATE_CHANGE_PAUSED_TO_READY)
    return;
  GstElementFactory *f = gst_element_get_factory(element);
  if (!f || std::strcmp(GST_OBJECT_NAME(f), "dropqueue") != 0)
    return;
  TracerState *self = GST_STAGE_LATENCY_TRACER(tracer)->state;
  gpointer id = g_object_get_qdata(G_OBJECT(element), self->stage_quark);
  if (!id)
    return;
  Stage *st = self->stages[GPOINTER_TO_UINT(id) - 1].load();
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
    TracerState *self = GST_STAGE_LATENCY_TRACER(tracer)->state;
    guarded("final summary", [self] { final_summary(self); });
    self->final_done = true;
  }
}

// Every dropqueue's stats into its stage (and the file, for the report's drop timeline).
static void sample_dropqueues(TracerState *self, int64_t now) {
  const uint32_t n = self->n_stages.load();
  for (uint32_t i = 0; i < n; ++i) {
    Stage *st = self->stages[i].load();
    GObject *el = static_cast<GObject *>(g_weak_ref_get(&st->element));
    if (!el)
      continue;
    GstState state = GST_STATE_NULL;
    GST_OBJECT_LOCK(el);
    state = GST_STATE(el);
    GST_OBJECT_UNLOCK(el);
    if (state < GST_STATE_PAUSED) { // stopped: its stats read zero, keep the last ones
      g_object_unref(el);
      continue;
    }
    GstStructure *stats = nullptr;
    g_object_get(el, "stats", &stats, nullptr);
    g_object_unref(el);
    if (!stats)
      continue;
    guint64 in = 0, out = 0, dropped = 0;
    gst_structure_get_uint64(stats, "in", &in);
    gst_structure_get_uint64(stats, "out", &out);
    gst_structure_get_uint64(stats, "dropped", &dropped);
    write_json_line(self,
                    "{\"type\":\"drops\",\"t\":" + std::to_string((now - self->start_ns) / 1e9) +
                        ",\"element\":\"" + json_escape(st->name) +
                        "\",\"in\":" + std::to_string(in) + ",\"out\":" + std::to_string(out) +
                        ",\"dropped\":" + std::to_string(dropped) + "}");
    std::lock_guard lk(st->dq_lock);
    if (st->dropqueue_stats)
      gst_structure_free(st->dropqueue_stats);
    st->dropqueue_stats = stats;
  }
}

// Memory and dropqueue sampling and periodic summaries, on a thread of the tracer's own:
// every second when there is a file or a memory limit to watch, else every interval.
static void timer_loop(TracerState *self) {
  const bool memory = self->params.memory_limit_mb > 0 || self->params.memory_growth_mb_per_min > 0;
  const double period_s = memory || self->file ? 1.0 : self->params.interval_s;
  if (period_s <= 0)
    return;
  int64_t next_summary = self->start_ns + static_cast<int64_t>(self->params.interval_s * 1e9);
  std::unique_lock lk(self->timer_lock);
  while (!self->timer_cv.wait_for(lk, std::chrono::duration<double>(period_s),
                                  [self] { return self->stopping; })) {
    lk.unlock();
    const int64_t now = mono_ns();
    const double mb = keepup::process_rss_mb();
    self->rss.add(now, mb);
    const double growth = self->rss.growth_mb_per_min();
    sample_dropqueues(self, now);
    write_json_line(self,
                    "{\"type\":\"memory\",\"t\":" + std::to_string((now - self->start_ns) / 1e9) +
                        ",\"rss_mb\":" + std::to_string(mb) +
                        ",\"growth_mb_per_min\":" + std::to_string(growth) + "}");
    if (self->params.memory_limit_mb > 0 && mb > self->params.memory_limit_mb &&
        !self->memory_warned) {
      self->memory_warned = true;
      g_printerr("stagelatency: MEMORY RSS %.0f MB is over memory-limit-mb %.0f\n", mb,
                 self->params.memory_limit_mb);
      write_json_line(self, "{\"type\":\"memory-warning\",\"reason\":\"limit\",\"t\":" +
                                std::to_string((now - self->start_ns) / 1e9) +
                                ",\"rss_mb\":" + std::to_string(mb) + "}");
    }
    if (self->params.memory_growth_mb_per_min > 0 &&
        growth > self->params.memory_growth_mb_per_min && !self->growth_warned) {
      self->growth_warned = true;
      g_printerr("stagelatency: MEMORY RSS grows %.1f MB/min, over memory-growth-mb-per-min "
                 "%.1f (now %.0f MB)\n",
                 growth, self->params.memory_growth_mb_per_min, mb);
      write_json_line(self, "{\"type\":\"memory-warning\",\"reason\":\"growth\",\"t\":" +
                                std::to_string((now - self->start_ns) / 1e9) +
                                ",\"rss_mb\":" + std::to_string(mb) +
                                ",\"growth_mb_per_min\":" + std::to_string(growth) + "}");
    }
    if (self->params.interval_s > 0 && now >= next_summary) {
      summary(self, false);
      next_summary += static_cast<int64_t>(self->params.interval_s * 1e9);
    }
    lk.lock();
  }
}

// Stops the timer, prints the final summary if no pipeline went to NULL, closes the file.
static void shutdown(TracerState *self) {
  {
    std::lock_guard lk(self->timer_lock);
    if (self->closed)
      return;
    self->closed = true;
    self->stopping = true;
  }
  self->timer_cv.notify_all();
  if (self->timer.joinable())
    self->timer.join();
  if (!self->final_done && self->n_stages.load() > 0)
    final_summary(self); // the pipeline never went to NULL
  std::lock_guard lk(self->lock);
  if (self->file) {
    std::fclose(self->file);
    self->file = nullptr;
  }
}

static void at_exit() {
  for (auto &tracer : live_tracers)
    if (TracerState *self = tracer.load())
      guarded("exit summary", [self] { shutdown(self); });
}

// ---- get-stats ----------------------------------------------------------------------------

static GstStructure *make_stats(TracerState *self) {
  GValue list = G_VALUE_INIT;
  g_value_init(&list, GST_TYPE_LIST);
  for (const auto &s : collect(self)) {
    const sl::Histogram &h = s->exclusive;
    GstStructure *st = gst_structure_new(
        "stage", "element", G_TYPE_STRING, s->stage->name.c_str(), "factory", G_TYPE_STRING,
        s->stage->factory.c_str(), "kind", G_TYPE_STRING,
        s->stage->queue_like ? "queue"
        : s->stage->sink     ? "sink"
                             : "processing",
        "buffers", G_TYPE_UINT64, h.count(), "fps", G_TYPE_DOUBLE, s->fps, "total-ns",
        G_TYPE_UINT64, h.sum(), "mean-ns", G_TYPE_UINT64, h.sum() / h.count(), "p50-ns",
        G_TYPE_UINT64, h.percentile(0.5), "p95-ns", G_TYPE_UINT64, h.percentile(0.95), "p99-ns",
        G_TYPE_UINT64, h.percentile(0.99), "max-ns", G_TYPE_UINT64, h.max(), "residence-p50-ns",
        G_TYPE_UINT64, s->residence.percentile(0.5), "residence-p95-ns", G_TYPE_UINT64,
        s->residence.percentile(0.95), "max-gap-ns", G_TYPE_UINT64,
        static_cast<guint64>(s->max_gap), "gaps", G_TYPE_UINT64, s->gaps, nullptr);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&v, st);
    gst_value_list_append_and_take_value(&list, &v);
  }
  GstStructure *out =
      gst_structure_new("stagelatency-stats", "wall-ns", G_TYPE_UINT64,
                        static_cast<guint64>(mono_ns() - self->start_ns), "rss-mb", G_TYPE_DOUBLE,
                        keepup::process_rss_mb(), "peak-rss-mb", G_TYPE_DOUBLE, self->rss.peak_mb(),
                        "growth-mb-per-min", G_TYPE_DOUBLE, self->rss.growth_mb_per_min(), nullptr);
  gst_structure_take_value(out, "stages", &list);
  return out;
}

static GstStructure *gst_stage_latency_tracer_get_stats(GstStageLatencyTracer *tracer) {
  GstStructure *out = nullptr;
  guarded("get-stats", [&] { out = make_stats(tracer->state); });
  return out ? out : gst_structure_new_empty("stagelatency-stats");
}

// ---- GObject ------------------------------------------------------------------------------

// The params string is read by the core (tracer_params.hpp); problems go to stderr once.
static void parse_params(TracerState *self, const gchar *params) {
  if (!params)
    return;
  const sl::ParsedParams parsed = sl::parse_params(params);
  for (const std::string &line : parsed.messages(params))
    g_printerr("stagelatency: %s\n", line.c_str());
  self->params = parsed.params;
}

static void gst_stage_latency_tracer_constructed(GObject *object) {
  TracerState *self = GST_STAGE_LATENCY_TRACER(object)->state;
  G_OBJECT_CLASS(gst_stage_latency_tracer_parent_class)->constructed(object);
  gchar *params = nullptr;
  g_object_get(object, "params", &params, nullptr);
  const size_t slot = next_slot.fetch_add(1);
  if (slot >= kMaxInstances) {
    // Refused, not fatal: the other instances keep working and this one reports nothing.
    g_printerr("stagelatency: at most %zu stagelatency tracers per process; ignoring the one "
               "with parameters '%s'\n",
               kMaxInstances, params ? params : "");
    g_free(params);
    return;
  }
  self->slot = slot;
  const std::string suffix = "-" + std::to_string(slot);
  self->stage_quark = g_quark_from_string(("keepup-stagelatency-stage" + suffix).c_str());
  self->pad_quark = g_quark_from_string(("keepup-stagelatency-pad" + suffix).c_str());
  self->link_quark = g_quark_from_string(("keepup-stagelatency-link" + suffix).c_str());
  guarded("parameters", [self, params] { parse_params(self, params); });
  g_free(params);
  if (!self->params.filter.empty()) {
    GError *err = nullptr;
    self->filter = g_regex_new(self->params.filter.c_str(), G_REGEX_OPTIMIZE,
                               static_cast<GRegexMatchFlags>(0), &err);
    if (!self->filter) {
      g_printerr("stagelatency: bad filter regex '%s': %s; reporting every element\n",
                 self->params.filter.c_str(), err->message);
      g_clear_error(&err);
    }
  }
  if (!self->params.file.empty()) {
    self->file = std::fopen(self->params.file.c_str(), "w");
    if (!self->file)
      g_printerr("stagelatency: cannot write %s: %s\n", self->params.file.c_str(),
                 std::strerror(errno));
  }
  self->start_ns = mono_ns();
  self->rss.add(self->start_ns, keepup::process_rss_mb());

  GstTracer *tracer = GST_TRACER(object);
  gst_tracing_register_hook(tracer, "pad-push-pre", G_CALLBACK(hook_push_pre));
  gst_tracing_register_hook(tracer, "pad-push-post", G_CALLBACK(hook_push_post));
  gst_tracing_register_hook(tracer, "pad-push-list-pre", G_CALLBACK(hook_push_list_pre));
  gst_tracing_register_hook(tracer, "pad-push-list-post", G_CALLBACK(hook_push_post));
  gst_tracing_register_hook(tracer, "element-change-state-pre", G_CALLBACK(hook_state_pre));
  gst_tracing_register_hook(tracer, "element-change-state-post", G_CALLBACK(hook_state_post));
  self->timer = std::thread([self] { guarded("timer", [self] { timer_loop(self); }); });
  live_tracers[slot].store(self);
  if (slot == 0)
    std::atexit(at_exit);
}

static void gst_stage_latency_tracer_init(GstStageLatencyTracer *self) {
  self->state = new TracerState();
}

static void gst_stage_latency_tracer_finalize(GObject *object) {
  TracerState *self = GST_STAGE_LATENCY_TRACER(object)->state;
  guarded("shutdown", [self] { shutdown(self); });
  if (self->slot < kMaxInstances)
    live_tracers[self->slot].store(nullptr);
  if (self->filter)
    g_regex_unref(self->filter);
  // Stages, pads and thread ledgers stay: streaming threads may still hold pointers to them.
  G_OBJECT_CLASS(gst_stage_latency_tracer_parent_class)->finalize(object);
}

static void gst_stage_latency_tracer_class_init(GstStageLatencyTracerClass *klass) {
  G_OBJECT_CLASS(klass)->constructed = gst_stage_latency_tracer_constructed;
  G_OBJECT_CLASS(klass)->finalize = gst_stage_latency_tracer_finalize;

  // A record field: its type, and for the first field what it relates to.
  auto field = [](GType type) {
    return gst_structure_new("value", "type", G_TYPE_GTYPE, type, nullptr);
  };
  auto scoped = [](GType type, GstTracerValueScope scope) {
    return gst_structure_new("value", "type", G_TYPE_GTYPE, type, "related-to",
                             GST_TYPE_TRACER_VALUE_SCOPE, scope, nullptr);
  };
  const GType S = GST_TYPE_STRUCTURE;
  record_element =
      gst_tracer_record_new("stagelatency-element.class", "element", S,
                            scoped(G_TYPE_STRING, GST_TRACER_VALUE_SCOPE_ELEMENT), "buffers", S,
                            field(G_TYPE_UINT64), "total-ns", S, field(G_TYPE_UINT64), "p50-ns", S,
                            field(G_TYPE_UINT64), "p95-ns", S, field(G_TYPE_UINT64), "p99-ns", S,
                            field(G_TYPE_UINT64), "max-ns", S, field(G_TYPE_UINT64), nullptr);
  record_gap = gst_tracer_record_new("stagelatency-gap.class", "pad", S,
                                     scoped(G_TYPE_STRING, GST_TRACER_VALUE_SCOPE_PAD), "gap-ns", S,
                                     field(G_TYPE_UINT64), "idle-ns", S, field(G_TYPE_UINT64),
                                     "attribution", S, field(G_TYPE_STRING), nullptr);
  record_summary =
      gst_tracer_record_new("stagelatency-summary.class", "final", S,
                            scoped(G_TYPE_BOOLEAN, GST_TRACER_VALUE_SCOPE_PROCESS), "wall-s", S,
                            field(G_TYPE_DOUBLE), "stages", S, field(G_TYPE_UINT), nullptr);
  GST_OBJECT_FLAG_SET(record_element, GST_OBJECT_FLAG_MAY_BE_LEAKED);
  GST_OBJECT_FLAG_SET(record_gap, GST_OBJECT_FLAG_MAY_BE_LEAKED);
  GST_OBJECT_FLAG_SET(record_summary, GST_OBJECT_FLAG_MAY_BE_LEAKED);

  g_signal_new_class_handler("get-stats", G_TYPE_FROM_CLASS(klass),
                             static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
                             G_CALLBACK(gst_stage_latency_tracer_get_stats), nullptr, nullptr,
                             nullptr, GST_TYPE_STRUCTURE, 0);
}

gboolean keepup_stagelatency_register(GstPlugin *plugin) {
  GST_DEBUG_CATEGORY_INIT(stagelatency_debug, "stagelatency", 0, "stagelatency tracer");
  return gst_tracer_register(plugin, "stagelatency", GST_TYPE_STAGE_LATENCY_TRACER);
}
