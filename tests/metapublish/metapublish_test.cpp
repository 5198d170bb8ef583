// SPDX-License-Identifier: LGPL-2.1-or-later
// metapublish behind objecttrack, against a JSON-lines file and a real redis-server on a free
// loopback port (tests/common/redis_server.hpp): the same records both ways (XRANGE == file),
// the events equal to objecttrack's bus messages, every line valid against the v1 schema;
// Redis killed mid-stream (video unaffected in count and timing, one warning, drops counted,
// publishing resumes after a restart with a recovery message); bad locations refused at start;
// the max-pending bound.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "json_schema_lite.hpp"
#include "redis_client.hpp"
#include "redis_server.hpp"
#include "roi_frames.hpp"
#include "test_util.hpp"
#include "track_event_json.hpp"

using namespace keepup::test;

namespace {

const char *kCaps = "video/x-raw,format=BGR,width=640,height=360,framerate=30/1";
const char *kTracker =
    "objecttrack stream-name=cam1 post-track-messages=true min-hits=2 lines=gate:320,0,320,360";
constexpr guint64 kWallBase = 1796000000ULL * GST_SECOND; // a fixed UTC capture time

// Frame n: a car driving right across the gate, a parked one, a capture-time meta.
GstBuffer *scene_frame(guint64 n) {
  GstBuffer *buf = roi_frame(n, {{40.0 + 6.0 * static_cast<double>(n), 100, 60, 30, "car", 0},
                                 {500, 250, 50, 40, "truck", 1}});
  GstCaps *unix_caps = gst_caps_new_empty_simple("timestamp/x-unix");
  gst_buffer_add_reference_timestamp_meta(buf, unix_caps, kWallBase + GST_BUFFER_PTS(buf),
                                          GST_CLOCK_TIME_NONE);
  gst_caps_unref(unix_caps);
  return buf;
}

HarnessPtr publisher(const std::string &props) {
  HarnessPtr h(gst_harness_new_parse((std::string(kTracker) + " ! metapublish " + props).c_str()));
  gst_harness_set_src_caps_str(h.get(), kCaps);
  return h;
}

// Declared after a BusTap on a harness: the element leaves the tap's bus before the tap goes
// (the harness teardown posts state changes; a bus left holding them would keep the
// element and its pads alive in a cycle).
struct BusDetach {
  GstElement *element;
  ~BusDetach() { gst_element_set_bus(element, nullptr); }
};

GstElement *find_publisher(GstHarness *h) {
  return gst_harness_find_element(h, "metapublish");
}

std::vector<std::string> read_lines(const std::string &path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::vector<keepup::redis::StreamEntry> xrange(RedisServer &server, const std::string &key) {
  auto c = server.client();
  EXPECT_TRUE(c);
  if (!c)
    return {};
  keepup::redis::Reply r;
  std::string err;
  EXPECT_TRUE(c->command({"XRANGE", key, "-", "+"}, &r, &err)) << err;
  return keepup::redis::parse_entries(r);
}

struct TempFile {
  TempFile() {
    gchar *p = nullptr;
    gint fd = g_file_open_tmp("metapublish-XXXXXX.jsonl", &p, nullptr);
    if (fd >= 0)
      close(fd);
    path = p ? p : "";
    g_free(p);
  }
  ~TempFile() { g_remove(path.c_str()); }
  std::string path;
};

std::vector<std::string> event_lines_of(std::vector<GstMessage *> &msgs) {
  std::vector<std::string> out;
  for (GstMessage *m : msgs) {
    const std::string line = keepup::trackevents::event_json_line(gst_message_get_structure(m));
    if (!line.empty())
      out.push_back(line);
  }
  return out;
}

int warnings_from(std::vector<GstMessage *> &msgs, const char *element) {
  int n = 0;
  for (GstMessage *m : msgs)
    n += g_str_has_prefix(GST_OBJECT_NAME(GST_MESSAGE_SRC(m)), element);
  return n;
}

} // namespace

// The same frames through the same pipeline, once per method: XRANGE gives the file's
// records (same order, same JSON, type field = the JSON's type); in each run the published
// events are objecttrack's bus messages, the track ends at EOS included; every line validates.
TEST(MetaPublish, RedisStreamHoldsTheSameRecordsAsTheFile) {
  if (RedisServer::binary().empty())
    GTEST_SKIP() << "redis-server not installed";
  RedisServer server;
  ASSERT_TRUE(server.start());
  TempFile file;
  std::vector<std::string> bus_events[2];
  for (int run = 0; run < 2; ++run) {
    const std::string props = run == 0 ? "method=file location=" + file.path
                                       : "method=redis location=" + server.uri() + "/3";
    HarnessPtr h = publisher(props + " stream=cam1");
    BusTap bus(h->element);
    BusDetach detach{h->element};
    for (guint64 n = 0; n < 90; ++n)
      gst_buffer_unref(gst_harness_push_and_pull(h.get(), scene_frame(n)));
    ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));
    GstElement *mp = find_publisher(h.get());
    EXPECT_EQ(stats_u64(mp, "pending"), 0u) << "EOS waits for the records";
    EXPECT_EQ(stats_u64(mp, "dropped"), 0u);
    EXPECT_EQ(stats_u64(mp, "frames"), 90u);
    EXPECT_EQ(stats_u64(mp, "published"), stats_u64(mp, "accepted"));
    gst_object_unref(mp);
    auto msgs = bus.take(GST_MESSAGE_ELEMENT);
    bus_events[run] = event_lines_of(msgs);
    BusTap::unref_all(msgs);
  }
  const std::vector<std::string> file_lines = read_lines(file.path);
  std::vector<std::string> file_events;
  std::map<std::string, int> types;
  std::ifstream schema_in(KEEPUP_TEST_EVENTS_SCHEMA);
  const SchemaLite schema(nlohmann::json::parse(schema_in));
  for (const auto &line : file_lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(schema.validate(j), "") << line;
    const std::string type = j.at("type");
    ++types[type];
    if (type != "frame")
      file_events.push_back(line);
  }
  EXPECT_EQ(types["frame"], 90);
  EXPECT_EQ(types["line-crossed"], 1);
  EXPECT_EQ(types["track-started"], 2);
  EXPECT_EQ(types["track-ended"], 2) << "the tracks alive at EOS end there (in-band event)";
  EXPECT_EQ(file_events, bus_events[0]) << "the published events are objecttrack's messages";

  EXPECT_TRUE(xrange(server, "keepup:events:cam1").empty()) << "written to db 3, not 0";
  auto c = server.client();
  ASSERT_TRUE(c);
  keepup::redis::Reply r;
  std::string err;
  ASSERT_TRUE(c->command({"SELECT", "3"}, &r, &err)) << err;
  ASSERT_TRUE(c->command({"XRANGE", "keepup:events:cam1", "-", "+"}, &r, &err)) << err;
  const auto entries = keepup::redis::parse_entries(r);
  ASSERT_EQ(entries.size(), file_lines.size());
  std::vector<std::string> redis_events;
  // The tracks ended at EOS carry the wall time of EOS (now): the one field that differs
  // between the two runs.
  auto comparable = [](const std::string &line) {
    auto j = nlohmann::json::parse(line);
    if (j.at("type") == "track-ended")
      j.erase("wall_time");
    return j.dump();
  };
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string *json = entries[i].field("json");
    const std::string *type = entries[i].field("type");
    ASSERT_TRUE(json && type) << i;
    EXPECT_EQ(comparable(*json), comparable(file_lines[i])) << i;
    EXPECT_EQ(*type, nlohmann::json::parse(*json).at("type")) << i;
    if (*type != "frame")
      redis_events.push_back(*json);
  }
  EXPECT_EQ(redis_events, bus_events[1]) << "the published events are objecttrack's messages";
}

