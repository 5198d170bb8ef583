// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-tsrecordsink
 * @title: tsrecordsink
 *
 * Records an MPEG transport stream straight to disk so that a crash, a kill or a full
 * disk never costs more than the last moment of the recording.
 *
 * While recording, data goes to a temp file next to `location` (`cam1.ts` is written as
 * `cam1.recording.ts`, see `temp-suffix`). On EOS, or when the element goes from PLAYING to
 * READY, the file is drained, synced, renamed to `location` atomically, the directory synced,
 * and an element message `tsrecordsink-finished` (location, bytes, packets, duration in ns
 * from the PCR) is posted. If the process dies instead, the temp file holds every whole
 * packet handed to the kernel so far; on the next start with `recover` it is turned into a
 * playable `<name>.recovered-<n>.ts` (whole packets, no trailing partial PES) before the new
 * recording begins, and a `tsrecordsink-recovered` message is posted. The same recovery is
 * the `keepup-ts-recover` command.
 *
 * Threads: the streaming thread aligns the stream to whole packets (partial packets at buffer
 * edges are carried over, lost sync is re-found and counted as `resyncs`), and collects them
 * in a block that is handed to a writer thread when it reaches `flush-threshold` bytes or
 * when `flush-interval` has passed (pipeline clock), so the file grows at least that often
 * and is never written per packet. The writer thread does all disk I/O; at most
 * `max-pending-bytes` wait for it, beyond that the streaming thread waits (a recorder
 * never drops) and the wait is counted as `write-stall-ns`.
 *
 * `sync-mode`: `none` writes only when a block is full and never syncs; `flush` (default)
 * also writes at `flush-interval` and syncs when a file is finished; `fsync` also calls
 * fdatasync after every block (durable against power loss).
 *
 * Rotation: with `max-size-bytes` or `max-size-time` and a `%d`-style pattern in `location`
 * (`cam-%05d.ts`), a new file is started at the first random-access point (adaptation field
 * random_access_indicator, set by mpegtsmux on keyframes) after the limit, beginning with the
 * newest PAT and PMT so that it plays on its own. Numbering starts at the first index whose
 * file does not exist yet, so earlier recordings are never overwritten.
 *
 * Full disk: when free space falls under `min-free-bytes`, or write() fails with ENOSPC,
 * the current file is cut to whole packets, finished (renamed, valid) and a
 * RESOURCE/NO_SPACE_LEFT error says how much space is left.
 *
 * Errors: no or unwritable location: RESOURCE/NOT_FOUND or RESOURCE/OPEN_WRITE at start;
 * input that is not TS: STREAM/WRONG_TYPE; a write error: RESOURCE/WRITE (the temp file is
 * kept for recovery). Changing `location` while recording is refused with a warning.
 *
 * The `stats` property (`application/x-tsrecordsink-stats`, zeros when stopped): bytes-written,
 * packets-written, flushes (blocks handed to the kernel), fsyncs, files-finished,
 * current-location, max-write-latency-ns, slow-writes (writes over 50 ms), write-stall-ns,
 * resyncs (bytes skipped to re-find sync), pending-bytes, recovered-files.
 *
 * The action signal `wait-written` blocks until every block handed to the writer is on disk.
 *
 * A flush or a state change to READY never waits for the disk: `unlock` makes a render that
 * waits for room in the writer queue its block anyway (nothing is dropped) and return
 * FLUSHING at once, and an EOS waiting for the file to be finished return (the writer goes on
 * finishing). Stopping still finishes the file, which waits for the queued data.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e videotestsrc is-live=true ! x264enc tune=zerolatency ! mpegtsmux ! \
 *     tsrecordsink location=cam1.ts
 * ]|
 */
#include "gsttsrecordsink.hpp"

#include "callback_guard.hpp"

#include "monotonic_clock.hpp"
#include "ts_location.hpp"
#include "ts_packets.hpp"
#include "ts_record.hpp"
#include "ts_writer.hpp"

#include <atomic>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

namespace ts = keepup::ts;

