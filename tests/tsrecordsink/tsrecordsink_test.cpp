// SPDX-License-Identifier: LGPL-2.1-or-later
// tsrecordsink element tests: harness-driven writes with a test clock and the wait-written
// signal (no sleeps as synchronisation), rotation, errors with their exact domain/code, a
// real full disk (a 1 MiB tmpfs, when the machine lets us mount one) and a real crash
// (SIGKILL of a recording gst-launch-1.0) followed by recovery.
#include "test_util.hpp"

#include "file_exists.hpp"

#include <gst/app/gstappsink.h>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <random>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace keepup::test;

namespace {

constexpr const char *kTsCaps = "video/mpegts,systemstream=(boolean)true,packetsize=(int)188";
constexpr size_t kPacket = 188;

// Three seconds of H.264 in MPEG-TS from the real muxer, keyframe every 15 frames. Snow
// keeps the encoder at its 2 Mbit/s target: about 750 KB, enough to rotate and fill a disk.
const std::vector<uint8_t> &sample_ts() {
  static std::vector<uint8_t> data = [] {
    std::vector<uint8_t> out;
    GstElement *pipeline = gst_parse_launch(
        "videotestsrc num-buffers=90 pattern=snow ! "
        "video/x-raw,width=320,height=240,framerate=30/1 ! "
        "x264enc key-int-max=15 bframes=0 tune=zerolatency speed-preset=ultrafast ! "
        "mpegtsmux ! appsink name=sink sync=false",
        nullptr);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    while (GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
      GstMapInfo map;
      GstBuffer *buf = gst_sample_get_buffer(sample);
      gst_buffer_map(buf, &map, GST_MAP_READ);
      out.insert(out.end(), map.data, map.data + map.size);
      gst_buffer_unmap(buf, &map);
      gst_sample_unref(sample);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    return out;
  }();
  return data;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/keepup-rec-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("umount '" + path + "' 2>/dev/null; rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string &name) const { return path + "/" + name; }
};

uint64_t file_size(const std::string &path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

using keepup::file_exists;

std::vector<uint8_t> read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

HarnessPtr new_recorder(const std::vector<std::pair<const char *, const char *>> &props) {
  GstElement *sink = gst_element_factory_make("tsrecordsink", nullptr);
  for (const auto &[name, value] : props)
    gst_util_set_object_arg(G_OBJECT(sink), name, value);
  HarnessPtr h(gst_harness_new_with_element(sink, "sink", nullptr));
  gst_object_unref(sink);
  gst_harness_set_src_caps_str(h.get(), kTsCaps);
  return h;
}

GstFlowReturn push_bytes(GstHarness *h, const uint8_t *data, size_t len) {
  GstBuffer *buf = gst_buffer_new_memdup(data, len);
  return gst_harness_push(h, buf);
}

void wait_written(GstHarness *h) {
  gboolean ok = FALSE;
  g_signal_emit_by_name(h->element, "wait-written", &ok);
  ASSERT_TRUE(ok);
}

// Frames decoded from a TS file with corrupt-frame output off; error text in `error`.
int decoded_frames(const std::string &path, std::string &error) {
  gchar *desc = g_strdup_printf(
      "filesrc location=\"%s\" ! tsdemux ! h264parse ! avdec_h264 output-corrupt=false ! "
      "fakesink name=sink signal-handoffs=true sync=false",
      path.c_str());
  GstElement *pipeline = gst_parse_launch(desc, nullptr);
  g_free(desc);
  const int frames = count_handoffs_to_eos(pipeline, error);
  gst_object_unref(pipeline);
  return frames;
}

GError *first_error(BusTap &tap) {
  auto errors = tap.take(GST_MESSAGE_ERROR);
  GError *err = nullptr;
  if (!errors.empty())
    gst_message_parse_error(errors[0], &err, nullptr);
  BusTap::unref_all(errors);
  return err;
}

} // namespace

TEST(TsRecordSink, OddBufferEdgesTempNameThenFinalNameAfterEos) {
  const auto &ts = sample_ts();
  ASSERT_GT(ts.size(), 500u * 1024);
  TempDir dir;
  const std::string final_path = dir.file("cam1.ts");
  const std::string temp_path = dir.file("cam1.recording.ts");
  auto owner = new_recorder(
      {{"location", final_path.c_str()}, {"flush-threshold", "9400"}, {"flush-interval", "0"}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  const size_t chunks[] = {1000, 1, 187, 3333, 189, 7, 65536};
  size_t pos = 0, c = 0;
  while (pos < ts.size() / 2) {
    const size_t len = std::min(chunks[c++ % 7], ts.size() - pos);
    ASSERT_EQ(push_bytes(h, ts.data() + pos, len), GST_FLOW_OK);
    pos += len;
  }
  wait_written(h);
  EXPECT_TRUE(file_exists(temp_path));
  EXPECT_GT(file_size(temp_path), 0u) << "written through while recording";
  EXPECT_EQ(file_size(temp_path) % kPacket, 0u);
  EXPECT_FALSE(file_exists(final_path));
  while (pos < ts.size()) {
    const size_t len = std::min(chunks[c++ % 7], ts.size() - pos);
    ASSERT_EQ(push_bytes(h, ts.data() + pos, len), GST_FLOW_OK);
    pos += len;
  }
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_FALSE(file_exists(temp_path));
  EXPECT_EQ(read_file(final_path), ts) << "every byte, in order, across odd buffer edges";

  auto finished = tap.take(GST_MESSAGE_ELEMENT);
  ASSERT_EQ(finished.size(), 1u);
  const GstStructure *s = gst_message_get_structure(finished[0]);
  EXPECT_TRUE(gst_structure_has_name(s, "tsrecordsink-finished"));
  EXPECT_STREQ(gst_structure_get_string(s, "location"), final_path.c_str());
  guint64 bytes = 0, packets = 0, duration = 0;
  gst_structure_get_uint64(s, "bytes", &bytes);
  gst_structure_get_uint64(s, "packets", &packets);
  gst_structure_get_uint64(s, "duration", &duration);
  EXPECT_EQ(bytes, ts.size());
  EXPECT_EQ(packets, ts.size() / kPacket);
  EXPECT_GT(duration, 2 * GST_SECOND);
  EXPECT_LT(duration, 4 * GST_SECOND);
  BusTap::unref_all(finished);

  std::string error;
  EXPECT_EQ(decoded_frames(final_path, error), 90);
  EXPECT_EQ(error, "");
}

TEST(TsRecordSink, FlushesAtTheThresholdNotPerPacket) {
  const auto &ts = sample_ts();
  TempDir dir;
  auto owner = new_recorder({{"location", dir.file("t.ts").c_str()},
                             {"flush-threshold", "18800"},
                             {"flush-interval", "0"}});
  GstHarness *h = owner.get();
  for (size_t i = 0; i < 99; ++i)
    ASSERT_EQ(push_bytes(h, ts.data() + i * kPacket, kPacket), GST_FLOW_OK);
  wait_written(h);
  EXPECT_EQ(file_size(dir.file("t.recording.ts")), 0u) << "99 packets stay below the threshold";
  ASSERT_EQ(push_bytes(h, ts.data() + 99 * kPacket, kPacket), GST_FLOW_OK);
  wait_written(h);
  EXPECT_EQ(file_size(dir.file("t.recording.ts")), 100 * kPacket);
  EXPECT_EQ(stats_u64(h->element, "flushes"), 1u);
  EXPECT_EQ(stats_u64(h->element, "packets-written"), 100u);
}

TEST(TsRecordSink, FlushesAtTheIntervalOnThePipelineClock) {
  const auto &ts = sample_ts();
  TempDir dir;
  auto owner =
      new_recorder({{"location", dir.file("i.ts").c_str()}, {"flush-interval", "1000000000"}});
  GstHarness *h = owner.get();
  const std::string temp = dir.file("i.recording.ts");
  ASSERT_TRUE(gst_harness_set_time(h, 0));
  ASSERT_EQ(push_bytes(h, ts.data(), 10 * kPacket), GST_FLOW_OK);
  ASSERT_TRUE(gst_harness_set_time(h, 500 * GST_MSECOND));
  ASSERT_EQ(push_bytes(h, ts.data() + 10 * kPacket, 10 * kPacket), GST_FLOW_OK);
  wait_written(h);
  EXPECT_EQ(file_size(temp), 0u);
  ASSERT_TRUE(gst_harness_set_time(h, GST_SECOND));
  ASSERT_EQ(push_bytes(h, ts.data() + 20 * kPacket, 10 * kPacket), GST_FLOW_OK);
  wait_written(h);
  EXPECT_EQ(file_size(temp), 30 * kPacket) << "a second passed: everything handed over";
}

TEST(TsRecordSink, RotatesOnlyAtRandomAccessPointsWithPatPmtFirst) {
  const auto &ts = sample_ts();
  TempDir dir;
  auto owner = new_recorder({{"location", dir.file("r-%03d.ts").c_str()},
                             {"max-size-bytes", "100000"},
                             {"flush-interval", "0"}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  for (size_t pos = 0; pos < ts.size(); pos += 5000)
    ASSERT_EQ(push_bytes(h, ts.data() + pos, std::min<size_t>(5000, ts.size() - pos)), GST_FLOW_OK);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));

  std::vector<std::string> files;
  for (int i = 0;; ++i) {
    gchar *name = g_strdup_printf("r-%03d.ts", i);
    const std::string f = dir.file(name);
    g_free(name);
    if (!file_exists(f))
      break;
    files.push_back(f);
  }
  ASSERT_GE(files.size(), 3u);
  auto finished = tap.take(GST_MESSAGE_ELEMENT);
  EXPECT_EQ(finished.size(), files.size());
  BusTap::unref_all(finished);

  uint64_t total = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto data = read_file(files[i]);
    ASSERT_EQ(data.size() % kPacket, 0u);
    total += data.size();
    if (i > 0) {
      // PAT, PMT, then the random-access packet the cut was made at.
      EXPECT_EQ(((data[1] & 0x1f) << 8) | data[2], 0) << files[i] << " starts with the PAT";
      const uint8_t *cut = data.data() + 2 * kPacket;
      EXPECT_TRUE((cut[3] & 0x20) && cut[4] > 0 && (cut[5] & 0x40))
          << files[i] << " starts at a random-access point";
    }
    std::string error;
    EXPECT_GT(decoded_frames(files[i], error), 0) << files[i];
    EXPECT_EQ(error, "") << files[i];
  }
  EXPECT_EQ(total, ts.size() + (files.size() - 1) * 2 * kPacket);
}

TEST(TsRecordSink, RotatesByPcrDuration) {
  const auto &ts = sample_ts(); // 3 s, a keyframe every 0.5 s
  TempDir dir;
  auto owner = new_recorder({{"location", dir.file("t-%d.ts").c_str()},
                             {"max-size-time", "1000000000"},
                             {"flush-interval", "0"}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  ASSERT_EQ(push_bytes(h, ts.data(), ts.size()), GST_FLOW_OK);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  auto finished = tap.take(GST_MESSAGE_ELEMENT);
  ASSERT_GE(finished.size(), 2u);
  ASSERT_LE(finished.size(), 3u) << "1 s files out of 3 s";
  for (size_t i = 0; i + 1 < finished.size(); ++i) {
    guint64 duration = 0;
    gst_structure_get_uint64(gst_message_get_structure(finished[i]), "duration", &duration);
    EXPECT_GE(duration, 900 * GST_MSECOND) << "file " << i;
    EXPECT_LE(duration, 1600 * GST_MSECOND) << "cut at the first keyframe after 1 s";
  }
  BusTap::unref_all(finished);
  EXPECT_TRUE(file_exists(dir.file("t-0.ts")));
  EXPECT_TRUE(file_exists(dir.file("t-1.ts")));
}

TEST(TsRecordSink, M2tsPacketsOf192Bytes) {
  const auto &ts = sample_ts();
  std::vector<uint8_t> m2ts;
  for (size_t i = 0; i + kPacket <= ts.size(); i += kPacket) {
    const uint8_t stamp[4] = {0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    m2ts.insert(m2ts.end(), stamp, stamp + 4);
    m2ts.insert(m2ts.end(), ts.begin() + static_cast<std::ptrdiff_t>(i),
                ts.begin() + static_cast<std::ptrdiff_t>(i + kPacket));
  }
  TempDir dir;
  GstElement *sink = gst_element_factory_make("tsrecordsink", nullptr);
  g_object_set(sink, "location", dir.file("a.m2ts").c_str(), nullptr);
  HarnessPtr owner(gst_harness_new_with_element(sink, "sink", nullptr));
  gst_object_unref(sink);
  GstHarness *h = owner.get();
  gst_harness_set_src_caps_str(h, "video/mpegts,systemstream=(boolean)true,packetsize=(int)192");
  for (size_t pos = 0; pos < m2ts.size(); pos += 1000)
    ASSERT_EQ(push_bytes(h, m2ts.data() + pos, std::min<size_t>(1000, m2ts.size() - pos)),
              GST_FLOW_OK);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_EQ(read_file(dir.file("a.m2ts")), m2ts);
  EXPECT_FALSE(file_exists(dir.file("a.recording.ts")));
}

TEST(TsRecordSink, StatsHaveEveryDocumentedField) {
  TempDir dir;
  auto owner = new_recorder({{"location", dir.file("s.ts").c_str()}});
  GstHarness *h = owner.get();
  ASSERT_EQ(push_bytes(h, sample_ts().data(), 50 * kPacket), GST_FLOW_OK);
  GstStructure *s = nullptr;
  g_object_get(h->element, "stats", &s, nullptr);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(gst_structure_has_name(s, "application/x-tsrecordsink-stats"));
  for (const char *field : {"bytes-written", "packets-written", "flushes", "fsyncs",
                            "files-finished", "max-write-latency-ns", "slow-writes",
                            "write-stall-ns", "resyncs", "pending-bytes", "recovered-files"})
    EXPECT_TRUE(gst_structure_has_field_typed(s, field, G_TYPE_UINT64)) << field;
  EXPECT_STREQ(gst_structure_get_string(s, "current-location"), dir.file("s.ts").c_str());
  gst_structure_free(s);
}

TEST(TsRecordSink, ResyncsAreCounted) {
  const auto &ts = sample_ts();
  TempDir dir;
  auto owner = new_recorder({{"location", dir.file("g.ts").c_str()}});
  GstHarness *h = owner.get();
  ASSERT_EQ(push_bytes(h, ts.data(), 20 * kPacket), GST_FLOW_OK);
  const std::vector<uint8_t> junk(33, 0x00);
  ASSERT_EQ(push_bytes(h, junk.data(), junk.size()), GST_FLOW_OK);
  ASSERT_EQ(push_bytes(h, ts.data() + 20 * kPacket, 40 * kPacket), GST_FLOW_OK);
  EXPECT_EQ(stats_u64(h->element, "resyncs"), 33u);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_EQ(file_size(dir.file("g.ts")), 60 * kPacket);
}

TEST(TsRecordSink, UnwritableLocationIsOpenWriteAtStart) {
  GError *err = run_pipeline_error("videotestsrc num-buffers=1 ! x264enc ! mpegtsmux ! "
                                   "tsrecordsink location=/nonexistent-keepup-dir/x.ts");
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE))
      << err->message;
  g_clear_error(&err);
  err = run_pipeline_error("videotestsrc num-buffers=1 ! x264enc ! mpegtsmux ! tsrecordsink");
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND))
      << err->message;
  g_clear_error(&err);
}

TEST(TsRecordSink, RotationWithoutPatternIsASettingsError) {
  TempDir dir;
  GError *err = run_pipeline_error("videotestsrc num-buffers=1 ! x264enc ! mpegtsmux ! "
                                   "tsrecordsink max-size-bytes=1000 location=" +
                                   dir.file("nopattern.ts"));
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS))
      << err->message;
  g_clear_error(&err);
}

TEST(TsRecordSink, BadLocationPatternsAreSettingsErrorsNamingTheLocation) {
  TempDir dir;
  for (const char *name :
       {"x-%s.ts", "x-%d-%d.ts", "x-%99999999999999999999d.ts", "x-%0100000000d.ts"}) {
    SCOPED_TRACE(name);
    GError *err = run_pipeline_error("videotestsrc num-buffers=1 ! x264enc ! mpegtsmux ! "
                                     "tsrecordsink max-size-bytes=100000 location=" +
                                     dir.file(name));
    ASSERT_NE(err, nullptr);
    EXPECT_TRUE(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS))
        << err->message;
    EXPECT_NE(std::string(err->message).find(name), std::string::npos) << err->message;
    g_clear_error(&err);
  }
}