// Redis SIGKILLed mid-stream and started again on the same port: every frame comes out, none
// is held up by the outage, one warning, drops counted, and publishing resumes with a
// recovery message.
TEST(MetaPublish, RedisKilledMidStreamNeverDelaysVideoAndResumes) {
  if (RedisServer::binary().empty())
    GTEST_SKIP() << "redis-server not installed";
  RedisServer server;
  ASSERT_TRUE(server.start());
  HarnessPtr h = publisher("method=redis location=" + server.uri() +
                           " stream=cam1 max-pending=64 timeout=500");
  GstElement *mp = find_publisher(h.get());
  BusTap bus(h->element);
  BusDetach detach{h->element};
  guint64 pushed = 0, pulled = 0;
  double worst_ms = 0, worst_outage_ms = 0;
  std::vector<double> outage_ms;
  bool outage = false;
  auto push_one = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    const GstFlowReturn ret = gst_harness_push(h.get(), scene_frame(pushed));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(ret, GST_FLOW_OK);
    worst_ms = std::max(worst_ms, ms);
    if (outage) {
      worst_outage_ms = std::max(worst_outage_ms, ms);
      outage_ms.push_back(ms);
    }
    GstBuffer *out = gst_harness_pull(h.get());
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(GST_BUFFER_PTS(out), pushed * kRoiFrame);
    gst_buffer_unref(out);
    ++pulled;
    ++pushed;
    g_usleep(4000); // a live source's pace (250 fps), so the publisher keeps up
  };
  for (int i = 0; i < 60; ++i)
    push_one();
  ASSERT_TRUE(server.client());
  server.kill();
  outage = true;
  for (int i = 0; i < 120; ++i)
    push_one();
  outage = false;
  EXPECT_GT(stats_u64(mp, "dropped"), 0u) << "120 frames against max-pending=64";
  EXPECT_EQ(stats_u64(mp, "pending-max"), 64u);
  ASSERT_TRUE(server.start()); // same port, empty (no persistence)
  // Frames go on until the publisher is back (its backoff is at most 5 s).
  bool recovered = false;
  guint64 recovered_dropped = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!recovered && std::chrono::steady_clock::now() < deadline) {
    push_one();
    auto msgs = bus.take(GST_MESSAGE_ELEMENT);
    for (GstMessage *m : msgs)
      if (gst_structure_has_name(gst_message_get_structure(m), "metapublish-recovered")) {
        recovered = true;
        gst_structure_get_uint64(gst_message_get_structure(m), "dropped", &recovered_dropped);
      }
    BusTap::unref_all(msgs);
  }
  ASSERT_TRUE(recovered) << "no metapublish-recovered message";
  EXPECT_GT(recovered_dropped, 0u);
  const guint64 first_after = pushed;
  for (int i = 0; i < 30; ++i)
    push_one();
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));

  EXPECT_EQ(pulled, pushed) << "every frame came out";
  // A frame that waited for Redis would take the reconnect attempt or the timeout (500 ms);
  // the rest is the machine's scheduling noise.
  std::sort(outage_ms.begin(), outage_ms.end());
  ASSERT_FALSE(outage_ms.empty());
  EXPECT_LT(outage_ms[outage_ms.size() * 95 / 100], 5.0) << "p95 push time during the outage";
  EXPECT_LT(worst_outage_ms, 50.0) << "a frame was held up by the outage (timeout=500)";
  std::printf("worst push %.2f ms, during the outage %.2f ms, %" G_GUINT64_FORMAT " frames\n",
              worst_ms, worst_outage_ms, pushed);
  auto warnings = bus.take(GST_MESSAGE_WARNING);
  EXPECT_EQ(warnings_from(warnings, "metapublish"), 1) << "one warning for the outage";
  BusTap::unref_all(warnings);
  EXPECT_EQ(stats_u64(mp, "reconnects"), 1u);
  EXPECT_EQ(stats_u64(mp, "pending"), 0u);
  EXPECT_EQ(stats_u64(mp, "accepted"),
            stats_u64(mp, "published") + stats_u64(mp, "dropped") + stats_u64(mp, "pending"));
  gst_object_unref(mp);

  // After the recovery every frame record is in the (new, empty) server, in order.
  std::vector<guint64> pts;
  for (const auto &e : xrange(server, "keepup:events:cam1"))
    if (const std::string *json = e.field("json")) {
      const auto j = nlohmann::json::parse(*json);
      if (j.at("type") == "frame")
        pts.push_back(j.at("pts").get<guint64>());
    }
  std::vector<guint64> tail;
  for (guint64 n = first_after; n < pushed; ++n)
    tail.push_back(n * kRoiFrame);
  // What waited through the outage and went out on reconnection is the newest records (the
  // oldest were dropped): the frames in the new server are one run without gaps.
  ASSERT_GE(pts.size(), tail.size());
  EXPECT_GT(pts.size(), tail.size()) << "records queued before the recovery were published";
  for (std::size_t i = 1; i < pts.size(); ++i)
    EXPECT_EQ(pts[i] - pts[i - 1], kRoiFrame) << "gap after pts " << pts[i - 1];
  EXPECT_EQ(std::vector<guint64>(pts.end() - static_cast<std::ptrdiff_t>(tail.size()), pts.end()),
            tail);
  EXPECT_TRUE(std::is_sorted(pts.begin(), pts.end()));
}