GST_DEBUG_CATEGORY_STATIC(tsrecordsink_debug);
GST_DEBUG_CATEGORY_STATIC(tsrecordsink_dataflow);
#define GST_CAT_DEFAULT tsrecordsink_debug

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_TEMP_SUFFIX,
  PROP_FLUSH_THRESHOLD,
  PROP_FLUSH_INTERVAL,
  PROP_SYNC_MODE,
  PROP_RECOVER,
  PROP_MAX_SIZE_BYTES,
  PROP_MAX_SIZE_TIME,
  PROP_MIN_FREE_BYTES,
  PROP_MAX_PENDING_BYTES,
  PROP_STATS,
  N_PROPS
};

enum { SIGNAL_WAIT_WRITTEN, N_SIGNALS };

// The core's RecordSettings{} holds every default; the ParamSpecs read them from here.
static constexpr ts::RecordSettings kDefaults{};
// Bytes seen without ever finding TS sync before the input is declared "not TS".
static constexpr uint64_t kNotTsAfterBytes = 64 * 1024;

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

// User settings: the core's, plus the two strings only the shell has.
struct SinkSettings {
  ts::RecordSettings core;
  std::string location;
  std::string temp_suffix = ts::kDefaultTempSuffix;
};

// Between start and stop only.
struct Recording {
  SinkSettings settings;                   // frozen at start
  std::shared_ptr<ts::AsyncWriter> writer; // shared with wait-written callers
  std::unique_ptr<ts::PacketAligner> aligner;
  ts::PsiCache psi;
  ts::DurationTracker duration;
  std::vector<uint8_t> block;
  ts::LocationPattern location; // settings.location parsed: numbered when it has a %d
  ts::Rotation rotation;
  int index = 0;
  std::string final_path;
  uint64_t file_bytes = 0;
  int64_t last_flush_ns = -1;
  bool finished = false;       // no more data: the file is being (or was) finished
  bool finish_pending = false; // a flush interrupted the wait for the writer to finish
  bool failed = false;
  uint64_t recovered_files = 0;
  std::atomic<uint64_t> resyncs{0}; // mirrors the aligner's count for the stats reader
};

struct TsRecordSinkPrivate {
  std::mutex lock; // settings and the recording pointer
  SinkSettings settings;
  std::unique_ptr<Recording> rec;
  size_t packet_size = ts::kPacket;
  // Between unlock and unlock_stop: a flush or a state change to READY is waiting for
  // render to return, so render must not wait for the writer.
  std::atomic<bool> unlocked{false};
};

struct _GstTsRecordSink {
  GstBaseSink parent;
  TsRecordSinkPrivate *priv;
};

#define gst_ts_record_sink_parent_class parent_class
G_DEFINE_TYPE(GstTsRecordSink, gst_ts_record_sink, GST_TYPE_BASE_SINK)

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(
    tsrecordsink, "tsrecordsink", GST_RANK_NONE, GST_TYPE_TS_RECORD_SINK,
    GST_DEBUG_CATEGORY_INIT(tsrecordsink_debug, "tsrecordsink", 0, "tsrecordsink element");
    GST_DEBUG_CATEGORY_INIT(tsrecordsink_dataflow, "tsrecordsink_dataflow", 0,
                            "tsrecordsink per-buffer work"));

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("video/mpegts, systemstream = (boolean) true"));

GType gst_ts_record_sink_sync_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(ts::SyncMode::None), "Write full blocks only, never sync", "none"},
      {static_cast<gint>(ts::SyncMode::Flush),
       "Write at the threshold or interval, sync when a file is finished", "flush"},
      {static_cast<gint>(ts::SyncMode::Fsync), "Also fdatasync after every block", "fsync"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstTsRecordSinkSyncMode", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

// ---- helpers ------------------------------------------------------------------------------

// Pipeline running time when there is a clock (a test clock in tests), else monotonic.
static int64_t flush_clock_ns(GstTsRecordSink *self) {
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock)
    return keepup::monotonic_ns();
  const GstClockTime now = gst_clock_get_time(clock);
  const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  gst_object_unref(clock);
  return now >= base ? static_cast<int64_t>(now - base) : 0;
}