TEST(TsRecordSink, LocationChangeWhileRecordingIsRefused) {
  TempDir dir;
  const std::string loc = dir.file("keep.ts");
  auto owner = new_recorder({{"location", loc.c_str()}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  ASSERT_EQ(push_bytes(h, sample_ts().data(), 30 * kPacket), GST_FLOW_OK);
  g_object_set(h->element, "location", dir.file("other.ts").c_str(), nullptr);
  gchar *now = nullptr;
  g_object_get(h->element, "location", &now, nullptr);
  EXPECT_STREQ(now, loc.c_str());
  g_free(now);
  auto warnings = tap.take(GST_MESSAGE_WARNING);
  ASSERT_EQ(warnings.size(), 1u);
  GError *err = nullptr;
  gst_message_parse_warning(warnings[0], &err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  g_clear_error(&err);
  BusTap::unref_all(warnings);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  EXPECT_TRUE(file_exists(loc));
  EXPECT_FALSE(file_exists(dir.file("other.ts")));
}

TEST(TsRecordSink, GarbageInputIsWrongType) {
  TempDir dir;
  auto owner = new_recorder({{"location", dir.file("junk.ts").c_str()}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  std::mt19937 rng(3);
  std::vector<uint8_t> junk(256 * 1024);
  for (auto &b : junk)
    b = static_cast<uint8_t>(rng());
  GstFlowReturn ret = GST_FLOW_OK;
  for (size_t pos = 0; pos < junk.size() && ret == GST_FLOW_OK; pos += 4096)
    ret = push_bytes(h, junk.data() + pos, 4096);
  EXPECT_EQ(ret, GST_FLOW_ERROR);
  GError *err = first_error(tap);
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE)) << err->message;
  g_clear_error(&err);
}

// Records the sample four times over (about 3 MB), waiting for the disk after each block,
// until a buffer is refused; returns the last flow return.
GstFlowReturn record_until_refused(GstHarness *h, const std::vector<uint8_t> &ts) {
  GstFlowReturn ret = GST_FLOW_OK;
  for (int round = 0; round < 4 && ret == GST_FLOW_OK; ++round)
    for (size_t pos = 0; pos < ts.size() && ret == GST_FLOW_OK; pos += 18800) {
      ret = push_bytes(h, ts.data() + pos, std::min<size_t>(18800, ts.size() - pos));
      gboolean written = TRUE;
      g_signal_emit_by_name(h->element, "wait-written", &written);
      if (!written) // the writer failed: the next buffer must be refused with an error
        ret = push_bytes(h, ts.data(), kPacket);
    }
  return ret;
}

// A real full disk: a 1 MiB tmpfs. Needs the right to mount (root in CI); skips otherwise.
class TsRecordSinkFullDisk : public ::testing::Test {
protected:
  void SetUp() override {
    if (::mount("tmpfs", dir.path.c_str(), "tmpfs", 0, "size=1m") != 0)
      GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                   << "): the full-disk path is covered by the core's injected-ENOSPC tests";
  }
  void TearDown() override { ::umount(dir.path.c_str()); }
  TempDir dir;
};

TEST_F(TsRecordSinkFullDisk, EnospcFinishesAValidFileAndSaysSo) {
  const auto &ts = sample_ts();
  const std::string loc = dir.file("full.ts");
  auto owner = new_recorder(
      {{"location", loc.c_str()}, {"min-free-bytes", "0"}, {"flush-threshold", "18800"}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  const GstFlowReturn ret = record_until_refused(h, ts);
  EXPECT_EQ(ret, GST_FLOW_ERROR);
  GError *err = first_error(tap);
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT))
      << err->message;
  EXPECT_NE(std::string(err->message).find("no space left"), std::string::npos) << err->message;
  g_clear_error(&err);
  ASSERT_TRUE(file_exists(loc)) << "finished under its final name";
  EXPECT_FALSE(file_exists(dir.file("full.recording.ts")));
  const uint64_t size = file_size(loc);
  EXPECT_GT(size, 500u * 1024);
  EXPECT_EQ(size % kPacket, 0u) << "whole packets only";
  std::string error;
  EXPECT_GT(decoded_frames(loc, error), 0);
}

TEST_F(TsRecordSinkFullDisk, MinFreeBytesStopsEarlyAndTellsHowMuchIsLeft) {
  const auto &ts = sample_ts();
  const std::string loc = dir.file("early.ts");
  auto owner = new_recorder(
      {{"location", loc.c_str()}, {"min-free-bytes", "524288"}, {"flush-threshold", "18800"}});
  GstHarness *h = owner.get();
  BusTap tap(h->element);
  const GstFlowReturn ret = record_until_refused(h, ts);
  EXPECT_EQ(ret, GST_FLOW_ERROR);
  GError *err = first_error(tap);
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT));
  EXPECT_NE(std::string(err->message).find("left on"), std::string::npos) << err->message;
  g_clear_error(&err);
  EXPECT_TRUE(file_exists(loc));
  EXPECT_LE(file_size(loc), 1024u * 1024 - 524288);
  EXPECT_EQ(file_size(loc) % kPacket, 0u);
}

// A real crash: gst-launch-1.0 records a live source and is SIGKILLed after ~3 s.
TEST(TsRecordSinkCrash, KilledRecordingIsRecoveredByCliAndByTheNextStart) {
  TempDir dir;
  const std::string loc = dir.file("cam.ts");
  const std::string temp = dir.file("cam.recording.ts");
  const std::string loc_arg = "location=" + loc;
  const char *argv[] = {"gst-launch-1.0",
                        "-q",
                        "videotestsrc",
                        "is-live=true",
                        "pattern=ball",
                        "!",
                        "video/x-raw,width=320,height=240,framerate=30/1",
                        "!",
                        "x264enc",
                        "tune=zerolatency",
                        "speed-preset=ultrafast",
                        "key-int-max=15",
                        "!",
                        "mpegtsmux",
                        "!",
                        "tsrecordsink",
                        loc_arg.c_str(), // default flush-interval: 1 s
                        nullptr};
  GPid pid = 0;
  GError *spawn_error = nullptr;
  ASSERT_TRUE(
      g_spawn_async(nullptr, const_cast<gchar **>(argv), nullptr,
                    static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                             G_SPAWN_STDOUT_TO_DEV_NULL),
                    nullptr, nullptr, &pid, &spawn_error))
      << (spawn_error ? spawn_error->message : "");
  // The point of this test is wall-clock recording time before a kill, not synchronisation:
  // note when the first data reaches the temp file, record 3 s more, then kill.
  const gint64 give_up = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (file_size(temp) == 0 && g_get_monotonic_time() < give_up)
    g_usleep(10 * 1000);
  const gint64 first_data = g_get_monotonic_time();
  ASSERT_GT(file_size(temp), 0u) << "nothing reached the disk within 20 s";
  g_usleep(3 * G_USEC_PER_SEC);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const gint64 killed = g_get_monotonic_time();
  int status = 0;
  ::waitpid(pid, &status, 0);
  g_spawn_close_pid(pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the recorder must have been killed, not have exited";

  ASSERT_TRUE(file_exists(temp)) << "the temp file survives the kill";
  EXPECT_FALSE(file_exists(loc));
  EXPECT_GT(file_size(temp), 20u * 1024) << "data reached the disk while recording";

  // The command-line tool.
  const char *build = std::getenv("KEEPUP_BUILD_DIR");
  ASSERT_NE(build, nullptr);
  const std::string cli = std::string(build) + "/bin/keepup-ts-recover";
  gchar *out = nullptr;
  gint cli_status = -1;
  const char *cli_argv[] = {cli.c_str(), temp.c_str(), nullptr};
  ASSERT_TRUE(g_spawn_sync(nullptr, const_cast<gchar **>(cli_argv), nullptr, G_SPAWN_DEFAULT,
                           nullptr, nullptr, &out, nullptr, &cli_status, nullptr));
  EXPECT_TRUE(g_spawn_check_wait_status(cli_status, nullptr)) << out;
  g_free(out);
  const std::string by_cli = dir.file("cam.recovered-1.ts");
  ASSERT_TRUE(file_exists(by_cli));
  std::string error;
  const int frames = decoded_frames(by_cli, error);
  EXPECT_EQ(error, "");
  // When the first flush landed, the file already held everything since the start (about
  // one flush interval); at the kill it held everything up to at most one interval (1 s)
  // before. So the recovery covers at least the time between first data and the kill,
  // less a frame or two cut with the trailing partial PES.
  const double recovered_s = frames / 30.0;
  const double watched_s = static_cast<double>(killed - first_data) / G_USEC_PER_SEC;
  EXPECT_GE(recovered_s, watched_s - 0.2)
      << "recovered " << recovered_s << " s; data reached disk over " << watched_s << " s";

  // The next start with recover=true (the default).
  GError *err = run_pipeline_error(
      "videotestsrc num-buffers=15 ! video/x-raw,width=320,height=240,framerate=30/1 ! "
      "x264enc tune=zerolatency speed-preset=ultrafast ! mpegtsmux ! tsrecordsink " +
      loc_arg);
  EXPECT_EQ(err, nullptr) << (err ? err->message : "");
  g_clear_error(&err);
  const std::string by_element = dir.file("cam.recovered-2.ts");
  ASSERT_TRUE(file_exists(by_element)) << "recovered at start";
  EXPECT_FALSE(file_exists(temp));
  EXPECT_EQ(decoded_frames(by_element, error), frames);
  EXPECT_EQ(error, "");
  EXPECT_EQ(decoded_frames(loc, error), 15) << "and the new recording finished normally";
}

// ---- keepup-ts-recover: exit 0 only with a playable output ---------------------------------

namespace {

struct CliRun {
  int status = -1; // exit status, -1 when it did not exit
  std::string out, err;
};

CliRun run_cli(const std::vector<std::string> &args) {
  std::vector<const char *> argv;
  for (const auto &a : args)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);
  CliRun r;
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  if (!g_spawn_sync(nullptr, const_cast<gchar **>(argv.data()), nullptr, G_SPAWN_SEARCH_PATH,
                    nullptr, nullptr, &out, &err, &status, nullptr))
    return r;
  r.out = out ? out : "";
  r.err = err ? err : "";
  g_free(out);
  g_free(err);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string recover_cli() {
  const char *build = std::getenv("KEEPUP_BUILD_DIR");
  return std::string(build ? build : ".") + "/bin/keepup-ts-recover";
}

void write_bytes(const std::string &path, const std::vector<uint8_t> &data) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char *>(data.data()),
             static_cast<std::streamsize>(data.size()));
}