// A server that stops answering (CLIENT PAUSE: connections stay open, replies never come
// within `timeout`) is an outage too: frames go through at their pace, one warning, and the
// records resume with a recovery message once it answers again.
TEST(MetaPublish, RedisThatStopsAnsweringNeverDelaysVideo) {
  if (RedisServer::binary().empty())
    GTEST_SKIP() << "redis-server not installed";
  RedisServer server;
  ASSERT_TRUE(server.start());
  HarnessPtr h = publisher("method=redis location=" + server.uri() +
                           " stream=cam1 max-pending=100 timeout=300");
  BusTap bus(h->element);
  BusDetach detach{h->element};
  std::vector<double> paused_ms;
  guint64 n = 0;
  auto push_one = [&](std::vector<double> *times) {
    const auto t0 = std::chrono::steady_clock::now();
    GstBuffer *out = gst_harness_push_and_pull(h.get(), scene_frame(n++));
    if (times)
      times->push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_NE(out, nullptr);
    gst_buffer_unref(out);
    g_usleep(4000);
  };
  for (int i = 0; i < 30; ++i)
    push_one(nullptr);
  auto admin = server.client();
  ASSERT_TRUE(admin);
  keepup::redis::Reply r;
  std::string err;
  ASSERT_TRUE(admin->command({"CLIENT", "PAUSE", "1500", "ALL"}, &r, &err)) << err;
  ASSERT_FALSE(r.is_error()) << r.str;
  const auto paused_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < paused_until)
    push_one(&paused_ms);
  bool recovered = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!recovered && std::chrono::steady_clock::now() < deadline) {
    push_one(nullptr);
    auto msgs = bus.take(GST_MESSAGE_ELEMENT);
    for (GstMessage *m : msgs)
      recovered |= gst_structure_has_name(gst_message_get_structure(m), "metapublish-recovered");
    BusTap::unref_all(msgs);
  }
  EXPECT_TRUE(recovered);
  std::sort(paused_ms.begin(), paused_ms.end());
  ASSERT_FALSE(paused_ms.empty());
  const double p95 = paused_ms[paused_ms.size() * 95 / 100], worst = paused_ms.back();
  std::printf("while Redis did not answer: %zu frames, p95 %.2f ms, worst %.2f ms\n",
              paused_ms.size(), p95, worst);
  EXPECT_LT(p95, 5.0);
  EXPECT_LT(worst, 100.0) << "a frame waited for Redis (timeout=300)";
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));
  auto warnings = bus.take(GST_MESSAGE_WARNING);
  EXPECT_EQ(warnings_from(warnings, "metapublish"), 1);
  BusTap::unref_all(warnings);
  GstElement *mp = find_publisher(h.get());
  EXPECT_EQ(stats_u64(mp, "pending"), 0u);
  EXPECT_EQ(stats_u64(mp, "accepted"), stats_u64(mp, "published") + stats_u64(mp, "dropped"));
  gst_object_unref(mp);
}