static GstStructure *stats_structure(const ts::WriterStats &w, uint64_t resyncs,
                                     uint64_t recovered) {
  return gst_structure_new(
      "application/x-tsrecordsink-stats", "bytes-written", G_TYPE_UINT64, w.bytes_written,
      "packets-written", G_TYPE_UINT64, w.packets_written, "flushes", G_TYPE_UINT64, w.flushes,
      "fsyncs", G_TYPE_UINT64, w.fsyncs, "files-finished", G_TYPE_UINT64, w.files_finished,
      "current-location", G_TYPE_STRING, w.current_location.c_str(), "max-write-latency-ns",
      G_TYPE_UINT64, static_cast<guint64>(w.max_write_latency_ns), "slow-writes", G_TYPE_UINT64,
      w.slow_writes, "write-stall-ns", G_TYPE_UINT64, static_cast<guint64>(w.write_stall_ns),
      "resyncs", G_TYPE_UINT64, resyncs, "pending-bytes", G_TYPE_UINT64, w.pending_bytes,
      "recovered-files", G_TYPE_UINT64, recovered, nullptr);
}

static void post_writer_error(GstTsRecordSink *self, const ts::WriterError &err) {
  switch (err.kind) {
  case ts::WriteError::NoSpace:
    GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("%s", err.message.c_str()),
                      ("errno %d", err.err));
    break;
  case ts::WriteError::Open:
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("%s", err.message.c_str()),
                      ("errno %d", err.err));
    break;
  default:
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("%s", err.message.c_str()), ("errno %d", err.err));
    break;
  }
}

// Turns the temp files a crash left into playable recordings before a new one starts, and
// says what became of each.
static void recover_leftovers(GstTsRecordSink *self, Recording &rec) {
  for (const ts::Leftover &leftover : ts::find_leftovers(rec.location, rec.settings.temp_suffix)) {
    const ts::LeftoverRecovery r = ts::recover_leftover(leftover);
    const char *temp = leftover.temp_path.c_str();
    if (!r.report.ok) {
      GST_ELEMENT_WARNING(self, RESOURCE, READ,
                          ("could not recover %s: kept as %s", temp, r.kept_aside.c_str()),
                          ("%s", r.report.error.c_str()));
      continue;
    }
    ++rec.recovered_files;
    GST_INFO_OBJECT(self, "recovered %s into %s: %" G_GUINT64_FORMAT " bytes", temp,
                    r.output.c_str(), r.report.kept_bytes);
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_element(
            GST_OBJECT(self),
            gst_structure_new("tsrecordsink-recovered", "temp-location", G_TYPE_STRING, temp,
                              "location", G_TYPE_STRING, r.output.c_str(), "bytes", G_TYPE_UINT64,
                              r.report.kept_bytes, "packets", G_TYPE_UINT64, r.report.packets,
                              "duration", G_TYPE_UINT64, static_cast<guint64>(r.report.duration_ns),
                              "cut-bytes", G_TYPE_UINT64, r.report.cut_tail_bytes, nullptr)));
  }
}

// ---- GstBaseSink vfuncs -------------------------------------------------------------------

static gboolean gst_ts_record_sink_start(GstBaseSink *sink) {
  GstTsRecordSink *self = GST_TS_RECORD_SINK(sink);
  TsRecordSinkPrivate *p = self->priv;
  try {
    auto rec = std::make_unique<Recording>();
    {
      std::lock_guard lk(p->lock);
      rec->settings = p->settings;
    }
    const SinkSettings &s = rec->settings;
    if (s.location.empty()) {
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No file name specified for writing."),
                        ("set the location property"));
      return FALSE;
    }
    try {
      rec->location = ts::LocationPattern(s.location);
    } catch (const std::invalid_argument &e) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", e.what()), (nullptr));
      return FALSE;
    }
    if (const std::string err = ts::rotation_settings_error(s.core, rec->location); !err.empty()) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", err.c_str()), (nullptr));
      return FALSE;
    }
    rec->rotation = ts::Rotation(s.core, rec->location);
    // Recover every leftover temp file, then start at the first unused index.
    if (s.core.recover)
      recover_leftovers(self, *rec);
    rec->index = ts::first_free_index(rec->location);
    rec->final_path = rec->location.path(rec->index);

    ts::WriterSettings ws = s.core.writer;
    ws.packet_size = p->packet_size;
    rec->writer = std::make_shared<ts::AsyncWriter>(ts::posix_file_ops(), keepup::monotonic_ns, ws);
    rec->writer->set_unblocked(p->unlocked);
    rec->writer->set_on_finished([self](const ts::FinishedFile &f) {
      GST_INFO_OBJECT(self, "finished %s: %" G_GUINT64_FORMAT " bytes", f.location.c_str(),
                      f.bytes);
      gst_element_post_message(
          GST_ELEMENT(self),
          gst_message_new_element(
              GST_OBJECT(self),
              gst_structure_new("tsrecordsink-finished", "location", G_TYPE_STRING,
                                f.location.c_str(), "bytes", G_TYPE_UINT64, f.bytes, "packets",
                                G_TYPE_UINT64, f.packets, "duration", G_TYPE_UINT64,
                                static_cast<guint64>(std::max<int64_t>(0, f.duration_ns)),
                                nullptr)));
    });
    const std::string temp = ts::temp_path_for(rec->final_path, s.temp_suffix);
    if (const ts::WriterError err = rec->writer->open(temp, rec->final_path)) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                        ("Could not open file \"%s\" for writing.", temp.c_str()),
                        ("%s", err.message.c_str()));
      return FALSE;
    }
    rec->aligner = std::make_unique<ts::PacketAligner>(p->packet_size);
    rec->block.reserve(s.core.flush_threshold);
    GST_INFO_OBJECT(self, "recording to %s (final name %s)", temp.c_str(), rec->final_path.c_str());
    std::lock_guard lk(p->lock);
    p->rec = std::move(rec);
    return TRUE;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("tsrecordsink could not start"),
                      ("%s", e.what()));
    return FALSE;
  }
}