// ffmpeg decodes the file to nothing without a word at -v error ("" when it is clean); a
// message when ffmpeg is not installed, so the caller can say the check was skipped.
bool ffmpeg_silent(const std::string &path, std::string &said) {
  gchar *ffmpeg = g_find_program_in_path("ffmpeg");
  if (!ffmpeg) {
    std::fprintf(stderr, "ffmpeg not found: decode check of %s skipped\n", path.c_str());
    return true;
  }
  g_free(ffmpeg);
  const CliRun r = run_cli({"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"});
  said = r.out + r.err;
  return r.status == 0 && said.empty();
}

} // namespace

TEST(TsRecover, SyncBytesAloneRandomPacketsAndTablesAloneAreRefused) {
  TempDir dir;
  std::mt19937 rng(11);
  std::vector<uint8_t> random_packets;
  for (int i = 0; i < 5000; ++i) {
    random_packets.push_back(0x47);
    for (int b = 0; b < 187; ++b)
      random_packets.push_back(static_cast<uint8_t>(rng()));
  }
  // The PAT and PMT packets of a real recording, repeated, with no stream data.
  std::vector<uint8_t> tables;
  const auto &ts = sample_ts();
  for (size_t i = 0; i + kPacket <= ts.size(); i += kPacket) {
    const uint8_t *p = ts.data() + i;
    const size_t payload = 4 + ((p[3] & 0x20) ? 1 + p[4] : 0);
    const size_t table = payload + 1 + (payload < kPacket ? p[payload] : 0);
    const bool psi = (p[1] & 0x40) && (p[3] & 0x10) && table < kPacket &&
                     ((p[table] == 0x00 && (((p[1] & 0x1f) << 8) | p[2]) == 0) ||
                      p[table] == 0x02); // PAT or PMT, not a PES start (00 00 01)
    if (psi)
      tables.insert(tables.end(), p, p + kPacket);
  }
  ASSERT_GE(tables.size(), 2 * kPacket);
  const std::vector<std::pair<std::vector<uint8_t>, std::string>> cases = {
      {std::vector<uint8_t>(1 << 20, 0x47), "no PAT"},
      {random_packets, "no PAT"},
      {tables, "0 access units"},
      {tables, "0 access units"}, // the same verdict every time
  };
  int n = 0;
  for (const auto &[bytes, found] : cases) {
    SCOPED_TRACE(found + " #" + std::to_string(n));
    const std::string in = dir.file("in" + std::to_string(n) + ".ts");
    const std::string out = dir.file("out" + std::to_string(n++) + ".ts");
    write_bytes(in, bytes);
    const CliRun r = run_cli({recover_cli(), in, "-o", out});
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(found), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(out)) << "no output file";
    EXPECT_FALSE(file_exists(out + ".partial"));
  }
}

