// SPDX-License-Identifier: LGPL-2.1-or-later
// Helpers shared by the element tests: deterministic stalls and bus collection.
#pragma once

#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keepup::test {

// Owns a harness: tears it down when the test leaves, also through a failed ASSERT.
struct HarnessDeleter {
  void operator()(GstHarness *h) const { gst_harness_teardown(h); }
};
using HarnessPtr = std::unique_ptr<GstHarness, HarnessDeleter>;

// Blocks an element's src pad on the next buffer, so the element's queue fills behind it.
// wait_blocked() returns once the streaming thread sits in the probe: a condition, not a sleep.
class Stall {
public:
  explicit Stall(GstElement *element, const char *pad_name = "src")
      : pad_(gst_element_get_static_pad(element, pad_name)) {
    id_ = gst_pad_add_probe(
        pad_, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER),
        &Stall::on_blocked, this, nullptr);
  }
  ~Stall() {
    release();
    gst_object_unref(pad_);
  }
  Stall(const Stall &) = delete;
  Stall &operator=(const Stall &) = delete;

  bool wait_blocked(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lk(m_);
    return cv_.wait_for(lk, timeout, [this] { return blocked_; });
  }
  void release() {
    if (id_ != 0) {
      gst_pad_remove_probe(pad_, id_);
      id_ = 0;
    }
  }

private:
  static GstPadProbeReturn on_blocked(GstPad *, GstPadProbeInfo *, gpointer user_data) {
    auto *self = static_cast<Stall *>(user_data);
    std::lock_guard lk(self->m_);
    self->blocked_ = true;
    self->cv_.notify_all();
    return GST_PAD_PROBE_OK;
  }
  GstPad *pad_;
  gulong id_ = 0;
  std::mutex m_;
  std::condition_variable cv_;
  bool blocked_ = false;
};

inline GstBuffer *make_buffer(guint64 index, gsize size = 100,
                              GstClockTime duration = 33 * GST_MSECOND) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(buf, 0, static_cast<guint8>(index), size);
  GST_BUFFER_PTS(buf) = index * duration;
  GST_BUFFER_DURATION(buf) = duration;
  GST_BUFFER_OFFSET(buf) = index;
  return buf;
}

// Pulls buffers until EOS reaches the harness; returns their offsets (the index above).
inline std::vector<guint64> pull_offsets_until_eos(GstHarness *h,
                                                   std::vector<bool> *disconts = nullptr) {
  std::vector<guint64> out;
  GstBuffer *buf = nullptr;
  while (gst_harness_pull_until_eos(h, &buf) && buf) {
    out.push_back(GST_BUFFER_OFFSET(buf));
    if (disconts)
      disconts->push_back(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT));
    gst_buffer_unref(buf);
    buf = nullptr;
  }
  return out;
}

// One field of an element's `stats` structure, read through the given getter.
template <typename T, gboolean (*Get)(const GstStructure *, const gchar *, T *)>
T stats_field(GstElement *element, const char *field) {
  GstStructure *s = nullptr;
  g_object_get(element, "stats", &s, nullptr);
  T v{};
  EXPECT_TRUE(s && Get(s, field, &v)) << field;
  if (s)
    gst_structure_free(s);
  return v;
}
inline guint64 stats_u64(GstElement *element, const char *field) {
  return stats_field<guint64, gst_structure_get_uint64>(element, field);
}
inline guint stats_uint(GstElement *element, const char *field) {
  return stats_field<guint, gst_structure_get_uint>(element, field);
}

