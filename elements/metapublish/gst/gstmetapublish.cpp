// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-metapublish
 * @title: metapublish
 *
 * Publishes what objecttrack found, frame by frame, out of the process: a `frame` record per
 * frame (its tracks: id, label, class, confidence, box, state, speed) and objecttrack's
 * events (line-crossed, zone-*, loitering, track-started/-ended), all as JSON objects of
 * schema v1 (elements/objecttrack/events-v1.schema.json), to
 *   - `method=file`: `location` is a file, one JSON line per record (appended);
 *   - `method=redis`: `location` is `redis://[[user]:password@]host[:port][/db]`; every
 *     record is `XADD <key> MAXLEN ~ <max-len> * type <type> json <json>`, the key
 *     `keepup:events:<stream>` unless `key` says otherwise.
 * Video passes untouched (passthrough). The events come in band from objecttrack (a
 * KeepupTrackEventsMeta on the frame, a `keepup-track-events` event before EOS:
 * elements/objecttrack/gst/track_event_meta.hpp), the tracks from its ROI metas.
 *
 * Threads: the streaming thread formats the records and queues them (a short lock, no I/O);
 * a publisher thread writes them (Redis: pipelined batches of up to 256 XADDs). At most
 * `max-pending` records wait; past that the oldest are dropped and counted. When Redis is
 * unreachable, slow (no reply within `timeout`) or goes away, the publisher posts one
 * warning (RESOURCE/WRITE) for the outage, reconnects with backoff (100 ms doubling to 5 s)
 * and, once back, posts an element message `metapublish-recovered` (location, down-ns,
 * dropped: records dropped during the outage, reconnects). Video never waits for it. At EOS
 * the element waits up to `flush-timeout` for the pending records while the sink is up.
 *
 * A bad `location` (empty, a URI that does not parse, a file that cannot be opened) fails
 * at start with RESOURCE/SETTINGS (RESOURCE/OPEN_WRITE for the file) naming the reason.
 *
 * `stats` (`application/x-metapublish-stats`): frames (frame records queued), events
 * (events queued), accepted (= frames + events), published, rejected (entries the server
 * refused with an error reply), dropped, pending (queued + being written; never above
 * max-pending), pending-max (its high-water mark), batches, reconnects (connections made
 * again after a loss), connected. accepted == published + rejected + dropped + pending.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=traffic.mp4 ! decodebin ! videoconvert ! \
 *     yolodetect model=models/keepup-traffic-320.onnx ! objecttrack lines="gate:0,400,1280,400" ! \
 *     metapublish method=redis location=redis://127.0.0.1:6379/0 stream=cam1 ! fakesink
 * ]|
 */
#include "gstmetapublish.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <gst/video/gstvideometa.h>

#include "analytics_contract.hpp"
#include "callback_guard.hpp"
#include "publish_format.hpp"
#include "publisher.hpp"
#include "redis_uri.hpp"
#include "track_event_json.hpp"
#include "track_event_meta.hpp"
#include "track_events.hpp"
#include "track_metas.hpp"

GST_DEBUG_CATEGORY_STATIC(metapublish_debug);
GST_DEBUG_CATEGORY_STATIC(metapublish_dataflow);
#define GST_CAT_DEFAULT metapublish_debug

namespace mp = keepup::metapublish;

enum class FramesMode { all, tracked, none };

enum {
  PROP_0,
  PROP_METHOD,
  PROP_LOCATION,
  PROP_STREAM,
  PROP_KEY,
  PROP_MAX_LEN,
  PROP_MAX_PENDING,
  PROP_FRAMES,
  PROP_TIMEOUT,
  PROP_FLUSH_TIMEOUT,
  PROP_STATS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

constexpr guint DEFAULT_MAX_LEN = 100000;
constexpr guint DEFAULT_TIMEOUT_MS = 1000;
constexpr guint DEFAULT_FLUSH_TIMEOUT_MS = 2000;

struct PublishSettings {
  mp::Method method = mp::Method::file;
  std::string location, stream, key;
  guint max_len = DEFAULT_MAX_LEN;
  guint max_pending = static_cast<guint>(mp::PublisherSettings{}.max_pending);
  FramesMode frames = FramesMode::all;
  guint timeout_ms = DEFAULT_TIMEOUT_MS;
  guint flush_timeout_ms = DEFAULT_FLUSH_TIMEOUT_MS;
};

// Between start and stop.
struct PublishRun {
  PublishSettings settings;
  std::unique_ptr<mp::Publisher> publisher;
  std::mutex stream_lock;
  std::string stream; // the property, else the stream-start id
  std::atomic<guint64> frames{0}, events{0};
};

struct MetaPublishPrivate {
  std::mutex lock;
  PublishSettings settings;
  std::shared_ptr<PublishRun> run;
};

struct _GstMetaPublish {
  GstBaseTransform parent;
  MetaPublishPrivate *priv;
};

#define GST_TYPE_META_PUBLISH_METHOD (gst_meta_publish_method_get_type())
static GType gst_meta_publish_method_get_type() {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(mp::Method::file), "JSON lines appended to a file", "file"},
        {static_cast<gint>(mp::Method::redis), "XADD to a Redis stream", "redis"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstMetaPublishMethod", values));
  }
  return type;
}