static bool submit_block(Recording &rec) {
  if (rec.block.empty())
    return true;
  std::vector<uint8_t> block;
  block.swap(rec.block);
  rec.block.reserve(rec.settings.core.flush_threshold);
  return rec.writer->write(std::move(block));
}

// One run of whole packets from the aligner: PSI and PCR bookkeeping, rotation cuts.
static void take_packets(GstTsRecordSink *self, Recording &rec, const uint8_t *data, size_t packets,
                         size_t packet_size) {
  const size_t off = ts::sync_offset(packet_size);
  size_t run_start = 0;
  for (size_t i = 0; i < packets; ++i) {
    const uint8_t *unit = data + i * packet_size;
    const uint8_t *pkt = unit + off;
    rec.psi.observe(pkt);
    const uint64_t in_file = rec.file_bytes + (i - run_start) * packet_size;
    if (rec.rotation.cut_before(ts::random_access(pkt), in_file)) {
      rec.block.insert(rec.block.end(), data + run_start * packet_size, unit);
      rec.file_bytes += (i - run_start) * packet_size;
      run_start = i;
      submit_block(rec);
      ++rec.index;
      rec.final_path = rec.location.path(rec.index);
      GST_INFO_OBJECT(self, "rotating to %s", rec.final_path.c_str());
      rec.writer->rotate(rec.duration.duration_ns(),
                         ts::temp_path_for(rec.final_path, rec.settings.temp_suffix),
                         rec.final_path);
      rec.duration.reset();
      rec.file_bytes = 0;
      rec.rotation.started_next_file();
      if (packet_size == ts::kPacket) {
        const std::vector<uint8_t> tables = rec.psi.tables();
        rec.block.insert(rec.block.end(), tables.begin(), tables.end());
        rec.file_bytes += tables.size();
      }
    }
    rec.duration.observe(pkt);
    rec.rotation.after_packet(in_file + packet_size, rec.duration.duration_ns());
  }
  rec.block.insert(rec.block.end(), data + run_start * packet_size, data + packets * packet_size);
  rec.file_bytes += (packets - run_start) * packet_size;
}

