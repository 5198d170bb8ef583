// SPDX-License-Identifier: LGPL-2.1-or-later
// dropqueue element tests: GstHarness with blocking probes (deterministic fills), a test
// clock for time-based behaviour, and short real pipelines for the end-to-end claims.
#include "test_util.hpp"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <thread>

using namespace keepup::test;

namespace {

constexpr const char *kRawCaps = "video/x-raw,format=RGB,width=4,height=4,framerate=30/1";

HarnessPtr new_dropqueue(const std::vector<std::pair<const char *, const char *>> &props) {
  HarnessPtr h(gst_harness_new("dropqueue"));
  for (const auto &[name, value] : props)
    gst_util_set_object_arg(G_OBJECT(h->element), name, value);
  return h;
}

void push_index(GstHarness *h, guint64 i, gsize size = 100,
                GstClockTime duration = 33 * GST_MSECOND) {
  ASSERT_EQ(gst_harness_push(h, make_buffer(i, size, duration)), GST_FLOW_OK) << "buffer " << i;
}

// Stalls the queue's output on buffer 0, pushes 1..`queued`, then pushes the rest up to
// `last` from another thread (they may block: leaky=no or a non-live upstream) while the
// stall is released.
void fill_blocked_then_release(GstHarness *h, guint64 queued, guint64 last) {
  Stall stall(h->element);
  push_index(h, 0);
  ASSERT_TRUE(stall.wait_blocked());
  for (guint64 i = 1; i <= queued; ++i)
    push_index(h, i);
  std::thread pusher([h, queued, last] {
    for (guint64 i = queued + 1; i <= last; ++i)
      push_index(h, i);
  });
  stall.release();
  pusher.join();
}

void expect_invariant(GstElement *q) {
  GstStructure *s = nullptr;
  g_object_get(q, "stats", &s, nullptr);
  ASSERT_NE(s, nullptr);
  guint64 in = 0, out = 0, dropped = 0;
  guint level = 0;
  gst_structure_get_uint64(s, "in", &in);
  gst_structure_get_uint64(s, "out", &out);
  gst_structure_get_uint64(s, "dropped", &dropped);
  gst_structure_get_uint(s, "current-level-buffers", &level);
  EXPECT_EQ(in, out + dropped + level) << gst_structure_to_string(s);
  gst_structure_free(s);
}

// Records what leaves a pad, in order: "buf:<offset>", "caps:<format>", "query:<type>", ...
class DataLog {
public:
  explicit DataLog(GstElement *element) : pad_(gst_element_get_static_pad(element, "src")) {
    id_ = gst_pad_add_probe(pad_,
                            static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM |
                                                         GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM |
                                                         GST_PAD_PROBE_TYPE_PUSH),
                            &DataLog::on_data, this, nullptr);
  }
  ~DataLog() {
    gst_pad_remove_probe(pad_, id_);
    gst_object_unref(pad_);
  }
  std::vector<std::string> entries() {
    std::lock_guard lk(m_);
    return log_;
  }

private:
  static GstPadProbeReturn on_data(GstPad *, GstPadProbeInfo *info, gpointer user_data) {
    auto *self = static_cast<DataLog *>(user_data);
    std::string entry;
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
      entry = "buf:" + std::to_string(GST_BUFFER_OFFSET(GST_PAD_PROBE_INFO_BUFFER(info)));
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
      if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
        GstCaps *caps;
        gst_event_parse_caps(ev, &caps);
        const gchar *fmt = gst_structure_get_string(gst_caps_get_structure(caps, 0), "format");
        entry = std::string("caps:") + (fmt ? fmt : "?");
      } else {
        entry = GST_EVENT_TYPE_NAME(ev);
      }
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM) {
      entry = std::string("query:") + GST_QUERY_TYPE_NAME(GST_PAD_PROBE_INFO_QUERY(info));
    }
    std::lock_guard lk(self->m_);
    self->log_.push_back(entry);
    return GST_PAD_PROBE_OK;
  }
  GstPad *pad_;
  gulong id_;
  std::mutex m_;
  std::vector<std::string> log_;
};

std::vector<std::string> only_buffers_and_caps(const std::vector<std::string> &log) {
  std::vector<std::string> out;
  for (const auto &e : log)
    if (e.rfind("buf:", 0) == 0 || e.rfind("caps:", 0) == 0)
      out.push_back(e);
  return out;
}

} // namespace