// A private bus on a standalone element (no pipeline), to collect what it posts.
class BusTap {
public:
  explicit BusTap(GstElement *element) : bus_(gst_bus_new()) { gst_element_set_bus(element, bus_); }
  ~BusTap() {
    unref_all(kept_);
    gst_object_unref(bus_);
  }
  // Every message of the given type posted so far. gst_bus_pop_filtered() would discard the
  // other types, so everything is popped and the rest kept for later calls.
  std::vector<GstMessage *> take(GstMessageType type) {
    while (GstMessage *m = gst_bus_pop(bus_))
      kept_.push_back(m);
    std::vector<GstMessage *> out, rest;
    for (auto *m : kept_)
      (GST_MESSAGE_TYPE(m) & type ? out : rest).push_back(m);
    kept_ = rest;
    return out;
  }
  static void unref_all(std::vector<GstMessage *> &msgs) {
    for (auto *m : msgs)
      gst_message_unref(m);
    msgs.clear();
  }

private:
  GstBus *bus_;
  std::vector<GstMessage *> kept_;
};

// Runs a launch line to EOS (or error) with a bounded wait; returns the error text, or "".
inline std::string run_to_eos(GstElement *pipeline, GstClockTime timeout = 60 * GST_SECOND) {
  std::string error;
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!msg) {
    error = "timeout";
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    error = std::string(err->message) + " | " + (dbg ? dbg : "");
    g_clear_error(&err);
    g_free(dbg);
  }
  if (msg)
    gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return error;
}

// Counts the buffers reaching the fakesink named "sink" (signal-handoffs=true) while a
// pipeline runs to EOS; the run's error text (or "") goes to `error`.
inline int count_handoffs_to_eos(GstElement *pipeline, std::string &error) {
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  std::atomic<int> frames{0};
  g_signal_connect(sink, "handoff",
                   G_CALLBACK(+[](GstElement *, GstBuffer *, GstPad *, gpointer count) {
                     ++*static_cast<std::atomic<int> *>(count);
                   }),
                   &frames);
  error = run_to_eos(pipeline);
  gst_object_unref(sink);
  return frames.load();
}

// Runs a pipeline until it errors or reaches EOS; returns its first error (or nullptr).
inline GError *run_pipeline_error(const std::string &desc) {
  GstElement *pipeline = gst_parse_launch(desc.c_str(), nullptr);
  EXPECT_NE(pipeline, nullptr) << desc;
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  GError *err = nullptr;
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error(msg, &err, nullptr);
  if (msg)
    gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return err;
}

// Runs a launch line until its first error or EOS (bounded); what the error said.
struct PipelineError {
  bool errored = false;
  GQuark domain = 0;
  gint code = 0;
  std::string message, debug;
  bool matches(GQuark d, gint c) const { return errored && domain == d && code == c; }
};
inline PipelineError first_pipeline_error(const std::string &desc,
                                          GstClockTime timeout = 30 * GST_SECOND) {
  PipelineError out;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), nullptr);
  if (!pipeline) {
    out.message = "cannot parse: " + desc;
    return out;
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    out.errored = true;
    out.domain = err->domain;
    out.code = err->code;
    out.message = err->message;
    out.debug = debug ? debug : "";
    g_error_free(err);
    g_free(debug);
  }
  if (msg)
    gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return out;
}

// Removes the files directly in `path`, then the folder itself (one level: a folder that still
// holds a subfolder stays).
inline void remove_flat_dir(const std::string &path) {
  GDir *dir = g_dir_open(path.c_str(), 0, nullptr);
  while (const gchar *name = dir ? g_dir_read_name(dir) : nullptr)
    g_remove((path + "/" + name).c_str());
  if (dir)
    g_dir_close(dir);
  g_rmdir(path.c_str());
}

// A private temporary folder, removed with its files.
class ScratchDir {
public:
  ScratchDir() {
    gchar *p = g_dir_make_tmp("keepup-test-XXXXXX", nullptr);
    path_ = p;
    g_free(p);
  }
  ~ScratchDir() { remove_flat_dir(path_); }
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  std::string operator/(const std::string &name) const { return path_ + "/" + name; }
  std::string write(const std::string &name, const std::string &bytes) const {
    const std::string p = *this / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

private:
  std::string path_;
};

inline std::string read_text_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace keepup::test