// Nothing listening: the records never exceed max-pending, the oldest go, video flows.
TEST(MetaPublish, UnreachableRedisKeepsMaxPending) {
  const std::string uri = "redis://127.0.0.1:" + std::to_string(RedisServer::free_port());
  HarnessPtr h = publisher("method=redis location=" + uri + " stream=cam1 max-pending=20");
  for (guint64 n = 0; n < 200; ++n)
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), scene_frame(n)));
  GstElement *mp = find_publisher(h.get());
  EXPECT_EQ(stats_u64(mp, "pending"), 20u);
  EXPECT_EQ(stats_u64(mp, "pending-max"), 20u);
  EXPECT_EQ(stats_u64(mp, "published"), 0u);
  EXPECT_GE(stats_u64(mp, "dropped"), 200u - 20u);
  EXPECT_EQ(stats_u64(mp, "accepted"), stats_u64(mp, "frames") + stats_u64(mp, "events"));
  EXPECT_EQ(stats_u64(mp, "accepted"), stats_u64(mp, "dropped") + stats_u64(mp, "pending"));
  GstStructure *s = nullptr;
  g_object_get(mp, "stats", &s, nullptr);
  gboolean connected = TRUE;
  ASSERT_TRUE(gst_structure_get_boolean(s, "connected", &connected));
  EXPECT_FALSE(connected);
  gst_structure_free(s);
  gst_object_unref(mp);
}