TEST(TsRecover, AStreamAfterMegabytesOfZerosOrCutShortIsRecoveredAndDecodesCleanly) {
  TempDir dir;
  const auto &ts = sample_ts();
  std::vector<uint8_t> late(3 * (1 << 20) / 2, 0x00); // 1.5 MiB of zeros first
  late.insert(late.end(), ts.begin(), ts.end());
  std::vector<uint8_t> crashed(ts.begin(),
                               ts.begin() + static_cast<std::ptrdiff_t>(ts.size() * 2 / 3 + 77));
  int n = 0;
  for (const auto &bytes : {late, crashed}) {
    SCOPED_TRACE(n);
    const std::string in = dir.file("in" + std::to_string(n) + ".ts");
    const std::string out = dir.file("out" + std::to_string(n++) + ".ts");
    write_bytes(in, bytes);
    const CliRun r = run_cli({recover_cli(), in, "-o", out});
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("access units"), std::string::npos) << r.out;
    ASSERT_TRUE(file_exists(out));
    std::string said;
    EXPECT_TRUE(ffmpeg_silent(out, said)) << said;
    std::string error;
    EXPECT_GT(decoded_frames(out, error), 0);
    EXPECT_EQ(error, "");
  }
}

// ---- unlock: a flush never waits for the disk -----------------------------------------------