TEST(DropQueue, DownstreamLeakKeepsTheFreshestAndMarksDiscont) {
  auto owner = new_dropqueue({{"max-size-buffers", "2"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    for (guint64 i = 1; i <= 5; ++i)
      push_index(h, i);
    EXPECT_EQ(stats_u64(h->element, "in"), 6u);
    EXPECT_EQ(stats_u64(h->element, "out"), 1u);
    EXPECT_EQ(stats_u64(h->element, "dropped"), 3u);
    EXPECT_EQ(stats_u64(h->element, "dropped-overflow"), 3u);
    EXPECT_EQ(stats_uint(h->element, "current-level-buffers"), 2u);
    guint level = 0;
    g_object_get(h->element, "current-level-buffers", &level, nullptr);
    EXPECT_EQ(level, 2u);
    expect_invariant(h->element);
  }
  gst_harness_push_event(h, gst_event_new_eos());
  std::vector<bool> disconts;
  EXPECT_EQ(pull_offsets_until_eos(h, &disconts), (std::vector<guint64>{0, 4, 5}));
  EXPECT_EQ(disconts, (std::vector<bool>{false, true, false}));
  GstStructure *s = nullptr;
  g_object_get(h->element, "stats", &s, nullptr);
  gboolean live = FALSE;
  ASSERT_TRUE(gst_structure_get_boolean(s, "live", &live));
  EXPECT_TRUE(live);
  EXPECT_TRUE(gst_structure_has_name(s, "application/x-dropqueue-stats"));
  gst_structure_free(s);
}

TEST(DropQueue, UpstreamLeakDropsIncoming) {
  auto owner = new_dropqueue({{"max-size-buffers", "2"}, {"leaky", "upstream"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    for (guint64 i = 1; i <= 5; ++i)
      push_index(h, i);
    EXPECT_EQ(stats_u64(h->element, "dropped-overflow"), 3u);
  }
  // Once 0, 1 and 2 came out the queue is empty: the next buffer is the first after the drop.
  std::vector<guint64> first;
  for (int i = 0; i < 3; ++i) {
    GstBuffer *b = gst_harness_pull(h);
    ASSERT_NE(b, nullptr);
    first.push_back(GST_BUFFER_OFFSET(b));
    EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
    gst_buffer_unref(b);
  }
  EXPECT_EQ(first, (std::vector<guint64>{0, 1, 2}));
  push_index(h, 6);
  gst_harness_push_event(h, gst_event_new_eos());
  std::vector<bool> disconts;
  EXPECT_EQ(pull_offsets_until_eos(h, &disconts), (std::vector<guint64>{6}));
  EXPECT_EQ(disconts, (std::vector<bool>{true}));
  expect_invariant(h->element);
}

TEST(DropQueue, NotLeakyBlocksAndLosesNothing) {
  auto owner = new_dropqueue({{"max-size-buffers", "2"}, {"leaky", "no"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  fill_blocked_then_release(h, 2, 5);
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(stats_u64(h->element, "dropped"), 0u);
}

TEST(DropQueue, NonLiveUpstreamNeverDropsWithLiveOnly) {
  auto owner = new_dropqueue({{"max-size-buffers", "2"}});
  GstHarness *h = owner.get();
  gst_harness_set_live(h, FALSE);
  gst_harness_set_src_caps_str(h, kRawCaps);
  fill_blocked_then_release(h, 2, 7);
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0, 1, 2, 3, 4, 5, 6, 7}));
  GstStructure *s = nullptr;
  g_object_get(h->element, "stats", &s, nullptr);
  gboolean live = TRUE, drops_enabled = TRUE;
  gst_structure_get_boolean(s, "live", &live);
  gst_structure_get_boolean(s, "drops-enabled", &drops_enabled);
  EXPECT_FALSE(live);
  EXPECT_FALSE(drops_enabled);
  gst_structure_free(s);
  EXPECT_EQ(stats_u64(h->element, "dropped"), 0u);
}

TEST(DropQueue, NonLiveUpstreamDropsWhenLiveOnlyIsOff) {
  auto owner = new_dropqueue({{"max-size-buffers", "2"}, {"live-only", "false"}});
  GstHarness *h = owner.get();
  gst_harness_set_live(h, FALSE);
  gst_harness_set_src_caps_str(h, kRawCaps);
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    for (guint64 i = 1; i <= 4; ++i)
      push_index(h, i);
  }
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0, 3, 4}));
}