// keepup-analyze --publish: file: puts metapublish in the chain (the events in the file are
// the ones --events writes from the bus in the same run, plus a frame record per frame), and
// a target that is neither redis:// nor a path is refused before anything runs.
TEST(MetaPublish, AnalyzePublishesWhatItsEventsOptionWrites) {
  TempFile published, events;
  auto run = [](std::vector<std::string> args, std::string *err) {
    args.insert(args.begin(), std::string(KEEPUP_TEST_BUILD_DIR) + "/bin/keepup-analyze");
    std::vector<gchar *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    gchar *e = nullptr;
    gint status = -1;
    const bool spawned = g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_STDOUT_TO_DEV_NULL,
                                      nullptr, nullptr, nullptr, &e, &status, nullptr);
    *err = e ? e : "";
    g_free(e);
    return spawned && g_spawn_check_wait_status(status, nullptr);
  };
  std::string err;
  ASSERT_TRUE(
      run({"test", "--seconds", "3", "--size", "640x360", "--output", "-", "--quiet", "--lines",
           "gate:320,0,320,360", "--events", events.path, "--publish", "file:" + published.path},
          &err))
      << err;
  std::vector<std::string> published_events;
  int frames = 0;
  for (const auto &line : read_lines(published.path)) {
    const auto j = nlohmann::json::parse(line);
    if (j.at("type") == "frame") {
      ++frames;
      EXPECT_EQ(j.at("stream"), "test");
    } else {
      published_events.push_back(line);
    }
  }
  EXPECT_EQ(frames, 90);
  const auto bus_events = read_lines(events.path);
  EXPECT_FALSE(bus_events.empty());
  EXPECT_EQ(published_events, bus_events);

  EXPECT_FALSE(run({"test", "--output", "-", "--publish", "http://127.0.0.1/x"}, &err));
  EXPECT_NE(err.find("--publish"), std::string::npos) << err;

  // Redis unreachable: the run goes on (every frame), and says so once.
  const std::string nobody =
      "redis://127.0.0.1:" + std::to_string(keepup::test::RedisServer::free_port());
  ASSERT_TRUE(run({"test", "--seconds", "2", "--size", "320x240", "--output", "-", "--quiet",
                   "--publish", nobody},
                  &err))
      << err;
  const auto warned = err.find("keepup-analyze: warning from");
  EXPECT_NE(warned, std::string::npos) << err;
  EXPECT_EQ(err.find("keepup-analyze: warning from", warned + 1), std::string::npos)
      << "one warning per outage: " << err;
}

// Bad locations fail at start with RESOURCE/SETTINGS (a file that cannot be created:
// OPEN_WRITE) and a reason; nothing crashes.
TEST(MetaPublish, BadLocationIsASettingsErrorAtStart) {
  struct Case {
    std::string props;
    gint code;
    const char *reason;
  };
  const std::vector<Case> cases = {
      {"method=redis location=redis://127.0.0.1:99999", GST_RESOURCE_ERROR_SETTINGS, "port"},
      {"method=redis location=http://127.0.0.1:6379", GST_RESOURCE_ERROR_SETTINGS, "redis://"},
      {"method=redis location=redis://h/16", GST_RESOURCE_ERROR_SETTINGS, "database"},
      {"method=redis", GST_RESOURCE_ERROR_SETTINGS, "location"},
      {"method=file location=/nonexistent-keepup-dir/x.jsonl", GST_RESOURCE_ERROR_OPEN_WRITE,
       "nonexistent-keepup-dir"},
  };
  for (const Case &c : cases) {
    GstElement *p = gst_parse_launch(
        ("videotestsrc num-buffers=3 ! metapublish " + c.props + " ! fakesink").c_str(), nullptr);
    ASSERT_NE(p, nullptr);
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *m = gst_bus_timed_pop_filtered(
        bus, 10 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
    ASSERT_NE(m, nullptr) << c.props;
    ASSERT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_ERROR) << c.props;
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(m, &err, &dbg);
    EXPECT_EQ(err->domain, GST_RESOURCE_ERROR) << c.props;
    EXPECT_EQ(err->code, c.code) << c.props << ": " << err->message;
    const std::string text = std::string(err->message) + " | " + (dbg ? dbg : "");
    EXPECT_NE(text.find(c.reason), std::string::npos) << c.props << ": " << text;
    g_clear_error(&err);
    g_free(dbg);
    gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
  }
}