#define GST_TYPE_META_PUBLISH_FRAMES (gst_meta_publish_frames_get_type())
static GType gst_meta_publish_frames_get_type() {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(FramesMode::all), "A frame record for every frame", "all"},
        {static_cast<gint>(FramesMode::tracked), "Only for frames with at least one track",
         "tracked"},
        {static_cast<gint>(FramesMode::none), "No frame records (events only)", "none"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstMetaPublishFrames", values));
  }
  return type;
}

#define gst_meta_publish_parent_class parent_class
G_DEFINE_TYPE(GstMetaPublish, gst_meta_publish, GST_TYPE_BASE_TRANSFORM)

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(
    metapublish, "metapublish", GST_RANK_NONE, GST_TYPE_META_PUBLISH,
    GST_DEBUG_CATEGORY_INIT(metapublish_debug, "metapublish", 0, "metapublish element");
    GST_DEBUG_CATEGORY_INIT(metapublish_dataflow, "metapublish_dataflow", 0,
                            "metapublish per-frame work"));

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static std::shared_ptr<PublishRun> current_run(GstMetaPublish *self) {
  std::lock_guard<std::mutex> lk(self->priv->lock);
  return self->priv->run;
}

static std::string run_stream(PublishRun &run) {
  std::lock_guard<std::mutex> lk(run.stream_lock);
  return run.stream;
}

// One record per event structure (objecttrack's, in band).
static void add_events(PublishRun &run, const std::vector<const GstStructure *> &events,
                       const std::string &key, std::vector<mp::Entry> &records) {
  for (const GstStructure *s : events) {
    std::string json = keepup::trackevents::event_json_line(s);
    if (json.empty())
      continue;
    const gchar *type = gst_structure_get_string(s, "type");
    records.push_back({key, type ? type : "event", std::move(json)});
    ++run.events;
  }
}

static mp::FrameRecord frame_record(GstBuffer *buf, const std::string &stream) {
  mp::FrameRecord f;
  f.stream = stream;
  f.wall_time = keepup::trackevents::utc_iso8601(keepup::trackmetas::frame_wall_us(buf));
  if (GST_BUFFER_PTS_IS_VALID(buf))
    f.pts = GST_BUFFER_PTS(buf);
  gpointer state = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(
             buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(m);
    const auto t = keepup::contract::read_tracking(roi);
    if (!t || !t->track_id)
      continue; // a detection objecttrack did not report as a track
    mp::TrackRecord r;
    r.id = *t->track_id;
    r.label = g_quark_to_string(roi->roi_type);
    r.x = static_cast<int>(roi->x);
    r.y = static_cast<int>(roi->y);
    r.w = static_cast<int>(roi->w);
    r.h = static_cast<int>(roi->h);
    if (const auto d = keepup::contract::read_detection(roi)) {
      r.class_id = d->class_id.value_or(-1);
      r.confidence = d->confidence.value_or(0.0);
    }
    r.state = t->state;
    r.predicted = t->predicted;
    r.speed_kmh = t->speed_kmh;
    if (t->speed_kmh)
      r.speed_uncertainty_kmh = t->speed_uncertainty_kmh;
    f.tracks.push_back(std::move(r));
  }
  return f;
}