static GstFlowReturn gst_ts_record_sink_render(GstBaseSink *sink, GstBuffer *buffer) {
  GstTsRecordSink *self = GST_TS_RECORD_SINK(sink);
  TsRecordSinkPrivate *p = self->priv;
  Recording *rec = p->rec.get(); // only start/stop change it, never during render
  if (!rec || rec->failed)
    return GST_FLOW_ERROR;
  if (rec->finished)
    return GST_FLOW_EOS; // data after a flush that followed EOS: this recording is over
  try {
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("could not map a buffer"), (nullptr));
      return GST_FLOW_ERROR;
    }
    const size_t packet_size = rec->aligner->packet_size();
    rec->aligner->push(map.data, map.size, [&](const uint8_t *d, size_t n) {
      take_packets(self, *rec, d, n, packet_size);
    });
    gst_buffer_unmap(buffer, &map);
    rec->resyncs = rec->aligner->skipped_bytes();

    if (!rec->aligner->ever_synced() && rec->aligner->unsynced_bytes() >= kNotTsAfterBytes) {
      rec->failed = true;
      GST_ELEMENT_ERROR(self, STREAM, WRONG_TYPE, ("The input is not an MPEG transport stream."),
                        ("no 0x47 sync byte at a %zu-byte stride in the first %" G_GUINT64_FORMAT
                         " bytes",
                         packet_size, rec->aligner->unsynced_bytes()));
      return GST_FLOW_ERROR;
    }

    const int64_t now = flush_clock_ns(self);
    if (rec->last_flush_ns < 0)
      rec->last_flush_ns = now;
    const ts::RecordSettings &cs = rec->settings.core;
    const bool interval_due =
        cs.writer.mode != ts::SyncMode::None && cs.flush_interval_ns > 0 &&
        now - rec->last_flush_ns >= static_cast<int64_t>(cs.flush_interval_ns);
    if (rec->block.size() >= cs.flush_threshold || (interval_due && !rec->block.empty())) {
      GST_CAT_LOG_OBJECT(tsrecordsink_dataflow, self, "handing %zu bytes to the writer (%s)",
                         rec->block.size(), interval_due ? "interval" : "threshold");
      submit_block(*rec);
      rec->last_flush_ns = now;
    }
    if (const ts::WriterError err = rec->writer->error()) {
      rec->failed = true;
      post_writer_error(self, err);
      return GST_FLOW_ERROR;
    }
    // Unlocked for a flush or a stop: the block went to the writer without waiting for
    // room; the streaming thread goes back upstream at once.
    return p->unlocked ? GST_FLOW_FLUSHING : GST_FLOW_OK;
  } catch (const std::exception &e) {
    rec->failed = true;
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("tsrecordsink failed while recording"),
                      ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
}

static bool start_finishing(GstTsRecordSink *self, Recording &rec);

// Drains and renames the current file. Returns false after posting an error, or when a
// flush interrupted the wait (the writer goes on finishing; the next call waits for it).
static bool finish_recording(GstTsRecordSink *self, Recording &rec) {
  if (rec.failed)
    return false;
  if (rec.finished && !rec.finish_pending)
    return true;
  if (!rec.finished && !start_finishing(self, rec))
    return false;
  rec.finish_pending = false;
  GST_DEBUG_OBJECT(self, "finishing %s", rec.final_path.c_str());
  if (const ts::WriterError err = rec.writer->finish(rec.duration.duration_ns())) {
    if (err.kind == ts::WriteError::Interrupted) {
      GST_DEBUG_OBJECT(self, "unlocked while finishing: the writer goes on in the background");
      rec.finish_pending = true;
      return false;
    }
    if (err.kind != ts::WriteError::NoSpace || !rec.failed) {
      rec.failed = true;
      post_writer_error(self, err);
    }
    return false;
  }
  return true;
}

// The streaming side of finishing: the last whole packets go to the writer.
static bool start_finishing(GstTsRecordSink *self, Recording &rec) {
  rec.finished = true;
  const size_t leftover = rec.aligner->finish();
  if (leftover > 0)
    GST_WARNING_OBJECT(self, "dropping %zu trailing bytes that are not a whole packet", leftover);
  if (!rec.aligner->ever_synced() && rec.aligner->unsynced_bytes() > 0) {
    rec.writer->abort();
    rec.failed = true;
    GST_ELEMENT_ERROR(
        self, STREAM, WRONG_TYPE, ("The input is not an MPEG transport stream."),
        ("no sync found in %" G_GUINT64_FORMAT " bytes", rec.aligner->unsynced_bytes()));
    return false;
  }
  submit_block(rec);
  return true;
}

static gboolean gst_ts_record_sink_event(GstBaseSink *sink, GstEvent *event) {
  GstTsRecordSink *self = GST_TS_RECORD_SINK(sink);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    if (Recording *rec = self->priv->rec.get()) {
      try {
        if (!finish_recording(self, *rec)) {
          gst_event_unref(event);
          return FALSE;
        }
      } catch (const std::exception &e) {
        GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("tsrecordsink failed to finish"),
                          ("%s", e.what()));
        gst_event_unref(event);
        return FALSE;
      }
    }
  }
  return GST_BASE_SINK_CLASS(parent_class)->event(sink, event);
}