TEST(DropQueue, BytesBound) {
  auto owner = new_dropqueue({{"max-size-buffers", "0"}, {"max-size-bytes", "250"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    for (guint64 i = 1; i <= 6; ++i)
      push_index(h, i, 100);
    guint64 bytes = 0;
    g_object_get(h->element, "current-level-bytes", &bytes, nullptr);
    EXPECT_EQ(bytes, 300u);
  }
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0, 4, 5, 6}));
}

TEST(DropQueue, TimeBound) {
  auto owner = new_dropqueue({{"max-size-buffers", "0"}, {"max-size-time", "100000000"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  {
    Stall stall(h->element);
    push_index(h, 0, 100, 40 * GST_MSECOND);
    ASSERT_TRUE(stall.wait_blocked());
    for (guint64 i = 1; i <= 6; ++i)
      push_index(h, i, 100, 40 * GST_MSECOND);
    guint64 level_time = 0;
    g_object_get(h->element, "current-level-time", &level_time, nullptr);
    EXPECT_EQ(level_time, 120 * GST_MSECOND);
  }
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0, 4, 5, 6}));
}

TEST(DropQueue, MaxAgeDropsStaleBuffersOnThePipelineClock) {
  auto owner = new_dropqueue({{"max-size-buffers", "0"}, {"max-age", "50000000"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  ASSERT_TRUE(gst_harness_set_time(h, 0));
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    push_index(h, 1);
    push_index(h, 2);
    ASSERT_TRUE(gst_harness_set_time(h, 10 * GST_MSECOND));
    push_index(h, 3);
    ASSERT_TRUE(gst_harness_set_time(h, 55 * GST_MSECOND));
    EXPECT_EQ(stats_u64(h->element, "dropped"), 0u) << "not full: nothing dropped yet";
  }
  // EOS is pushed only once 3 came out: a queued EOS suspends age drops (it drains).
  std::vector<guint64> out;
  std::vector<bool> disconts;
  for (int i = 0; i < 2; ++i) {
    GstBuffer *b = gst_harness_pull(h);
    ASSERT_NE(b, nullptr);
    out.push_back(GST_BUFFER_OFFSET(b));
    disconts.push_back(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
    gst_buffer_unref(b);
  }
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_TRUE(pull_offsets_until_eos(h).empty());
  EXPECT_EQ(out, (std::vector<guint64>{0, 3}));
  EXPECT_EQ(disconts, (std::vector<bool>{false, true}));
  EXPECT_EQ(stats_u64(h->element, "dropped-age"), 2u);
  EXPECT_EQ(stats_u64(h->element, "max-residence-ns"), 45 * GST_MSECOND);
}

TEST(DropQueue, EosDrainsEverythingWithoutDrops) {
  auto owner = new_dropqueue({{"max-size-buffers", "2"}, {"max-age", "10000000"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  ASSERT_TRUE(gst_harness_set_time(h, 0));
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    push_index(h, 1);
    push_index(h, 2);
    ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
    ASSERT_TRUE(gst_harness_set_time(h, GST_SECOND)); // far beyond max-age
  }
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0, 1, 2}));
  EXPECT_EQ(stats_u64(h->element, "dropped"), 0u);
}

TEST(DropQueue, FlushEmptiesTheQueueAndCountsIt) {
  auto owner = new_dropqueue({{"max-size-buffers", "10"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    push_index(h, 1);
    push_index(h, 2);
    ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_flush_start()));
    stall.release();
    ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  }
  EXPECT_EQ(stats_u64(h->element, "dropped-flush"), 2u);
  EXPECT_EQ(stats_uint(h->element, "current-level-buffers"), 0u);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  push_index(h, 3);
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{3}));
  expect_invariant(h->element);
}

TEST(DropQueue, CapsChangeAndStickyEventsSurviveDrops) {
  auto owner = new_dropqueue({{"max-size-buffers", "1"}});
  GstHarness *h = owner.get();
  DataLog log(h->element); // before the first caps event, which the src thread may push at once
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=4,height=4,framerate=30/1");
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    push_index(h, 1);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=BGR,width=4,height=4,framerate=30/1");
    push_index(h, 2); // drops 1
    gst_harness_set_src_caps_str(h, "video/x-raw,format=GRAY8,width=4,height=4,framerate=30/1");
    push_index(h, 3); // drops 2
  }
  gst_harness_push_event(h, gst_event_new_eos());
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0, 3}));
  EXPECT_EQ(only_buffers_and_caps(log.entries()),
            (std::vector<std::string>{"caps:RGB", "buf:0", "caps:BGR", "caps:GRAY8", "buf:3"}));
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  ASSERT_NE(caps, nullptr);
  EXPECT_STREQ(gst_structure_get_string(gst_caps_get_structure(caps, 0), "format"), "GRAY8");
  gst_caps_unref(caps);
}

