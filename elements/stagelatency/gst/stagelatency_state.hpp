// SPDX-License-Identifier: LGPL-2.1-or-later
// The stagelatency tracer's state, shared by its two halves: stagelatency_hooks.cpp (the
// pad-push and state-change hooks, and the registries of stages, pads and per-thread
// ledgers they fill) and gststagelatency.cpp (the GObject, parameters, summaries, the
// timer thread and the files). Internal to the tracer; not installed.
#pragma once

#include "output_files.hpp"
#include "report.hpp"
#include "stage_profiler.hpp"
#include "tracer_params.hpp"

#include "callback_guard.hpp"
#include "gststagelatency.hpp"

#include <gst/gst.h>

#include <array>
#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

GST_DEBUG_CATEGORY_EXTERN(stagelatency_debug);

namespace keepup::stagelatency::tracer {

inline constexpr size_t kMaxStages = 4096;
inline constexpr size_t kMaxPads = 8192;
inline constexpr size_t kTraceEventsPerThread = 1 << 18;
inline constexpr int64_t kWarnEveryNs = 1'000'000'000;
// Tracer instances per process (GST_TRACERS="stagelatency(...);stagelatency(...)"): each has
// its own slot for per-thread ledgers and its own qdata keys on elements and pads.
inline constexpr size_t kMaxInstances = 4;

struct StageShard { // one thread's numbers for one stage: single writer
  Histogram exclusive;
  Histogram residence;
};

struct Stage {
  std::string name, factory;
  bool queue_like = false, dropqueue = false, sink = false, reported = true;
  std::atomic<int64_t> first_arrival{-1}, last_arrival{-1};
  std::atomic<int64_t> last_warn{-1};
  std::atomic<uint32_t> suppressed{0};
  std::atomic<uint32_t> telemetry_done{0};
  std::array<ResidenceFifo, 4> fifos; // queue-like: one per sink/src pad pair (multiqueue)
  std::mutex shards_lock;             // taken when a thread first meets this stage
  std::vector<StageShard *> shards;
  std::mutex dq_lock;
  GstStructure *dropqueue_stats = nullptr; // last snapshot of a dropqueue's stats
  GWeakRef element;                        // dropqueues only: read by the timer thread

  StageKind kind() const {
    return queue_like ? StageKind::queue : sink ? StageKind::sink : StageKind::processing;
  }
};

struct PadState {
  std::string name; // element:pad
  uint32_t stage;
  PadClock clock;
  std::atomic<uint64_t> gaps{0};
};

// What a push from one src pad means, cached on that pad (one qdata lookup per push),
// rebuilt when the pad is relinked.
struct PadLink {
  GstPad *peer = nullptr; // identity of the link this was built for
  bool tracked = false;   // false: bins (counted at their ghost pads), pads without elements
  uint32_t pusher = kIdle, receiver = kIdle;
  PadState *receiving = nullptr;
  size_t push_fifo = 0, enter_fifo = 0; // residence FIFOs (queue-like pusher/receiver)
};

struct TraceEvent {
  uint32_t stage;
  int64_t start, dur;
};

struct ThreadState {
  ThreadLedger ledger;
  std::array<bool, ThreadLedger::kMaxDepth * 2> tracked{}; // per nested push: counted?
  size_t tracked_depth = 0;
  std::vector<StageShard *> shards; // by stage id
  std::vector<TraceEvent> trace;    // reserved up front when trace-file is set
  std::atomic<size_t> trace_count{0};
  uint64_t tid = 0;
};

struct TracerState {
  size_t slot = kMaxInstances; // kMaxInstances: refused (too many instances), no hooks
  GQuark stage_quark = 0, pad_quark = 0, link_quark = 0; // this instance's qdata keys
  Params params;
  GRegex *filter = nullptr;
  std::mutex lock; // stage/pad creation, thread registration
  std::array<std::atomic<Stage *>, kMaxStages> stages{};
  std::atomic<uint32_t> n_stages{0};
  std::array<std::atomic<PadState *>, kMaxPads> pads{};
  std::atomic<uint32_t> n_pads{0};
  std::vector<ThreadState *> threads;      // every ledger ever made
  std::vector<ThreadState *> idle_threads; // ledgers of threads that exited, for reuse
  JsonLinesFile file;                      // the `file` parameter
  int64_t start_ns = 0;                    // gst_util_get_timestamp() when the tracer started
  // Hook timestamps count from GStreamer's trace start, not from gst_util_get_timestamp()'s
  // origin: this offset (taken at the first hook) turns them into the same time base.
  std::atomic<int64_t> hook_offset{INT64_MIN};
  RssTrend rss; // timer thread only
  bool memory_warned = false, growth_warned = false;
  std::thread timer;
  std::mutex timer_lock;
  std::condition_variable timer_cv;
  bool stopping = false;
  std::atomic<bool> final_done{false};
  bool closed = false;
};

// The GstTracerRecords (made in class_init).
extern GstTracerRecord *record_element, *record_gap, *record_summary;

inline int64_t mono_ns() {
  return static_cast<int64_t>(gst_util_get_timestamp());
}

// Seconds since the tracer started, for a hook timestamp.
inline double hook_seconds(const TracerState *self, int64_t hook_ns) {
  return static_cast<double>(hook_ns + self->hook_offset.load(std::memory_order_relaxed) -
                             self->start_ns) /
         1e9;
}

// stagelatency_hooks.cpp
void register_hooks(GstTracer *tracer);
std::vector<StageInfo> stage_infos(TracerState *self);

// gststagelatency.cpp: the final summary and trace file (a top-level pipeline went to NULL).
void final_summary(TracerState *self);

} // namespace keepup::stagelatency::tracer

struct _GstStageLatencyTracer {
  GstTracer parent;
  keepup::stagelatency::tracer::TracerState *state;
};

namespace keepup::stagelatency::tracer {

// Hooks are registered by this tracer only: a plain cast, no GType check per push (inline:
// it runs twice per buffer per pad).
inline TracerState *state_of(GObject *tracer) {
  return reinterpret_cast<_GstStageLatencyTracer *>(tracer)->state;
}

// No exception crosses into GStreamer from a hook, a signal or the timer thread: a failure
// (allocation, a string operation) is logged and the buffer goes on unmeasured.
template <typename F> void guarded(const char *where, F &&body) noexcept {
  keepup::gstutil::guard_log(stagelatency_debug, nullptr, where, std::forward<F>(body));
}

} // namespace keepup::stagelatency::tracer