static gboolean gst_ts_record_sink_stop(GstBaseSink *sink) {
  GstTsRecordSink *self = GST_TS_RECORD_SINK(sink);
  TsRecordSinkPrivate *p = self->priv;
  std::unique_ptr<Recording> rec;
  {
    std::lock_guard lk(p->lock);
    rec = std::move(p->rec);
  }
  if (!rec)
    return TRUE;
  try {
    // Stopping without EOS still finishes a healthy recording; after an error the temp
    // file is kept for recovery.
    if (!rec->failed)
      finish_recording(self, *rec);
    rec->writer->abort();
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, CLOSE, ("tsrecordsink failed to stop"), ("%s", e.what()));
    return FALSE;
  }
  return TRUE;
}

// The writer of the recording in progress, if any (shared: stop may end the recording).
static std::shared_ptr<ts::AsyncWriter> current_writer(TsRecordSinkPrivate *p) {
  std::lock_guard lk(p->lock);
  return p->rec ? p->rec->writer : nullptr;
}

// A flush or a state change to READY waits for render to return: render must not wait for
// the writer (a slow or stuck disk) meanwhile. Its block is still queued, nothing is lost.
static gboolean gst_ts_record_sink_unlock(GstBaseSink *sink) {
  TsRecordSinkPrivate *p = GST_TS_RECORD_SINK(sink)->priv;
  p->unlocked = true;
  if (const auto writer = current_writer(p))
    writer->set_unblocked(true);
  return TRUE;
}

static gboolean gst_ts_record_sink_unlock_stop(GstBaseSink *sink) {
  TsRecordSinkPrivate *p = GST_TS_RECORD_SINK(sink)->priv;
  p->unlocked = false;
  if (const auto writer = current_writer(p))
    writer->set_unblocked(false);
  return TRUE;
}

static gboolean gst_ts_record_sink_set_caps(GstBaseSink *sink, GstCaps *caps) {
  GstTsRecordSink *self = GST_TS_RECORD_SINK(sink);
  TsRecordSinkPrivate *p = self->priv;
  gint size = ts::kPacket;
  gst_structure_get_int(gst_caps_get_structure(caps, 0), "packetsize", &size);
  if (size != static_cast<gint>(ts::kPacket) && size != static_cast<gint>(ts::kM2tsPacket)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("unsupported TS packet size %d", size),
                      ("only 188 and 192 are supported"));
    return FALSE;
  }
  p->packet_size = static_cast<size_t>(size);
  if (Recording *rec = p->rec.get(); rec && rec->aligner->packet_size() != p->packet_size) {
    if (rec->file_bytes > 0) {
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("the TS packet size changed mid-recording"),
                        ("%zu -> %d", rec->aligner->packet_size(), size));
      return FALSE;
    }
    rec->aligner = std::make_unique<ts::PacketAligner>(p->packet_size);
  }
  return TRUE;
}

static gboolean wait_written_impl(GstTsRecordSink *self) {
  std::shared_ptr<ts::AsyncWriter> writer;
  {
    std::lock_guard lk(self->priv->lock);
    if (Recording *rec = self->priv->rec.get(); rec && !rec->finished)
      writer = rec->writer;
  }
  return writer ? writer->wait_written() : TRUE;
}

static gboolean gst_ts_record_sink_wait_written(GstTsRecordSink *self) {
  gboolean written = FALSE;
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, G_OBJECT(self), "wait-written",
                             [&] { written = wait_written_impl(self); });
  return written;
}

// ---- properties ---------------------------------------------------------------------------