static GstFlowReturn gst_meta_publish_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  auto *self = GST_META_PUBLISH(trans);
  std::shared_ptr<PublishRun> run = current_run(self);
  if (!run || !run->publisher)
    return GST_FLOW_OK;
  try {
    const std::string stream = run_stream(*run);
    const std::string key = mp::stream_key(run->settings.key, stream);
    std::vector<mp::Entry> records;
    if (run->settings.frames != FramesMode::none) {
      mp::FrameRecord f = frame_record(buf, stream);
      if (run->settings.frames == FramesMode::all || !f.tracks.empty()) {
        records.push_back({key, "frame", mp::frame_json(f)});
        ++run->frames;
      }
    }
    add_events(*run, keepup::trackevents::events_of(buf), key, records);
    run->publisher->push(std::move(records));
    GST_CAT_LOG_OBJECT(metapublish_dataflow, self, "queued pts %" GST_TIME_FORMAT,
                       GST_TIME_ARGS(GST_BUFFER_PTS(buf)));
  } catch (const std::exception &e) {
    // Publishing is best effort: a record that cannot be formatted never stops the video.
    GST_WARNING_OBJECT(self, "record not queued: %s", e.what());
  }
  return GST_FLOW_OK;
}

static void on_notice(GstMetaPublish *self, const mp::Notice &n) {
  switch (n.kind) {
  case mp::Notice::Kind::down:
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                        ("metapublish cannot publish to %s; records wait (oldest dropped past "
                         "max-pending) while it reconnects",
                         n.target.c_str()),
                        ("%s", n.detail.c_str()));
    break;
  case mp::Notice::Kind::rejected:
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("%s refused records", n.target.c_str()),
                        ("%s (counted in stats as rejected; reported once)", n.detail.c_str()));
    break;
  case mp::Notice::Kind::recovered: {
    GST_INFO_OBJECT(self, "publishing to %s again after %" GST_TIME_FORMAT, n.target.c_str(),
                    GST_TIME_ARGS(static_cast<GstClockTime>(n.down_ns)));
    gst_element_post_message(
        GST_ELEMENT(self),
        gst_message_new_element(
            GST_OBJECT(self),
            gst_structure_new("metapublish-recovered", "location", G_TYPE_STRING, n.target.c_str(),
                              "down-ns", G_TYPE_UINT64, static_cast<guint64>(n.down_ns), "dropped",
                              G_TYPE_UINT64, static_cast<guint64>(n.dropped_while_down),
                              "reconnects", G_TYPE_UINT64, static_cast<guint64>(n.reconnects),
                              nullptr)));
    break;
  }
  }
}

static gboolean start_impl(GstBaseTransform *trans) {
  auto *self = GST_META_PUBLISH(trans);
  PublishSettings s;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    s = self->priv->settings;
  }
  if (s.location.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("metapublish needs a location"),
                      ("method=%s: set location (a file path or a redis:// URI)",
                       s.method == mp::Method::redis ? "redis" : "file"));
    return FALSE;
  }
  std::unique_ptr<mp::Sink> sink;
  if (s.method == mp::Method::redis) {
    std::string error;
    auto uri = keepup::redis::parse_uri(s.location, &error);
    if (!uri) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                        ("Invalid metapublish location: %s", error.c_str()),
                        ("location=%s: %s", s.location.c_str(), error.c_str()));
      return FALSE;
    }
    sink = mp::make_redis_sink(*uri, s.max_len, std::chrono::milliseconds(s.timeout_ms));
  } else {
    sink = mp::make_file_sink(s.location);
    std::string error; // a file that cannot be written is a setup error, not an outage
    if (!sink->open(&error)) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE, ("metapublish: %s", error.c_str()),
                        ("location=%s", s.location.c_str()));
      return FALSE;
    }
  }
  auto run = std::make_shared<PublishRun>();
  run->settings = s;
  run->stream = s.stream;
  mp::PublisherSettings ps;
  ps.max_pending = s.max_pending;
  run->publisher = std::make_unique<mp::Publisher>(
      ps, std::move(sink), [self](const mp::Notice &n) { on_notice(self, n); });
  std::lock_guard<std::mutex> lk(self->priv->lock);
  self->priv->run = std::move(run);
  return TRUE;
}

static gboolean gst_meta_publish_start(GstBaseTransform *trans) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
                                "metapublish: cannot start", FALSE,
                                [&] { return start_impl(trans); });
}

static gboolean stop_impl(GstBaseTransform *trans) {
  auto *self = GST_META_PUBLISH(trans);
  std::shared_ptr<PublishRun> run;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    run = std::move(self->priv->run);
  }
  if (run && run->publisher) // outside the lock: the publisher's notices read the run
    run->publisher->stop(std::chrono::milliseconds(run->settings.flush_timeout_ms));
  return TRUE;
}