namespace {

// Counts the debug lines of one category that start with a prefix: "handing" (render hands a
// block to the writer; its next step is the wait for room) or "finishing" (EOS is about to
// wait for the writer to finish the file).
struct LogWatch {
  LogWatch(const char *category, const char *prefix) : category_(category), prefix_(prefix) {
    gst_debug_set_threshold_for_name(category, GST_LEVEL_LOG);
    gst_debug_add_log_function(&LogWatch::on_log, this, nullptr);
  }
  ~LogWatch() {
    gst_debug_remove_log_function(&LogWatch::on_log);
    gst_debug_set_threshold_for_name(category_, GST_LEVEL_NONE);
  }
  static void on_log(GstDebugCategory *category, GstDebugLevel, const gchar *, const gchar *, gint,
                     GObject *, GstDebugMessage *message, gpointer user_data) {
    auto *self = static_cast<LogWatch *>(user_data);
    if (g_strcmp0(gst_debug_category_get_name(category), self->category_) != 0 ||
        !g_str_has_prefix(gst_debug_message_get(message), self->prefix_))
      return;
    std::lock_guard lk(self->m_);
    ++self->seen_;
    self->cv_.notify_all();
  }
  bool wait_for(int n) {
    std::unique_lock lk(m_);
    return cv_.wait_for(lk, std::chrono::seconds(20), [&] { return seen_ >= n; });
  }

private:
  const char *category_;
  const char *prefix_;
  std::mutex m_;
  std::condition_variable cv_;
  int seen_ = 0;
};

// A temp file that is a FIFO nobody reads: the writer thread's write() blocks for good once
// the pipe is full, like a disk that stopped answering. drain() lets it go.
struct StuckDisk {
  explicit StuckDisk(const std::string &temp) {
    EXPECT_EQ(mkfifo(temp.c_str(), 0600), 0);
    reader = open(temp.c_str(), O_RDONLY | O_NONBLOCK); // lets the writer open it
    EXPECT_GE(reader, 0);
  }
  ~StuckDisk() {
    if (drainer.joinable())
      drainer.join();
    close(reader);
  }
  size_t pipe_size() const { return static_cast<size_t>(fcntl(reader, F_GETPIPE_SZ)); }
  void drain() {
    fcntl(reader, F_SETFL, 0);
    drainer = std::thread([this] {
      std::vector<char> sink(1 << 16);
      ssize_t n;
      while ((n = read(reader, sink.data(), sink.size())) > 0)
        drained += static_cast<size_t>(n);
    });
  }
  size_t wait_drained() { // until the writer closes the file
    drainer.join();
    return drained;
  }
  int reader = -1;
  std::atomic<size_t> drained{0};
  std::thread drainer;
};

// `bytes` of null packets.
std::vector<uint8_t> null_packets(size_t bytes) {
  std::vector<uint8_t> data(bytes);
  for (size_t i = 0; i + kPacket <= bytes; i += kPacket) {
    data[i] = 0x47;
    data[i + 1] = 0x1f;
    data[i + 2] = 0xff;
    data[i + 3] = 0x10;
  }
  return data;
}

// Sends FLUSH_START from a thread of its own; true when it returned within 20 s.
bool flush_start_returns_promptly(GstHarness *h, std::future<gboolean> &result) {
  result = std::async(std::launch::async,
                      [h] { return gst_harness_push_event(h, gst_event_new_flush_start()); });
  return result.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
}

} // namespace