TEST(DropQueue, SerializedQueriesKeepTheirPlace) {
  auto owner = new_dropqueue({{"max-size-buffers", "5"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  DataLog log(h->element);
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    push_index(h, 1);
    std::atomic<bool> answered{false};
    std::thread asker([h, &answered] {
      GstQuery *q = gst_query_new_drain();
      gst_pad_peer_query(h->srcpad, q);
      gst_query_unref(q);
      answered = true;
    });
    stall.release();
    asker.join();
    EXPECT_TRUE(answered);
  }
  std::vector<std::string> entries;
  for (const auto &e : log.entries())
    if (e.rfind("buf:", 0) == 0 || e.rfind("query:", 0) == 0)
      entries.push_back(e);
  EXPECT_EQ(entries, (std::vector<std::string>{"buf:0", "buf:1", "query:drain"}));
}

TEST(DropQueue, StatsMessagesAndQosArePostedAtTheirPace) {
  auto owner = new_dropqueue(
      {{"max-size-buffers", "1"}, {"leaky", "upstream"}, {"stats-interval", "100000000"}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  gst_harness_set_src_caps_str(h, kRawCaps);
  ASSERT_TRUE(gst_harness_set_time(h, 0));
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    push_index(h, 1); // queued
    ASSERT_TRUE(gst_harness_set_time(h, 50 * GST_MSECOND));
    push_index(h, 2); // dropped: first QoS
    ASSERT_TRUE(gst_harness_set_time(h, 100 * GST_MSECOND));
    push_index(h, 3); // dropped: no QoS (same second), first stats message
    ASSERT_TRUE(gst_harness_set_time(h, 1050 * GST_MSECOND));
    push_index(h, 4); // dropped: second QoS, second stats message
  }
  auto qos = tap.take(GST_MESSAGE_QOS);
  ASSERT_EQ(qos.size(), 2u);
  GstFormat format;
  guint64 processed = 0, dropped = 0;
  gst_message_parse_qos_stats(qos[0], &format, &processed, &dropped);
  EXPECT_EQ(format, GST_FORMAT_BUFFERS);
  EXPECT_EQ(processed, 1u);
  EXPECT_EQ(dropped, 1u);
  gst_message_parse_qos_stats(qos[1], &format, &processed, &dropped);
  EXPECT_EQ(dropped, 3u);
  BusTap::unref_all(qos);

  auto elements = tap.take(GST_MESSAGE_ELEMENT);
  ASSERT_EQ(elements.size(), 2u);
  const GstStructure *s = gst_message_get_structure(elements[0]);
  EXPECT_TRUE(gst_structure_has_name(s, "dropqueue-stats"));
  guint64 in = 0, out = 0, d = 0;
  guint level = 0;
  gst_structure_get_uint64(s, "in", &in);
  gst_structure_get_uint64(s, "out", &out);
  gst_structure_get_uint64(s, "dropped", &d);
  gst_structure_get_uint(s, "current-level-buffers", &level);
  EXPECT_EQ(in, 4u);
  EXPECT_EQ(d, 2u);
  EXPECT_EQ(in, out + d + level);
  BusTap::unref_all(elements);
}

TEST(DropQueue, DropRatioWarnsThenInformsWhenBackToNormal) {
  auto owner = new_dropqueue({{"max-size-buffers", "1"},
                              {"leaky", "upstream"},
                              {"ratio-window", "1000000000"},
                              {"stats-interval", "0"}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  gst_harness_set_src_caps_str(h, kRawCaps);
  ASSERT_TRUE(gst_harness_set_time(h, 0));
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    for (guint64 i = 1; i < 20; ++i)
      push_index(h, i);
  }
  auto warnings = tap.take(GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u);
  GError *err = nullptr;
  gst_message_parse_warning(warnings[0], &err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED));
  EXPECT_NE(std::string(err->message).find("downstream is too slow"), std::string::npos)
      << err->message;
  g_clear_error(&err);
  const GstStructure *details = nullptr;
  gst_message_parse_warning_details(warnings[0], &details);
  ASSERT_NE(details, nullptr);
  EXPECT_STREQ(gst_structure_get_string(details, "health"), "critical");
  BusTap::unref_all(warnings);

  // Downstream keeps up again (room for everything) and the old drops leave the window.
  g_object_set(h->element, "max-size-buffers", 1000u, nullptr);
  ASSERT_TRUE(gst_harness_set_time(h, 3 * GST_SECOND));
  for (guint64 i = 20; i < 40; ++i)
    push_index(h, i);
  auto infos = tap.take(GST_MESSAGE_INFO);
  ASSERT_EQ(infos.size(), 1u);
  gst_message_parse_info(infos[0], &err, nullptr);
  EXPECT_NE(std::string(err->message).find("back to"), std::string::npos) << err->message;
  g_clear_error(&err);
  BusTap::unref_all(infos);
  EXPECT_TRUE(tap.take(GST_MESSAGE_WARNING).empty());
}

TEST(DropQueue, NotifyDroppedWhenNotSilent) {
  auto owner = new_dropqueue({{"max-size-buffers", "1"}, {"silent", "false"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  std::atomic<int> notified{0};
  g_signal_connect(h->element, "notify::dropped",
                   G_CALLBACK(+[](GObject *, GParamSpec *, gpointer counter) {
                     ++*static_cast<std::atomic<int> *>(counter);
                   }),
                   &notified);
  {
    Stall stall(h->element);
    push_index(h, 0);
    ASSERT_TRUE(stall.wait_blocked());
    for (guint64 i = 1; i <= 4; ++i)
      push_index(h, i);
  }
  EXPECT_EQ(notified.load(), 3);
}

TEST(DropQueue, CountingInvariantHoldsInEverySnapshotUnderLoad) {
  auto owner = new_dropqueue({{"max-size-buffers", "1"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  std::atomic<bool> done{false};
  std::latch reader_running(1);
  std::thread pusher([h, &done, &reader_running] {
    reader_running.wait();
    for (guint64 i = 0; i < 3000; ++i)
      gst_harness_push(h, make_buffer(i));
    done = true;
  });
  int snapshots = 0;
  reader_running.count_down();
  do {
    expect_invariant(h->element);
    ++snapshots;
  } while (!done);
  pusher.join();
  gst_harness_push_event(h, gst_event_new_eos());
  const auto out = pull_offsets_until_eos(h);
  EXPECT_EQ(out.size(), stats_u64(h->element, "out"));
  EXPECT_EQ(stats_u64(h->element, "in"), 3000u);
  expect_invariant(h->element);
  EXPECT_GT(snapshots, 0);
}

TEST(DropQueue, StatsAreZeroWhenStopped) {
  auto owner = new_dropqueue({{"max-size-buffers", "1"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  push_index(h, 0);
  gst_harness_push_event(h, gst_event_new_eos());
  pull_offsets_until_eos(h);
  EXPECT_EQ(stats_u64(h->element, "in"), 1u);
  gst_element_set_state(h->element, GST_STATE_NULL);
  EXPECT_EQ(stats_u64(h->element, "in"), 0u);
  EXPECT_EQ(stats_u64(h->element, "out"), 0u);
}

TEST(DropQueue, OutOfRangePropertyValuesAreRefused) {
  GstElement *q = gst_element_factory_make("dropqueue", nullptr);
  ASSERT_NE(q, nullptr);
  // GLib reports out-of-range values with a g_warning (fatal in this run): catch it here.
  const GLogLevelFlags old_fatal =
      g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_FATAL_MASK));
  int warnings = 0;
  const guint handler = g_log_set_handler(
      "GLib-GObject", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL),
      +[](const gchar *, GLogLevelFlags, const gchar *, gpointer count) {
        ++*static_cast<int *>(count);
      },
      &warnings);
  g_object_set(q, "warn-drop-ratio", 1.5, nullptr);
  g_object_set(q, "critical-drop-ratio", -0.1, nullptr);
  g_object_set(q, "ratio-window", static_cast<guint64>(0), nullptr);
  g_log_remove_handler("GLib-GObject", handler);
  g_log_set_always_fatal(old_fatal);
  EXPECT_EQ(warnings, 3);
  gdouble warn = 0, critical = 0;
  guint64 window = 0;
  g_object_get(q, "warn-drop-ratio", &warn, "critical-drop-ratio", &critical, "ratio-window",
               &window, nullptr);
  EXPECT_DOUBLE_EQ(warn, 0.05);
  EXPECT_DOUBLE_EQ(critical, 0.10);
  EXPECT_EQ(window, 5 * GST_SECOND);
  gst_object_unref(q);
}

// ---- encoded streams ----------------------------------------------------------------------

namespace {

struct Encoded {
  GstCaps *caps = nullptr;
  std::vector<GstBuffer *> buffers;
  ~Encoded() {
    if (caps)
      gst_caps_unref(caps);
    for (auto *b : buffers)
      gst_buffer_unref(b);
  }
};

// H.264 access units from a real encoder, a keyframe every 10 frames, SPS/PPS in each IDR.
void encode_h264(Encoded &enc, int frames) {
  gchar *desc = g_strdup_printf(
      "videotestsrc num-buffers=%d pattern=ball ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc key-int-max=10 bframes=0 speed-preset=ultrafast tune=zerolatency ! "
      "h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au ! "
      "appsink name=sink sync=false",
      frames);
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(desc, &error);
  g_free(desc);
  ASSERT_NE(pipeline, nullptr) << (error ? error->message : "");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  while (GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    if (!enc.caps)
      enc.caps = gst_caps_ref(gst_sample_get_caps(sample));
    enc.buffers.push_back(gst_buffer_ref(gst_sample_get_buffer(sample)));
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  ASSERT_EQ(enc.buffers.size(), static_cast<size_t>(frames));
}

// Decodes with corrupt-frame output off: a broken GOP would lose frames or raise errors.
int decode_h264(GstCaps *caps, const std::vector<GstBuffer *> &buffers, std::string &error) {
  GstElement *pipeline = gst_parse_launch(
      "appsrc name=src format=time ! h264parse ! avdec_h264 output-corrupt=false ! "
      "fakesink name=sink signal-handoffs=true sync=false",
      nullptr);
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "caps", caps, nullptr);
  for (auto *b : buffers)
    gst_app_src_push_buffer(GST_APP_SRC(src), gst_buffer_ref(b));
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  const int decoded = count_handoffs_to_eos(pipeline, error);
  gst_object_unref(src);
  gst_object_unref(pipeline);
  return decoded;
}

} // namespace

TEST(DropQueue, KeyframeAwareCutsWholeGopsAndOutputDecodes) {
  Encoded enc;
  encode_h264(enc, 60);
  auto owner = new_dropqueue({{"max-size-buffers", "5"}});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps(h, gst_caps_ref(enc.caps));
  {
    Stall stall(h->element);
    ASSERT_EQ(gst_harness_push(h, gst_buffer_ref(enc.buffers[0])), GST_FLOW_OK);
    ASSERT_TRUE(stall.wait_blocked());
    for (size_t i = 1; i < 15; ++i)
      ASSERT_EQ(gst_harness_push(h, gst_buffer_ref(enc.buffers[i])), GST_FLOW_OK);
    EXPECT_GT(stats_u64(h->element, "dropped-overflow"), 0u);
    EXPECT_GT(stats_u64(h->element, "dropped-gop"), 0u);
    // From here on the consumer keeps up: room for the rest, so the output is deterministic.
    g_object_set(h->element, "max-size-buffers", 1000u, nullptr);
  }
  for (size_t i = 15; i < enc.buffers.size(); ++i)
    ASSERT_EQ(gst_harness_push(h, gst_buffer_ref(enc.buffers[i])), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());

  std::vector<GstBuffer *> out;
  GstBuffer *buf = nullptr;
  while (gst_harness_pull_until_eos(h, &buf) && buf) {
    out.push_back(buf);
    buf = nullptr;
  }
  ASSERT_FALSE(out.empty());
  // Every place where frames are missing restarts on a keyframe, flagged DISCONT.
  const GstClockTime frame = GST_SECOND / 30;
  GstClockTime prev = GST_CLOCK_TIME_NONE;
  int gaps = 0;
  for (GstBuffer *b : out) {
    const bool gap = GST_CLOCK_TIME_IS_VALID(prev) && GST_BUFFER_PTS(b) > prev + frame + frame / 2;
    if (gap) {
      ++gaps;
      EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT))
          << "delta frame after a gap at " << GST_BUFFER_PTS(b);
      EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
    }
    prev = GST_BUFFER_PTS(b);
  }
  EXPECT_GT(gaps, 0) << "first PTS " << GST_BUFFER_PTS(out.front()) << ", " << out.size()
                     << " buffers out";
  EXPECT_EQ(out.size() + stats_u64(h->element, "dropped"), enc.buffers.size());

  bool asked_for_keyframe = false;
  while (GstEvent *ev = gst_harness_try_pull_upstream_event(h)) {
    asked_for_keyframe |= gst_video_event_is_force_key_unit(ev);
    gst_event_unref(ev);
  }
  EXPECT_TRUE(asked_for_keyframe);
  EXPECT_GT(stats_u64(h->element, "keyframe-requests"), 0u);

  std::string error;
  const int decoded = decode_h264(enc.caps, out, error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(decoded, static_cast<int>(out.size()));
  for (auto *b : out)
    gst_buffer_unref(b);
}

// ---- real pipelines -----------------------------------------------------------------------

namespace {

GstElement *launch(const char *desc) {
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(desc, &error);
  EXPECT_EQ(error, nullptr) << (error ? error->message : "");
  g_clear_error(&error);
  return pipeline;
}

GstElement *by_name(GstElement *pipeline, const char *name) {
  return gst_bin_get_by_name(GST_BIN(pipeline), name);
}

} // namespace

TEST(DropQueuePipeline, OverloadedLiveEncoderDropsAndStaysBounded) {
  GstElement *pipeline =
      launch("videotestsrc is-live=true num-buffers=60 pattern=snow ! "
             "video/x-raw,width=1920,height=1080,framerate=30/1 ! dropqueue name=q ! "
             "x264enc speed-preset=medium ! fakesink");
  GstElement *q = by_name(pipeline, "q");
  // Read the stats at EOS, before the pipeline stops and they reset.
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 120 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  EXPECT_EQ(stats_u64(q, "in"), 60u);
  EXPECT_GT(stats_u64(q, "dropped"), 0u) << "x264 medium at 1080p cannot keep 30 fps here";
  EXPECT_LE(stats_uint(q, "max-level-buffers-seen"), 2u);
  expect_invariant(q);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(q);
  gst_object_unref(pipeline);
}

TEST(DropQueuePipeline, NonLiveSourceLosesNothing) {
  // A non-live source is far faster than a sink that syncs to the clock: the queue fills,
  // and with live-only it must block upstream instead of dropping.
  GstElement *pipeline =
      launch("videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=300/1 ! "
             "dropqueue name=q ! fakesink sync=true");
  GstElement *q = by_name(pipeline, "q");
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 120 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  EXPECT_EQ(stats_u64(q, "in"), 60u);
  EXPECT_EQ(stats_u64(q, "out"), 60u);
  EXPECT_EQ(stats_u64(q, "dropped"), 0u);
  EXPECT_GT(stats_u64(q, "upstream-blocked-ns"), 0u) << "the sink is slower: upstream waited";
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(q);
  gst_object_unref(pipeline);
}

// ---- after EOS, not-linked, buffer lists ----------------------------------------------------

namespace {

// The src task pauses under the element's lock right after it stores why (EOS, not-linked):
// a paused task means the element is in that state. Polls a condition, with a deadline.
bool wait_task_paused(GstElement *q) {
  GstPad *src = gst_element_get_static_pad(q, "src");
  const gint64 give_up = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  bool paused = false;
  while (!(paused = gst_pad_get_task_state(src) == GST_TASK_PAUSED) &&
         g_get_monotonic_time() < give_up)
    g_usleep(1000);
  gst_object_unref(src);
  return paused;
}

// Events from the harness' sink side until (and including) one of `type`; empty on timeout.
std::vector<std::string> pull_events_until(GstHarness *h, GstEventType type) {
  std::vector<std::string> names;
  while (GstEvent *ev = gst_harness_pull_event(h)) {
    names.push_back(GST_EVENT_TYPE_NAME(ev));
    const bool done = GST_EVENT_TYPE(ev) == type;
    gst_event_unref(ev);
    if (done)
      return names;
  }
  return {};
}

GstEvent *new_segment_event() {
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  return gst_event_new_segment(&segment);
}

} // namespace

TEST(DropQueue, ANewStreamAfterEosIsTakenAndFlows) {
  auto owner = new_dropqueue({});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  push_index(h, 0);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_EQ(pull_offsets_until_eos(h), (std::vector<guint64>{0}));
  ASSERT_TRUE(wait_task_paused(h->element));
  EXPECT_EQ(gst_harness_push(h, make_buffer(1)), GST_FLOW_EOS) << "no data after EOS...";

  // ... until a new stream starts, like core queue: STREAM_START (or SEGMENT) restarts it.
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_stream_start("second")));
  EXPECT_TRUE(gst_harness_push_event(h, new_segment_event()));
  push_index(h, 2);
  GstBuffer *out = gst_harness_pull(h);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(GST_BUFFER_OFFSET(out), 2u);
  gst_buffer_unref(out);
  const auto events = pull_events_until(h, GST_EVENT_SEGMENT);
  EXPECT_NE(std::find(events.begin(), events.end(), "stream-start"), events.end());
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_FALSE(pull_events_until(h, GST_EVENT_EOS).empty()) << "the second stream ends too";
  expect_invariant(h->element);
}

TEST(DropQueue, StickyEventsWhileNotLinkedAreKeptAndFollowTheRelink) {
  auto owner = new_dropqueue({});
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, kRawCaps);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  GstPad *src = gst_element_get_static_pad(h->element, "src");
  GstPad *peer = gst_pad_get_peer(src);
  ASSERT_TRUE(gst_pad_unlink(src, peer));

  push_index(h, 0); // taken, then pushing it finds nobody downstream
  ASSERT_TRUE(wait_task_paused(h->element));
  EXPECT_EQ(gst_harness_push(h, make_buffer(1)), GST_FLOW_NOT_LINKED) << "upstream hears of it";
  // Upstream reports it (a source posts the flow error): this element only does so when
  // upstream already sent EOS, and pushes no EOS that would end a relinked stream.
  GstMessage *err = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  EXPECT_EQ(err, nullptr);
  if (err)
    gst_message_unref(err);

  // Sticky events are taken and kept in order; other serialized events are refused (and
  // so is EOS, which would also end the harness' own stream: not sent here).
  EXPECT_TRUE(gst_harness_push_event(
      h, gst_event_new_tag(gst_tag_list_new(GST_TAG_TITLE, "while-unlinked", nullptr))));
  EXPECT_FALSE(gst_harness_push_event(
      h, gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty("x"))));

  ASSERT_EQ(gst_pad_link(src, peer), GST_PAD_LINK_OK);
  gst_pad_send_event(src, gst_event_new_reconfigure()); // what a relinking app sends
  bool tag_seen = false;
  while (GstEvent *ev = gst_harness_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_TAG) {
      GstTagList *tags = nullptr;
      gst_event_parse_tag(ev, &tags);
      gchar *title = nullptr;
      tag_seen = gst_tag_list_get_string(tags, GST_TAG_TITLE, &title) &&
                 g_strcmp0(title, "while-unlinked") == 0;
      g_free(title);
    }
    gst_event_unref(ev);
    if (tag_seen)
      break;
  }
  EXPECT_TRUE(tag_seen) << "the tag taken while not linked went out after the relink";
  push_index(h, 2);
  GstBuffer *out = gst_harness_pull(h);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(GST_BUFFER_OFFSET(out), 2u);
  gst_buffer_unref(out);

  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_object_unref(peer);
  gst_object_unref(src);
}

TEST(DropQueue, ABufferListIsQueuedAsItsBuffersInOneGo) {
  auto owner = new_dropqueue({{"max-size-buffers", "3"}});
  GstHarness *h = owner.get();
  GstPad *sink = gst_element_get_static_pad(h->element, "sink");
  EXPECT_NE(GST_PAD_CHAINLISTFUNC(sink), nullptr) << "lists are handled, not split by the pad";
  gst_object_unref(sink);
  gst_harness_set_src_caps_str(h, kRawCaps);

  // The src task cannot take a buffer before the whole list is in: a list of 20 into a
  // queue of 3 keeps the newest 3, and every count is per buffer.
  GstBufferList *list = gst_buffer_list_new();
  for (guint64 i = 0; i < 20; ++i)
    gst_buffer_list_add(list, make_buffer(i));
  ASSERT_EQ(gst_pad_push_list(h->srcpad, list), GST_FLOW_OK);
  EXPECT_EQ(stats_u64(h->element, "in"), 20u);
  EXPECT_EQ(stats_u64(h->element, "dropped-overflow"), 17u);
  expect_invariant(h->element);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  std::vector<bool> disconts;
  EXPECT_EQ(pull_offsets_until_eos(h, &disconts), (std::vector<guint64>{17, 18, 19}));
  EXPECT_EQ(disconts, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(stats_u64(h->element, "out"), 3u);
}