static gboolean gst_meta_publish_stop(GstBaseTransform *trans) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_CLOSE,
                                "metapublish: cannot stop", FALSE,
                                [&] { return stop_impl(trans); });
}

static gboolean sink_event_impl(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_META_PUBLISH(trans);
  std::shared_ptr<PublishRun> run = current_run(self);
  if (run && run->publisher) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      const auto events = keepup::trackevents::events_of(event);
      std::vector<mp::Entry> records;
      add_events(*run, events, mp::stream_key(run->settings.key, run_stream(*run)), records);
      run->publisher->push(std::move(records));
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
      // The application sees EOS once the records are out (or the sink is down).
      if (!run->publisher->flush(std::chrono::milliseconds(run->settings.flush_timeout_ms)))
        GST_INFO_OBJECT(self, "EOS with records still pending");
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START && run->settings.stream.empty()) {
      const gchar *id = nullptr;
      gst_event_parse_stream_start(event, &id);
      std::lock_guard<std::mutex> lk(run->stream_lock);
      if (id)
        run->stream = id;
    }
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static gboolean gst_meta_publish_sink_event(GstBaseTransform *trans, GstEvent *event) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_CORE_ERROR, GST_CORE_ERROR_EVENT,
                                "metapublish: event handling failed", FALSE,
                                [&] { return sink_event_impl(trans, event); });
}

static GstStructure *make_stats(GstMetaPublish *self) {
  std::shared_ptr<PublishRun> run = current_run(self);
  mp::PublisherStats p;
  guint64 frames = 0, events = 0;
  if (run && run->publisher) {
    p = run->publisher->stats();
    frames = run->frames;
    events = run->events;
  }
  const mp::QueueCounters &q = p.queue;
  return gst_structure_new(
      "application/x-metapublish-stats", "frames", G_TYPE_UINT64, frames, "events", G_TYPE_UINT64,
      events, "accepted", G_TYPE_UINT64, static_cast<guint64>(q.accepted), "published",
      G_TYPE_UINT64, static_cast<guint64>(q.published), "rejected", G_TYPE_UINT64,
      static_cast<guint64>(q.rejected), "dropped", G_TYPE_UINT64, static_cast<guint64>(q.dropped),
      "pending", G_TYPE_UINT64, static_cast<guint64>(q.pending()), "pending-max", G_TYPE_UINT64,
      static_cast<guint64>(q.pending_max), "batches", G_TYPE_UINT64,
      static_cast<guint64>(p.batches), "reconnects", G_TYPE_UINT64,
      static_cast<guint64>(p.reconnects), "connected", G_TYPE_BOOLEAN, p.connected ? TRUE : FALSE,
      nullptr);
}