TEST(TsRecordSink, FlushStartDoesNotWaitForAStuckDisk) {
  TempDir dir;
  StuckDisk disk(dir.file("stuck.recording.ts"));
  const size_t block = kPacket * 22400; // one buffer, one block: far more than the pipe holds
  ASSERT_LT(disk.pipe_size(), block);
  const std::vector<uint8_t> data = null_packets(block);

  LogWatch hand_offs("tsrecordsink_dataflow", "handing");
  auto h = new_recorder({{"location", dir.file("stuck.ts").c_str()},
                         {"recover", "false"},
                         {"sync-mode", "none"},
                         {"flush-threshold", "1048576"},
                         {"max-pending-bytes", "1048576"}});
  // The first block goes to the writer, which sticks in the full pipe; the second one then
  // finds no room: its render waits for the writer.
  ASSERT_EQ(push_bytes(h.get(), data.data(), data.size()), GST_FLOW_OK);
  std::promise<GstFlowReturn> second;
  std::thread pusher([&] { second.set_value(push_bytes(h.get(), data.data(), data.size())); });
  EXPECT_TRUE(hand_offs.wait_for(2)) << "the second block was handed to the writer";

  std::future<gboolean> flushed;
  const bool prompt = flush_start_returns_promptly(h.get(), flushed);
  disk.drain(); // whatever happened, let the disk go now so every thread can finish
  EXPECT_TRUE(prompt) << "flush-start waited for the stuck writer";
  EXPECT_TRUE(flushed.get());
  pusher.join();
  EXPECT_EQ(second.get_future().get(), GST_FLOW_FLUSHING) << "render gave up waiting";
  EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_stop(TRUE)));
  h.reset(); // stop: the recording is finished once the pipe is drained
  EXPECT_EQ(disk.wait_drained(), 2 * block) << "the waiting block was queued, not dropped";
  EXPECT_TRUE(file_exists(dir.file("stuck.ts"))) << "finished and renamed at stop";
}