static void set_property_impl(GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec) {
  GstTsRecordSink *self = GST_TS_RECORD_SINK(object);
  TsRecordSinkPrivate *p = self->priv;
  std::unique_lock lk(p->lock);
  SinkSettings &s = p->settings;
  switch (prop_id) {
  case PROP_LOCATION: {
    const gchar *loc = g_value_get_string(value);
    if (p->rec) {
      lk.unlock();
      GST_ELEMENT_WARNING(
          self, RESOURCE, SETTINGS,
          ("location cannot change while recording; still writing %s", s.location.c_str()),
          ("refused %s", loc ? loc : "(null)"));
      return;
    }
    s.location = loc ? loc : "";
    break;
  }
  case PROP_TEMP_SUFFIX: {
    const gchar *suffix = g_value_get_string(value);
    s.temp_suffix = suffix && *suffix ? suffix : ts::kDefaultTempSuffix;
    break;
  }
  case PROP_FLUSH_THRESHOLD:
    s.core.flush_threshold = g_value_get_uint64(value);
    break;
  case PROP_FLUSH_INTERVAL:
    s.core.flush_interval_ns = g_value_get_uint64(value);
    break;
  case PROP_SYNC_MODE:
    s.core.writer.mode = static_cast<ts::SyncMode>(g_value_get_enum(value));
    break;
  case PROP_RECOVER:
    s.core.recover = g_value_get_boolean(value);
    break;
  case PROP_MAX_SIZE_BYTES:
    s.core.max_size_bytes = g_value_get_uint64(value);
    break;
  case PROP_MAX_SIZE_TIME:
    s.core.max_size_time_ns = g_value_get_uint64(value);
    break;
  case PROP_MIN_FREE_BYTES:
    s.core.writer.min_free_bytes = g_value_get_uint64(value);
    break;
  case PROP_MAX_PENDING_BYTES:
    s.core.writer.max_pending_bytes = g_value_get_uint64(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_ts_record_sink_set_property(GObject *object, guint prop_id, const GValue *value,
                                            GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "set_property",
                             [&] { set_property_impl(object, prop_id, value, pspec); });
}

static void get_property_impl(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  GstTsRecordSink *self = GST_TS_RECORD_SINK(object);
  TsRecordSinkPrivate *p = self->priv;
  std::lock_guard lk(p->lock);
  const SinkSettings &s = p->settings;
  switch (prop_id) {
  case PROP_LOCATION:
    g_value_set_string(value, s.location.empty() ? nullptr : s.location.c_str());
    break;
  case PROP_TEMP_SUFFIX:
    g_value_set_string(value, s.temp_suffix.c_str());
    break;
  case PROP_FLUSH_THRESHOLD:
    g_value_set_uint64(value, s.core.flush_threshold);
    break;
  case PROP_FLUSH_INTERVAL:
    g_value_set_uint64(value, s.core.flush_interval_ns);
    break;
  case PROP_SYNC_MODE:
    g_value_set_enum(value, static_cast<gint>(s.core.writer.mode));
    break;
  case PROP_RECOVER:
    g_value_set_boolean(value, s.core.recover);
    break;
  case PROP_MAX_SIZE_BYTES:
    g_value_set_uint64(value, s.core.max_size_bytes);
    break;
  case PROP_MAX_SIZE_TIME:
    g_value_set_uint64(value, s.core.max_size_time_ns);
    break;
  case PROP_MIN_FREE_BYTES:
    g_value_set_uint64(value, s.core.writer.min_free_bytes);
    break;
  case PROP_MAX_PENDING_BYTES:
    g_value_set_uint64(value, s.core.writer.max_pending_bytes);
    break;
  case PROP_STATS:
    if (p->rec)
      g_value_take_boxed(value, stats_structure(p->rec->writer->stats(), p->rec->resyncs,
                                                p->rec->recovered_files));
    else
      g_value_take_boxed(value, stats_structure(ts::WriterStats{}, 0, 0));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_ts_record_sink_get_property(GObject *object, guint prop_id, GValue *value,
                                            GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "get_property",
                             [&] { get_property_impl(object, prop_id, value, pspec); });
}

// ---- GObject boilerplate ------------------------------------------------------------------

static void gst_ts_record_sink_finalize(GObject *object) {
  delete GST_TS_RECORD_SINK(object)->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_ts_record_sink_class_init(GstTsRecordSinkClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS(klass);

  gobject_class->set_property = gst_ts_record_sink_set_property;
  gobject_class->get_property = gst_ts_record_sink_get_property;
  gobject_class->finalize = gst_ts_record_sink_finalize;

  constexpr auto rw_ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                     GST_PARAM_MUTABLE_READY);
  constexpr auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  properties[PROP_LOCATION] = g_param_spec_string(
      "location", "Location",
      "Final path of the recording; a %d-style pattern numbers rotated files", nullptr, rw_ready);
  properties[PROP_TEMP_SUFFIX] = g_param_spec_string(
      "temp-suffix", "Temp suffix",
      "Replaces the .ts extension while recording (cam1.ts is written as cam1.recording.ts)",
      ts::kDefaultTempSuffix, rw_ready);
  properties[PROP_FLUSH_THRESHOLD] =
      g_param_spec_uint64("flush-threshold", "Flush threshold (bytes)",
                          "Hand data to the kernel once this many bytes are collected",
                          ts::kM2tsPacket, G_MAXUINT32, kDefaults.flush_threshold, rw_ready);
  properties[PROP_FLUSH_INTERVAL] = g_param_spec_uint64(
      "flush-interval", "Flush interval (ns)",
      "Hand data to the kernel at least this often, pipeline clock (0 = threshold only)", 0,
      G_MAXUINT64, kDefaults.flush_interval_ns, rw_ready);
  properties[PROP_SYNC_MODE] = g_param_spec_enum(
      "sync-mode", "Sync mode", "When data is written and synced to disk",
      gst_ts_record_sink_sync_mode_get_type(), static_cast<gint>(kDefaults.writer.mode), rw_ready);
  properties[PROP_RECOVER] =
      g_param_spec_boolean("recover", "Recover",
                           "At start, recover a temp file left by a crash into "
                           "<name>.recovered-<n>.ts",
                           kDefaults.recover, rw_ready);
  properties[PROP_MAX_SIZE_BYTES] = g_param_spec_uint64(
      "max-size-bytes", "Max. file size (bytes)",
      "Start a new file at the next random-access point after this size (0 = off)", 0, G_MAXUINT64,
      kDefaults.max_size_bytes, rw_ready);
  properties[PROP_MAX_SIZE_TIME] = g_param_spec_uint64(
      "max-size-time", "Max. file duration (ns)",
      "Start a new file at the next random-access point after this duration (0 = off)", 0,
      G_MAXUINT64, kDefaults.max_size_time_ns, rw_ready);
  properties[PROP_MIN_FREE_BYTES] =
      g_param_spec_uint64("min-free-bytes", "Min. free space (bytes)",
                          "Finish the recording cleanly when free space falls under this (0 = off)",
                          0, G_MAXUINT64, kDefaults.writer.min_free_bytes, rw_ready);
  properties[PROP_MAX_PENDING_BYTES] = g_param_spec_uint64(
      "max-pending-bytes", "Max. pending bytes",
      "Data waiting for the writer thread before the streaming thread waits", ts::kM2tsPacket,
      G_MAXUINT64, kDefaults.writer.max_pending_bytes, rw_ready);
  properties[PROP_STATS] = g_param_spec_boxed(
      "stats", "Statistics", "application/x-tsrecordsink-stats (see the element documentation)",
      GST_TYPE_STRUCTURE, ro);
  g_object_class_install_properties(gobject_class, N_PROPS, properties);

  signals[SIGNAL_WAIT_WRITTEN] = g_signal_new_class_handler(
      "wait-written", G_TYPE_FROM_CLASS(klass),
      static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(gst_ts_record_sink_wait_written), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 0);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_set_static_metadata(
      element_class, "TS record sink", "Sink/File",
      "Crash-safe MPEG-TS recording: temp file, flush threshold, atomic finish, recovery",
      "keepup developers");
  gst_type_mark_as_plugin_api(gst_ts_record_sink_sync_mode_get_type(),
                              static_cast<GstPluginAPIFlags>(0));

  basesink_class->start = gst_ts_record_sink_start;
  basesink_class->stop = gst_ts_record_sink_stop;
  basesink_class->render = gst_ts_record_sink_render;
  basesink_class->event = gst_ts_record_sink_event;
  basesink_class->set_caps = gst_ts_record_sink_set_caps;
  basesink_class->unlock = gst_ts_record_sink_unlock;
  basesink_class->unlock_stop = gst_ts_record_sink_unlock_stop;
}

static void gst_ts_record_sink_init(GstTsRecordSink *self) {
  self->priv = new TsRecordSinkPrivate();
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
}
