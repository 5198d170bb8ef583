// SPDX-License-Identifier: LGPL-2.1-or-later
// The publisher page keepup-record serves at GET /: pick a camera, publish it (and the
// microphone, unless ?audio=0) over WHIP to this server (or to the URL in ?whip=), show the
// state. Used by people and by the browser tests (?autostart=1, ?stats=1).
#pragma once

namespace keepup::whip {

inline constexpr const char *kPublisherPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>keepup-record publisher</title>
<style>
 body { font-family: sans-serif; margin: 2em; max-width: 48em; }
 video { width: 100%; max-width: 640px; background: #222; }
 #state { font-weight: bold; }
 label { display: block; margin: .4em 0; }
</style>
</head>
<body>
<h1>Publish to keepup-record</h1>
<label>Camera <select id="camera"></select></label>
<label>Stream name <input id="stream" value="browser" pattern="[A-Za-z0-9_-]{1,64}"></label>
<label>Token <input id="token" placeholder="(none)"></label>
<button id="start">Publish</button> <button id="stop" disabled>Stop</button>
<p>State: <span id="state">idle</span></p>
<video id="preview" autoplay muted playsinline></video>
<script>
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
let pc = null, resource = null, stream = null;
function state(s) { $('state').textContent = s; document.title = 'keepup: ' + s; }
if (params.get('stream')) $('stream').value = params.get('stream');
if (params.get('token')) $('token').value = params.get('token');
async function cameras() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const d of devices.filter((d) => d.kind === 'videoinput')) {
      const o = document.createElement('option');
      o.value = d.deviceId; o.textContent = d.label || 'camera ' + ($('camera').length + 1);
      $('camera').appendChild(o);
    }
  } catch (e) { state('no cameras: ' + e); }
}
function headers(type) {
  const h = type ? { 'Content-Type': type } : {};
  if ($('token').value) h['Authorization'] = 'Bearer ' + $('token').value;
  return h;
}
async function publish() {
  $('start').disabled = true;
  try {
    state('opening camera');
    const id = $('camera').value;
    stream = await navigator.mediaDevices.getUserMedia({
      video: id ? { deviceId: { exact: id }, width: 1280, height: 720 } : { width: 1280, height: 720 },
      audio: params.get('audio') !== '0' });
    $('preview').srcObject = stream;
    pc = new RTCPeerConnection();
    for (const t of stream.getTracks()) {
      // A recording wants the camera's resolution: under a tight estimate, lower the frame
      // rate, not the size (?hint=0: the browser's default, 'balanced').
      if (t.kind === 'video' && params.get('hint') !== '0') t.contentHint = 'detail';
      pc.addTransceiver(t, { direction: 'sendonly' });
    }
    // ?stats=1: one console line a second with what the browser's encoder and estimate do.
    if (params.get('stats') === '1') setInterval(() => pc && pc.getStats().then((report) => {
      const out = { ms: Math.round(performance.now()) };
      report.forEach((r) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video')
          Object.assign(out, { width: r.frameWidth, height: r.frameHeight, fps: r.framesPerSecond,
                               target: r.targetBitrate, limit: r.qualityLimitationReason });
        if (r.type === 'candidate-pair' && r.nominated) out.available = r.availableOutgoingBitrate;
      });
      console.log('keepup-stats ' + JSON.stringify(out));
    }), 1000);
    pc.onconnectionstatechange = () => state(pc.connectionState);
    await pc.setLocalDescription(await pc.createOffer());
    state('gathering');
    await new Promise((done) => {
      if (pc.iceGatheringState === 'complete') return done();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
      setTimeout(done, 3000);
    });
    const url = params.get('whip') || new URL('/whip/' + $('stream').value, location).href;
    state('offering');
    const r = await fetch(url, { method: 'POST', headers: headers('application/sdp'), body: pc.localDescription.sdp });
    if (r.status !== 201) throw new Error('server said ' + r.status + ': ' + await r.text());
    // r.url: where a 307 from a full node (keepup-record --cluster) sent the offer.
    resource = new URL(r.headers.get('Location'), r.url || url).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await r.text() });
    state('connecting');
    $('stop').disabled = false;
  } catch (e) {
    state('failed: ' + e.message);
    $('start').disabled = false;
  }
}
async function stop() {
  $('stop').disabled = true;
  if (resource) await fetch(resource, { method: 'DELETE', headers: headers() }).catch(() => {});
  if (pc) pc.close();
  if (stream) stream.getTracks().forEach((t) => t.stop());
  pc = null; resource = null;
  state('stopped');
  $('start').disabled = false;
}
$('start').onclick = publish;
$('stop').onclick = stop;
cameras().then(() => { if (params.get('autostart') === '1') publish(); });
</script>
</body>
</html>
)html";

} // namespace keepup::whip