TEST(TsRecordSink, FlushStartDuringEosDoesNotWaitForAStuckDiskAndStopFinishes) {
  TempDir dir;
  StuckDisk disk(dir.file("eos.recording.ts"));
  const size_t block = kPacket * 22400;
  ASSERT_LT(disk.pipe_size(), block);
  const std::vector<uint8_t> data = null_packets(block);

  LogWatch finishing("tsrecordsink", "finishing");
  auto h = new_recorder({{"location", dir.file("eos.ts").c_str()},
                         {"recover", "false"},
                         {"sync-mode", "none"},
                         {"flush-threshold", "1048576"}});
  ASSERT_EQ(push_bytes(h.get(), data.data(), data.size()), GST_FLOW_OK);
  std::promise<gboolean> eos;
  std::thread eos_sender(
      [&] { eos.set_value(gst_harness_push_event(h.get(), gst_event_new_eos())); });
  EXPECT_TRUE(finishing.wait_for(1)) << "EOS waits for the writer to finish the file";

  std::future<gboolean> flushed;
  const bool prompt = flush_start_returns_promptly(h.get(), flushed);
  const bool renamed_while_stuck = file_exists(dir.file("eos.ts"));
  disk.drain();
  EXPECT_TRUE(prompt) << "flush-start waited for the stuck writer to finish the file";
  EXPECT_TRUE(flushed.get());
  eos_sender.join();
  EXPECT_FALSE(eos.get_future().get()) << "the flush cut the EOS short";
  EXPECT_FALSE(renamed_while_stuck);
  EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_stop(TRUE)));
  h.reset(); // stop waits for the finish the flush interrupted
  EXPECT_EQ(disk.wait_drained(), block);
  EXPECT_TRUE(file_exists(dir.file("eos.ts"))) << "finished and renamed all the same";
  EXPECT_FALSE(file_exists(dir.file("eos.recording.ts")));
}