static void set_property_impl(GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec) {
  auto *self = GST_META_PUBLISH(object);
  std::string text;
  if (G_VALUE_HOLDS_STRING(value))
    text = g_value_get_string(value) ? g_value_get_string(value) : "";
  std::lock_guard<std::mutex> lk(self->priv->lock);
  PublishSettings &s = self->priv->settings;
  switch (prop_id) {
  case PROP_METHOD:
    s.method = static_cast<mp::Method>(g_value_get_enum(value));
    break;
  case PROP_LOCATION:
    s.location = text;
    break;
  case PROP_STREAM:
    s.stream = text;
    break;
  case PROP_KEY:
    s.key = text;
    break;
  case PROP_MAX_LEN:
    s.max_len = g_value_get_uint(value);
    break;
  case PROP_MAX_PENDING:
    s.max_pending = g_value_get_uint(value);
    break;
  case PROP_FRAMES:
    s.frames = static_cast<FramesMode>(g_value_get_enum(value));
    break;
  case PROP_TIMEOUT:
    s.timeout_ms = g_value_get_uint(value);
    break;
  case PROP_FLUSH_TIMEOUT:
    s.flush_timeout_ms = g_value_get_uint(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_meta_publish_set_property(GObject *object, guint prop_id, const GValue *value,
                                          GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "set_property",
                             [&] { set_property_impl(object, prop_id, value, pspec); });
}

static void get_property_impl(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_META_PUBLISH(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, make_stats(self));
    return;
  }
  std::lock_guard<std::mutex> lk(self->priv->lock);
  const PublishSettings &s = self->priv->settings;
  switch (prop_id) {
  case PROP_METHOD:
    g_value_set_enum(value, static_cast<gint>(s.method));
    break;
  case PROP_LOCATION:
    g_value_set_string(value, s.location.c_str());
    break;
  case PROP_STREAM:
    g_value_set_string(value, s.stream.c_str());
    break;
  case PROP_KEY:
    g_value_set_string(value, s.key.c_str());
    break;
  case PROP_MAX_LEN:
    g_value_set_uint(value, s.max_len);
    break;
  case PROP_MAX_PENDING:
    g_value_set_uint(value, s.max_pending);
    break;
  case PROP_FRAMES:
    g_value_set_enum(value, static_cast<gint>(s.frames));
    break;
  case PROP_TIMEOUT:
    g_value_set_uint(value, s.timeout_ms);
    break;
  case PROP_FLUSH_TIMEOUT:
    g_value_set_uint(value, s.flush_timeout_ms);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_meta_publish_get_property(GObject *object, guint prop_id, GValue *value,
                                          GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "get_property",
                             [&] { get_property_impl(object, prop_id, value, pspec); });
}

static void gst_meta_publish_finalize(GObject *object) {
  auto *self = GST_META_PUBLISH(object);
  delete self->priv; // a run left over (never stopped) stops its publisher here
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_meta_publish_init(GstMetaPublish *self) {
  self->priv = new MetaPublishPrivate();
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_meta_publish_class_init(GstMetaPublishClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_meta_publish_set_property;
  gobject_class->get_property = gst_meta_publish_get_property;
  gobject_class->finalize = gst_meta_publish_finalize;

  const PublishSettings d;
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  properties[PROP_METHOD] =
      g_param_spec_enum("method", "Method", "Where records go: a JSON-lines file or Redis streams",
                        GST_TYPE_META_PUBLISH_METHOD, static_cast<gint>(d.method), ready);
  properties[PROP_LOCATION] = g_param_spec_string(
      "location", "Location", "file: the path; redis: redis://[[user]:password@]host[:port][/db]",
      nullptr, ready);
  properties[PROP_STREAM] = g_param_spec_string(
      "stream", "Stream",
      "Camera name: the frame records' stream field and the key keepup:events:<stream> "
      "(empty: the stream-start id)",
      nullptr, ready);
  properties[PROP_KEY] = g_param_spec_string(
      "key", "Key", "Redis stream key (empty: keepup:events:<stream>)", nullptr, ready);
  properties[PROP_MAX_LEN] =
      g_param_spec_uint("max-len", "Max length",
                        "XADD MAXLEN ~ this: entries Redis keeps per stream (0 = no trimming)", 0,
                        G_MAXUINT, d.max_len, ready);
  properties[PROP_MAX_PENDING] =
      g_param_spec_uint("max-pending", "Max pending",
                        "Records waiting to be written; past this the oldest are dropped", 1,
                        G_MAXUINT, d.max_pending, ready);
  properties[PROP_FRAMES] =
      g_param_spec_enum("frames", "Frames", "Which frames get a frame (tracks) record",
                        GST_TYPE_META_PUBLISH_FRAMES, static_cast<gint>(d.frames), ready);
  properties[PROP_TIMEOUT] = g_param_spec_uint(
      "timeout", "Timeout", "Redis connect and reply timeout (ms): a slower server counts as gone",
      1, 600000, d.timeout_ms, ready);
  properties[PROP_FLUSH_TIMEOUT] = g_param_spec_uint(
      "flush-timeout", "Flush timeout",
      "At EOS and stop: how long (ms) to wait for pending records while the sink is up", 0, 600000,
      d.flush_timeout_ms, ready);
  properties[PROP_STATS] = g_param_spec_boxed(
      "stats", "Statistics", "application/x-metapublish-stats (see the element documentation)",
      GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties(gobject_class, N_PROPS, properties);
  gst_type_mark_as_plugin_api(GST_TYPE_META_PUBLISH_METHOD, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_META_PUBLISH_FRAMES, static_cast<GstPluginAPIFlags>(0));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Metadata publisher", "Filter/Analyzer/Video",
      "Publishes objecttrack's tracks and events (JSON, schema v1) to a file or Redis streams, "
      "off the streaming thread",
      "keepup developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_meta_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_meta_publish_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_meta_publish_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_meta_publish_sink_event);
}
