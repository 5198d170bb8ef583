// SPDX-License-Identifier: LGPL-2.1-or-later
// One WHIP session of keepup-record: its pipeline (webrtcbin -> branches -> mpegtsmux ->
// tsrecordsink) and its life, offered -> answered -> recording -> ending -> finished.
//
// Threads: the main loop owns the session. webrtcbin's streaming threads build branches
// (pad-added) and run the pad probes; what they learn reaches the session through on_main().
// The one exception is the start of the file: the first keyframe starts it inside the data
// path, so the phase and the branch outputs are shared under `media_lock` (see below).
#pragma once

#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <libsoup/soup.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app.hpp"
#include "whip_core.hpp"

namespace keepup::record {

enum class Phase {
  offered,   // POST received, pipeline playing, answer not sent yet
  answered,  // 201 with the answer sent; waiting for ICE and the first keyframe
  recording, // mpegtsmux and tsrecordsink are in the pipeline, the file exists
  ending,    // EOS sent into the branches (or nothing to finish); no file starts any more
  finished,  // torn down: pipeline NULL, sources removed, no longer in App::sessions
};

const char *phase_name(Phase p);

enum class MediaKind { video, audio };

// A branch's last pad (parser or encoder source), linked to a muxer pad by its gate: video
// (or audio in an audio-only session) when it starts the file, audio once the muxer has
// written its first packet (mpegtsmux 1.22 fails if a sink pad has no caps when it creates
// its streams, at the first packet; a pad linked later joins the program with a new PMT).
struct BranchOutput {
  MediaKind kind = MediaKind::video;
  GstPad *pad = nullptr; // owned reference
  bool linked = false;
};

struct Session {
  App *app = nullptr;
  std::string id, stream, path, location;
  gint64 started_us = 0; // when the offer arrived
  GstElement *pipeline = nullptr, *webrtc = nullptr;
  // Owned references; added to the pipeline when the file starts.
  GstElement *mux = nullptr, *sink = nullptr;
  bool expects_video = false, expects_audio = false; // from the offer and --audio

  // ---- main loop only
  std::string codec, audio_codec;
  int width = 0, height = 0;
  GstElement *dropqueue = nullptr; // video transcoding branch only
  GstPad *depay_sink = nullptr;    // keyframe requests (PLI) go in here
  std::vector<GstPad *> entries;   // webrtcbin src pads of recorded branches (EOS goes in here)
  SoupServerMessage *pending_offer = nullptr; // answered once ICE gathering completes
  std::vector<SoupServerMessage *> pending_deletes;
  guint answer_timer = 0, ice_timer = 0, keyframe_poll = 0, connect_timer = 0, bus_watch = 0,
        eos_timer = 0, media_timer = 0;
  guint64 media_seen = 0;   // RTP packets (video + audio) at the last media check
  gint64 media_seen_us = 0; // when that count last changed (or the answer went out)
  guint64 dropped_at_last_request = 0, keyframe_requests = 0;
  double first_frame_ms = -1; // offer -> file started
  guint64 bytes = 0;
  std::string end_reason; // what end_session was first told (metrics)

  // ---- counted per buffer on streaming threads: atomics, since a main-loop call per buffer
  // would cost more than the count is worth. Read by /status.
  std::atomic<guint64> frames_in{0}, frames_out{0};
  std::atomic<guint64> audio_in{0}, audio_out{0}, audio_filled{0}; // packets; filled: silence
  // The end (PTS + duration, running time) of the last video frame written: an audio track
  // that went quiet (DTX) is filled up to here at EOS.
  std::atomic<int64_t> video_end{-1};

  // ---- shared with streaming threads, under media_lock. The first keyframe starts the file
  // from its streaming thread, inside the data path (it cannot wait for the main loop), and
  // links the branch outputs to the muxer (video with the audio whose caps are known, audio
  // later from its own gate); the main loop moves the phase to ending at the same time from a
  // DELETE, a timeout or a signal. The counters and video_end above are atomics; nothing
  // else is shared.
  std::mutex media_lock;
  std::condition_variable media_changed; // audio caps arrived (branch.cpp waits for them)
  Phase phase_ = Phase::offered;
  std::vector<BranchOutput> outputs;
  gint64 file_started_us = 0;   // 0: no file
  bool mux_started = false;     // the muxer wrote its first packet (its streams exist)
  int64_t first_video_pts = -1; // running time of the keyframe that started the file

  Phase phase() {
    std::lock_guard<std::mutex> lk(media_lock);
    return phase_;
  }
  bool has_file() {
    std::lock_guard<std::mutex> lk(media_lock);
    return file_started_us != 0;
  }
};

using SdpPtr = std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)>;

// Creates the session for a parsed offer and answers `msg` (paused) once ICE gathering is done.
// Throws std::runtime_error when a GStreamer element is missing.
void start_session(App &app, SoupServerMessage *msg, const std::string &stream, SdpPtr sdp,
                   const whip::OfferSummary &offer);
// EOS into the recording; the session finishes when the file is finalized (or after 10 s).
void end_session(const std::shared_ptr<Session> &s, const char *why);
// Tears the session down now (pipeline NULL, sources removed, pending requests answered).
void finish_session(const std::shared_ptr<Session> &s);
// The session's entry in GET /status.
nlohmann::json session_status(Session &s);
// Ends every session; quits the main loop once none is left.
void stop_all(App &app, const char *why);

// A GLib timeout holding the session weakly: `tick` runs on the main loop while the session
// lives (true: run again); an exception from it is logged.
guint session_timeout(const std::shared_ptr<Session> &s, guint interval_ms,
                      std::function<bool(const std::shared_ptr<Session> &)> tick);
// on_main() for a session held weakly: `f` runs only if it still lives.
void on_session_main(const std::weak_ptr<Session> &weak,
                     std::function<void(const std::shared_ptr<Session> &)> f);

} // namespace keepup::record
