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
 * Layout: stagelatency_hooks.cpp holds the hot path (push hooks, stage/pad/thread
 * registries); this file the GObject, parameters, summaries, timer thread and exit summary;
 * core/report (summary rows, events, JSON and table) and core/output_files (JSON-lines and
 * Chrome trace writers) are plain C++. Every file is written through nlohmann::json, so a
 * comma-decimal locale (gst-launch-1.0 calls setlocale) cannot break it.
 *
 * Output: SLOW / CRITICAL / GAP / MEMORY / TELEMETRY lines on stderr; an aligned summary
 * table (slowest stage first) at every interval and when a pipeline goes to NULL (or at
 * exit); the same data as JSON lines in `file`; GstTracerRecords stagelatency-element,
 * stagelatency-gap and stagelatency-summary (GST_DEBUG=GST_TRACER:7); an action signal
 * `get-stats` returning a GstStructure snapshot (find the tracer with
 * gst_tracing_get_active_tracers()).
 */
#include "gststagelatency.hpp"

#include "process_stats.hpp"
#include "stagelatency_state.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sl = keepup::stagelatency;
using namespace keepup::stagelatency::tracer;

GST_DEBUG_CATEGORY(stagelatency_debug);
#define GST_CAT_DEFAULT stagelatency_debug

namespace keepup::stagelatency::tracer {
GstTracerRecord *record_element, *record_gap, *record_summary;
} // namespace keepup::stagelatency::tracer

G_DEFINE_TYPE(GstStageLatencyTracer, gst_stage_latency_tracer, GST_TYPE_TRACER)

static std::atomic<size_t> next_slot{0};
static std::array<std::atomic<TracerState *>, kMaxInstances> live_tracers{}; // exit summaries

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

static sl::DropCounts dropqueue_counts(Stage *st) {
  sl::DropCounts c;
  std::lock_guard lk(st->dq_lock);
  if (st->dropqueue_stats) {
    guint64 v = 0;
    if (gst_structure_get_uint64(st->dropqueue_stats, "in", &v))
      c.in = v;
    if (gst_structure_get_uint64(st->dropqueue_stats, "out", &v))
      c.out = v;
    if (gst_structure_get_uint64(st->dropqueue_stats, "dropped", &v))
      c.dropped = v;
  }
  return c;
}

static sl::Summary make_summary(TracerState *self, bool final) {
  sl::Summary out;
  out.final = final;
  out.wall_s = static_cast<double>(mono_ns() - self->start_ns) / 1e9;
  out.rss_mb = self->rss.last_mb();
  out.peak_rss_mb = self->rss.peak_mb();
  out.growth_mb_per_min = self->rss.growth_mb_per_min();
  for (const auto &s : collect(self)) {
    sl::StageRow row = sl::stage_row(s->stage->name, s->stage->factory, s->stage->kind(),
                                     s->exclusive, s->residence);
    row.fps = s->fps;
    row.max_gap_ns = s->max_gap;
    row.gaps = s->gaps;
    if (s->stage->dropqueue)
      row.dropqueue = dropqueue_counts(s->stage);
    out.rows.push_back(std::move(row));
  }
  return out;
}

static void summary(TracerState *self, bool final) {
  const sl::Summary s = make_summary(self, final);
  g_printerr("%s", sl::to_table(s).c_str());
  self->file.write(sl::to_json(s));
  for (const sl::StageRow &r : s.rows)
    gst_tracer_record_log(record_element, r.element.c_str(), static_cast<guint64>(r.buffers),
                          static_cast<guint64>(r.total_ns), static_cast<guint64>(r.p50_ns),
                          static_cast<guint64>(r.p95_ns), static_cast<guint64>(r.p99_ns),
                          static_cast<guint64>(r.max_ns));
  gst_tracer_record_log(record_summary, final, s.wall_s, static_cast<guint>(s.rows.size()));
}

static void write_trace_file(TracerState *self) {
  if (self->params.trace_file.empty())
    return;
  sl::ChromeTraceFile out;
  std::string error;
  if (!out.open(self->params.trace_file, error)) {
    g_printerr("stagelatency: cannot write trace-file %s: %s\n", self->params.trace_file.c_str(),
               error.c_str());
    return;
  }
  const auto infos = stage_infos(self);
  std::vector<ThreadState *> threads;
  {
    std::lock_guard lk(self->lock);
    threads = self->threads;
  }
  for (ThreadState *ts : threads) {
    const size_t n = ts->trace_count.load(std::memory_order_acquire);
    for (size_t i = 0; i < n; ++i) {
      const TraceEvent &e = ts->trace[i];
      out.add(sl::chrome_event(infos[e.stage].name, ts->tid, hook_seconds(self, e.start) * 1e6,
                               static_cast<double>(e.dur) / 1e3));
    }
  }
  out.finish();
}

void keepup::stagelatency::tracer::final_summary(TracerState *self) {
  summary(self, true);
  write_trace_file(self);
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
    self->file.write(sl::drops_event(static_cast<double>(now - self->start_ns) / 1e9, st->name,
                                     {in, out, dropped}));
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
  const double period_s = memory || self->file.is_open() ? 1.0 : self->params.interval_s;
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
    const double t = static_cast<double>(now - self->start_ns) / 1e9;
    self->file.write(sl::memory_event(t, mb, growth));
    if (self->params.memory_limit_mb > 0 && mb > self->params.memory_limit_mb &&
        !self->memory_warned) {
      self->memory_warned = true;
      g_printerr("stagelatency: MEMORY RSS %.0f MB is over memory-limit-mb %.0f\n", mb,
                 self->params.memory_limit_mb);
      self->file.write(sl::memory_limit_event(t, mb));
    }
    if (self->params.memory_growth_mb_per_min > 0 &&
        growth > self->params.memory_growth_mb_per_min && !self->growth_warned) {
      self->growth_warned = true;
      g_printerr("stagelatency: MEMORY RSS grows %.1f MB/min, over memory-growth-mb-per-min "
                 "%.1f (now %.0f MB)\n",
                 growth, self->params.memory_growth_mb_per_min, mb);
      self->file.write(sl::memory_growth_event(t, mb, growth));
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
  self->file.close();
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
  TracerState *self = state_of(object);
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
  std::string suffix = "-"; // appended: GCC 12 -O3 misfires -Wrestrict on "lit" + string&&
  suffix += std::to_string(slot);
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
  std::string error;
  if (!self->params.file.empty() && !self->file.open(self->params.file, error))
    g_printerr("stagelatency: cannot write %s: %s\n", self->params.file.c_str(), error.c_str());
  self->start_ns = mono_ns();
  self->rss.add(self->start_ns, keepup::process_rss_mb());

  register_hooks(GST_TRACER(object));
  self->timer = std::thread([self] { guarded("timer", [self] { timer_loop(self); }); });
  live_tracers[slot].store(self);
  if (slot == 0)
    std::atexit(at_exit);
}

static void gst_stage_latency_tracer_init(GstStageLatencyTracer *self) {
  self->state = new TracerState();
}

static void gst_stage_latency_tracer_finalize(GObject *object) {
  TracerState *self = state_of(object);
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
