// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's HTTP-side cores: trickle ICE fragments and entity tags, byte ranges,
// Prometheus text, retention and the segment hook.
#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "http_range.hpp"
#include "prometheus.hpp"
#include "recordings.hpp"
#include "trickle.hpp"

using namespace keepup::whip;

namespace {

// RFC 9725's example PATCH body (section 4.3.1), LF line ends.
const char *kRfcFragment = "a=group:BUNDLE 0 1\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 111\n"
                           "a=mid:0\n"
                           "a=ice-ufrag:EsAw\n"
                           "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\n"
                           "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host "
                           "generation 0 ufrag EsAw network-id 1\n"
                           "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host "
                           "generation 0 ufrag EsAw network-id 2\n"
                           "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype "
                           "active generation 0 ufrag EsAw network-id 1\n"
                           "a=end-of-candidates\n";

} // namespace

TEST(Trickle, ParsesRfc9725Example) {
  const auto r = parse_sdpfrag(kRfcFragment);
  ASSERT_TRUE(r.valid) << r.error;
  ASSERT_EQ(r.frag.media.size(), 1u);
  const auto &m = r.frag.media[0];
  EXPECT_EQ(m.mid, "0");
  EXPECT_EQ(m.media_line, "audio 9 UDP/TLS/RTP/SAVPF 111");
  EXPECT_EQ(r.frag.ufrag(), "EsAw");
  EXPECT_EQ(r.frag.pwd(), "P2uYro0UCOQ4zxjKXaWCBui1");
  ASSERT_EQ(m.candidates.size(), 3u);
  EXPECT_EQ(m.candidates[1].rfind("candidate:3471623853 1 udp", 0), 0u);
  EXPECT_TRUE(m.end_of_candidates);
  EXPECT_EQ(r.frag.candidate_count(), 3u);
}

TEST(Trickle, FormatParsesBackTheSame) {
  SdpFrag f;
  f.ice_ufrag = "abcd";
  f.ice_pwd = "abcdefghijklmnopqrstuvwx";
  f.media.push_back({"video 9 UDP/TLS/RTP/SAVPF 96", "video0", "", "", {}, false});
  f.media[0].candidates = {"candidate:1 1 UDP 2013266431 127.0.0.1 40525 typ host"};
  f.media[0].end_of_candidates = true;
  const std::string text = format_sdpfrag(f);
  EXPECT_EQ(text, "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                  "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video0\r\n"
                  "a=candidate:1 1 UDP 2013266431 127.0.0.1 40525 typ host\r\n"
                  "a=end-of-candidates\r\n");
  const auto r = parse_sdpfrag(text);
  ASSERT_TRUE(r.valid) << r.error;
  EXPECT_EQ(format_sdpfrag(r.frag), text);
}

TEST(Trickle, RejectsBadFragmentsWithAReason) {
  const auto error = [](const std::string &body) {
    const auto r = parse_sdpfrag(body);
    EXPECT_FALSE(r.valid) << body;
    return r.error;
  };
  EXPECT_NE(error("a=candidate:1 1 udp 1 1.2.3.4 5 typ host\n").find("before any m= line"),
            std::string::npos);
  EXPECT_NE(error("m=video 9 X 96\na=candidate:1 1 udp 1 1.2.3.4 99999 typ host\n").find("port"),
            std::string::npos);
  EXPECT_NE(error("m=video 9 X 96\na=candidate:1 1 udp 1 1.2.3.4 5 type host\n").find("typ"),
            std::string::npos);
  EXPECT_NE(error("m=video 9 X 96\na=candidate:1 1 udp 1 1.2.3.4 5 typ bogus\n").find("type"),
            std::string::npos);
  EXPECT_NE(error("m=video 9 X 96\na=candidate:1 0 udp 1 1.2.3.4 5 typ host\n").find("component"),
            std::string::npos);
  EXPECT_NE(
      error("m=video 9 X 96\na=candidate:1 1 udp 99999999999 h 5 typ host\n").find("priority"),
      std::string::npos);
  EXPECT_NE(error("a=ice-ufrag:abcd\n").find("together"), std::string::npos);
  EXPECT_NE(error("a=ice-ufrag:ab\na=ice-pwd:abcdefghijklmnopqrstuvwx\n").find("ice-ufrag"),
            std::string::npos);
  EXPECT_NE(error("a=ice-ufrag:abcd\na=ice-pwd:short\n").find("ice-pwd"), std::string::npos);
  EXPECT_NE(error("hello\n").find("not an SDP line"), std::string::npos);
  EXPECT_NE(error("m=video 9 X 96\na=mid:\n").find("mid"), std::string::npos);
  EXPECT_NE(error(std::string("m=video 9 X 96\na=mid:0\x01\n")).find("control"), std::string::npos);
  EXPECT_NE(error(std::string(kMaxSdpFragBytes + 1, '\n')).find("larger"), std::string::npos);
  std::string many = "m=video 9 X 96\n";
  for (std::size_t i = 0; i <= kMaxSdpFragCandidates; ++i)
    many += "a=candidate:1 1 udp 1 10.0.0.1 " + std::to_string(1000 + i) + " typ host\n";
  EXPECT_NE(error(many).find("more than"), std::string::npos);
}

TEST(Trickle, EmptyAndEndOnlyFragmentsAreValid) {
  EXPECT_TRUE(parse_sdpfrag("").valid);
  const auto r = parse_sdpfrag("a=end-of-candidates\r\n");
  ASSERT_TRUE(r.valid);
  EXPECT_TRUE(r.frag.end_of_candidates);
  const auto plan = plan_trickle(r.frag, "abcd", "abcdefghijklmnopqrstuvwx", {"0"});
  EXPECT_EQ(plan.kind, TricklePlan::Kind::kCandidates);
  EXPECT_TRUE(plan.candidates.empty());
  EXPECT_TRUE(plan.end_of_candidates);
}

TEST(Trickle, PlanMapsMidsToMlineIndexes) {
  const auto r = parse_sdpfrag("a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuvwx\n"
                               "m=video 9 X 96\na=mid:v\n"
                               "a=candidate:1 1 udp 5 10.0.0.1 1000 typ host\n"
                               "m=audio 9 X 111\n"
                               "a=candidate:2 1 udp 5 10.0.0.1 1001 typ host\n");
  ASSERT_TRUE(r.valid) << r.error;
  const auto plan = plan_trickle(r.frag, "abcd", "abcdefghijklmnopqrstuvwx", {"a", "v"});
  ASSERT_EQ(plan.kind, TricklePlan::Kind::kCandidates) << plan.error;
  ASSERT_EQ(plan.candidates.size(), 2u);
  EXPECT_EQ(plan.candidates[0].mline_index, 1u); // mid "v" is the offer's second m-line
  EXPECT_EQ(plan.candidates[1].mline_index, 1u); // no mid: the fragment's position
  EXPECT_FALSE(plan.end_of_candidates);

  const auto unknown = plan_trickle(r.frag, "abcd", "abcdefghijklmnopqrstuvwx", {"x"});
  EXPECT_EQ(unknown.kind, TricklePlan::Kind::kError);
  EXPECT_NE(unknown.error.find("a=mid:v is not in the offer"), std::string::npos);
}

TEST(Trickle, NewCredentialsAreAnIceRestart) {
  const auto r = parse_sdpfrag(kRfcFragment);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(plan_trickle(r.frag, "EsAw", "P2uYro0UCOQ4zxjKXaWCBui1", {"0", "1"}).kind,
            TricklePlan::Kind::kCandidates);
  EXPECT_EQ(plan_trickle(r.frag, "old1", "P2uYro0UCOQ4zxjKXaWCBui1", {"0", "1"}).kind,
            TricklePlan::Kind::kIceRestart);
  const auto pwd_only = plan_trickle(r.frag, "EsAw", "another-password-0123456", {"0", "1"});
  EXPECT_EQ(pwd_only.kind, TricklePlan::Kind::kError);
  EXPECT_NE(pwd_only.error.find("ice-pwd changed"), std::string::npos);
}

TEST(Trickle, CandidatesOfAnotherGenerationAreSkipped) {
  const auto r = parse_sdpfrag("m=video 9 X 96\na=mid:0\n"
                               "a=candidate:1 1 udp 5 10.0.0.1 1000 typ host ufrag old1\n"
                               "a=candidate:2 1 udp 5 10.0.0.1 1001 typ host ufrag abcd\n"
                               "a=candidate:3 1 udp 5 10.0.0.1 1002 typ srflx raddr 0.0.0.0 "
                               "rport 0\n");
  ASSERT_TRUE(r.valid) << r.error;
  const auto plan = plan_trickle(r.frag, "abcd", "abcdefghijklmnopqrstuvwx", {"0"});
  ASSERT_EQ(plan.candidates.size(), 2u);
  EXPECT_EQ(plan.candidates[0].candidate.rfind("candidate:2 ", 0), 0u);
  EXPECT_EQ(plan.candidates[1].candidate.rfind("candidate:3 ", 0), 0u);
}

TEST(Trickle, EntityTags) {
  const std::string tag = make_etag(0x1234abcdULL);
  EXPECT_EQ(tag, "\"000000001234abcd\"");
  EXPECT_NE(make_etag(1), make_etag(2));
  EXPECT_TRUE(if_match_allows(tag.c_str(), tag));
  EXPECT_TRUE(if_match_allows("*", tag));
  EXPECT_TRUE(if_match_allows(("\"x\", " + tag + " ").c_str(), tag));
  EXPECT_FALSE(if_match_allows("\"000000001234abce\"", tag));
  EXPECT_FALSE(if_match_allows(("W/" + tag).c_str(), tag)); // strong comparison
  EXPECT_FALSE(if_match_allows("000000001234abcd", tag));   // unquoted is another tag
  EXPECT_FALSE(if_match_allows("", tag));
  EXPECT_FALSE(if_match_allows(nullptr, tag));
  EXPECT_FALSE(if_match_allows("\"\"", ""));
}

TEST(HttpRange, NoHeaderOrUnknownUnitIsTheWholeFile) {
  EXPECT_EQ(parse_range(nullptr, 100).kind, RangeRequest::Kind::kWhole);
  EXPECT_EQ(parse_range("items=0-5", 100).kind, RangeRequest::Kind::kWhole);
}

TEST(HttpRange, TheThreeForms) {
  auto r = parse_range("bytes=0-99", 1000);
  ASSERT_EQ(r.kind, RangeRequest::Kind::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  EXPECT_EQ(content_range(r, 1000), "bytes 0-99/1000");
  r = parse_range("bytes=990-", 1000);
  ASSERT_EQ(r.kind, RangeRequest::Kind::kPartial);
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=-10", 1000);
  ASSERT_EQ(r.kind, RangeRequest::Kind::kPartial);
  EXPECT_EQ(content_range(r, 1000), "bytes 990-999/1000");
  r = parse_range(" Bytes = 5 - 2000 ", 1000); // last past the end: cut
  ASSERT_EQ(r.kind, RangeRequest::Kind::kPartial);
  EXPECT_EQ(content_range(r, 1000), "bytes 5-999/1000");
  r = parse_range("bytes=-5000", 1000); // suffix longer than the file: all of it
  ASSERT_EQ(r.kind, RangeRequest::Kind::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 999u);
  r = parse_range("bytes=999-999", 1000);
  ASSERT_EQ(r.kind, RangeRequest::Kind::kPartial);
  EXPECT_EQ(content_range(r, 1000), "bytes 999-999/1000");
}

TEST(HttpRange, UnsatisfiableWithAReason) {
  for (const char *h :
       {"bytes=1000-", "bytes=1000-1005", "bytes=-0", "bytes=5-4", "bytes=0-1,5-6", "bytes=a-b",
        "bytes=", "bytes=-", "bytes=1-2-3", "bytes=--1", "bytes=99999999999999999999-", "bytes"}) {
    const auto r = parse_range(h, 1000);
    EXPECT_EQ(r.kind, RangeRequest::Kind::kUnsatisfiable) << h;
    EXPECT_FALSE(r.error.empty()) << h;
    EXPECT_EQ(content_range(r, 1000), "bytes */1000");
  }
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, RangeRequest::Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-1", 0).kind, RangeRequest::Kind::kUnsatisfiable);
  EXPECT_NE(parse_range("bytes=0-1,5-6", 10).error.find("one byte range"), std::string::npos);
}

TEST(Prometheus, CountersGaugesAndLabels) {
  MetricsWriter w;
  w.family("keepup_sessions_total", MetricsWriter::Type::kCounter, "Sessions \\ ended\nso far");
  w.sample({{"reason", "delete"}}, 3);
  w.sample({{"reason", "a\"b\\c\nd"}}, 0.5);
  w.family("keepup_disk_free_bytes", MetricsWriter::Type::kGauge, "Free bytes");
  w.sample({}, 123456789012.0);
  EXPECT_EQ(w.text(), "# HELP keepup_sessions_total Sessions \\\\ ended\\nso far\n"
                      "# TYPE keepup_sessions_total counter\n"
                      "keepup_sessions_total{reason=\"delete\"} 3\n"
                      "keepup_sessions_total{reason=\"a\\\"b\\\\c\\nd\"} 0.5\n"
                      "# HELP keepup_disk_free_bytes Free bytes\n"
                      "# TYPE keepup_disk_free_bytes gauge\n"
                      "keepup_disk_free_bytes 123456789012\n");
}

TEST(Prometheus, HistogramBucketsAreCumulative) {
  Histogram h({0.5, 1, 2.5});
  for (double v : {0.1, 0.5, 0.7, 2.0, 9.0})
    h.observe(v);
  MetricsWriter w;
  w.family("keepup_ttff_seconds", MetricsWriter::Type::kHistogram, "Time to first frame");
  w.histogram({{"codec", "h264"}}, h);
  EXPECT_EQ(w.text(), "# HELP keepup_ttff_seconds Time to first frame\n"
                      "# TYPE keepup_ttff_seconds histogram\n"
                      "keepup_ttff_seconds_bucket{codec=\"h264\",le=\"0.5\"} 2\n"
                      "keepup_ttff_seconds_bucket{codec=\"h264\",le=\"1\"} 3\n"
                      "keepup_ttff_seconds_bucket{codec=\"h264\",le=\"2.5\"} 4\n"
                      "keepup_ttff_seconds_bucket{codec=\"h264\",le=\"+Inf\"} 5\n"
                      "keepup_ttff_seconds_sum{codec=\"h264\"} 12.3\n"
                      "keepup_ttff_seconds_count{codec=\"h264\"} 5\n");
}

TEST(Prometheus, ValuesIgnoreTheLocale) {
  // Whatever the C locale says, no comma decimals (de_DE may be missing: then "C" is kept).
  const std::string before = std::setlocale(LC_NUMERIC, nullptr);
  std::setlocale(LC_NUMERIC, "de_DE.UTF-8");
  EXPECT_EQ(format_metric_value(0.25), "0.25");
  std::setlocale(LC_NUMERIC, before.c_str());
  EXPECT_EQ(format_metric_value(1e21), "1e+21");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
  EXPECT_EQ(format_metric_value(-3), "-3");
}

TEST(Prometheus, BadNamesAreProgrammingErrors) {
  MetricsWriter w;
  EXPECT_THROW(w.family("1abc", MetricsWriter::Type::kGauge, ""), std::invalid_argument);
  EXPECT_THROW(w.family("a-b", MetricsWriter::Type::kGauge, ""), std::invalid_argument);
  EXPECT_THROW(w.sample({}, 1), std::invalid_argument); // no family yet
  w.family("ns:ok_total", MetricsWriter::Type::kCounter, "");
  EXPECT_THROW(w.sample({{"a:b", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(w.sample({{"__x", "x"}}, 1), std::invalid_argument);
  EXPECT_THROW(w.histogram({}, Histogram({1})), std::invalid_argument);
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  w.family("h", MetricsWriter::Type::kHistogram, "");
  EXPECT_THROW(w.histogram({{"le", "1"}}, Histogram({1})), std::invalid_argument);
}

TEST(Recordings, ServableNames) {
  EXPECT_TRUE(servable_recording_name("cam1-20261121T104500Z.ts"));
  EXPECT_TRUE(servable_recording_name("cam1-20261121T104500Z-2.ts"));
  EXPECT_TRUE(servable_recording_name("cam1-20261121T104500Z.00003.ts"));
  EXPECT_FALSE(servable_recording_name("cam1.recording.ts")); // being written
  EXPECT_FALSE(servable_recording_name("../etc/passwd.ts"));
  EXPECT_FALSE(servable_recording_name("a/b.ts"));
  EXPECT_FALSE(servable_recording_name("a..ts"));
  EXPECT_FALSE(servable_recording_name(".hidden.ts"));
  EXPECT_FALSE(servable_recording_name("cam1.mp4"));
  EXPECT_FALSE(servable_recording_name("cam%2f.ts"));
  EXPECT_FALSE(servable_recording_name(".ts"));
  EXPECT_FALSE(servable_recording_name(std::string(201, 'a') + ".ts"));
}

TEST(Recordings, RetentionByAgeNeverTheFileBeingWritten) {
  const std::int64_t now = 1'000'000;
  const std::vector<RecordedFile> files = {
      {"/r/new.ts", 10, now - 100, false},
      {"/r/old.ts", 10, now - 3 * 3600, false},
      {"/r/live.ts", 10, now - 5 * 3600, true}, // old mtime but being written
      {"/r/older.ts", 10, now - 4 * 3600, false},
  };
  EXPECT_EQ(files_to_delete(files, {2, 0}, now),
            (std::vector<std::string>{"/r/older.ts", "/r/old.ts"}));
  EXPECT_TRUE(files_to_delete(files, {}, now).empty());
  EXPECT_TRUE(files_to_delete(files, {6, 0}, now).empty());
}

TEST(Recordings, RetentionBySizeDeletesOldestFirst) {
  const std::vector<RecordedFile> files = {{"/r/c.ts", 300, 30, false},
                                           {"/r/a.ts", 300, 10, false},
                                           {"/r/b.ts", 300, 20, false},
                                           {"/r/live.ts", 300, 5, true},
                                           {"/r/a2.ts", 300, 10, false}};
  // 1500 bytes on disk, 1000 allowed: the two oldest finished go (a, a2: same mtime, by path).
  EXPECT_EQ(files_to_delete(files, {0, 1000}, 100),
            (std::vector<std::string>{"/r/a.ts", "/r/a2.ts"}));
  // Only the live file would fit: everything finished goes, the live one stays.
  EXPECT_EQ(files_to_delete(files, {0, 100}, 100).size(), 4u);
  EXPECT_TRUE(files_to_delete(files, {0, 1500}, 100).empty());
}

TEST(Recordings, HookCommandsSplitWithoutAShell) {
  EXPECT_EQ(parse_hook_command("/bin/echo done").argv,
            (std::vector<std::string>{"/bin/echo", "done"}));
  EXPECT_EQ(parse_hook_command("  upload  --to 'my bucket' \"a \\\"b\\\" $HOME\" c\\ d ").argv,
            (std::vector<std::string>{"upload", "--to", "my bucket", "a \"b\" $HOME", "c d"}));
  EXPECT_EQ(parse_hook_command("x ''").argv, (std::vector<std::string>{"x", ""}));
  EXPECT_EQ(
      parse_hook_command("rm -rf /; echo $(id) | tee `x` > f").argv,
      (std::vector<std::string>{"rm", "-rf", "/;", "echo", "$(id)", "|", "tee", "`x`", ">", "f"}));
  EXPECT_EQ(parse_hook_command("").error, "empty command");
  EXPECT_EQ(parse_hook_command("   ").error, "empty command");
  EXPECT_NE(parse_hook_command("a 'b").error.find("unterminated"), std::string::npos);
  EXPECT_NE(parse_hook_command("a \"b").error.find("unterminated"), std::string::npos);
  EXPECT_NE(parse_hook_command("a \\").error.find("backslash"), std::string::npos);
  EXPECT_TRUE(parse_hook_command("a 'b").argv.empty());
}

TEST(Recordings, HookQueueBoundsConcurrency) {
  HookQueue q(2, 2);
  EXPECT_EQ(q.submit("a"), HookQueue::Submit::kStartNow);
  EXPECT_EQ(q.submit("b"), HookQueue::Submit::kStartNow);
  EXPECT_EQ(q.submit("c"), HookQueue::Submit::kQueued);
  EXPECT_EQ(q.submit("d"), HookQueue::Submit::kQueued);
  EXPECT_EQ(q.submit("e"), HookQueue::Submit::kRefused);
  EXPECT_EQ(q.running(), 2u);
  EXPECT_EQ(q.finished(), std::optional<std::string>("c"));
  EXPECT_EQ(q.running(), 2u);
  EXPECT_EQ(q.finished(), std::optional<std::string>("d"));
  EXPECT_EQ(q.finished(), std::nullopt);
  EXPECT_EQ(q.running(), 1u);
  EXPECT_EQ(q.finished(), std::nullopt);
  EXPECT_EQ(q.running(), 0u);
  EXPECT_EQ(q.finished(), std::nullopt); // a stray call does not underflow
  EXPECT_EQ(q.running(), 0u);
}

TEST(Trickle, IceServersInBothForms) {
  auto s = parse_ice_server("stun:stun.example.net", false);
  ASSERT_TRUE(s.error.empty()) << s.error;
  EXPECT_EQ(s.webrtcbin_uri, "stun://stun.example.net:3478");
  EXPECT_EQ(s.link, "<stun:stun.example.net:3478>; rel=\"ice-server\"");
  EXPECT_FALSE(s.has_credentials);
  s = parse_ice_server("stun://127.0.0.1:19302", false);
  EXPECT_EQ(s.webrtcbin_uri, "stun://127.0.0.1:19302");
  auto t = parse_ice_server("turn://al:pa\"ss@turn.example.net:3479?transport=tcp", true);
  ASSERT_TRUE(t.error.empty()) << t.error;
  EXPECT_EQ(t.webrtcbin_uri, "turn://al:pa\"ss@turn.example.net:3479?transport=tcp");
  EXPECT_EQ(t.link, "<turn:turn.example.net:3479?transport=tcp>; rel=\"ice-server\"; "
                    "username=\"al\"; credential=\"pa\\\"ss\"; credential-type=\"password\"");
  EXPECT_TRUE(t.has_credentials);
  EXPECT_EQ(parse_ice_server("turns:u:p@t.example.net", true).webrtcbin_uri,
            "turns://u:p@t.example.net:5349");
  for (const auto &[uri, turn] :
       std::vector<std::pair<std::string, bool>>{{"http://x", false},
                                                 {"stun:", false},
                                                 {"stun:host:0", false},
                                                 {"stun:host:99999", false},
                                                 {"stun:u:p@host", false},
                                                 {"turn:host:3478", true}, // no credentials
                                                 {"turn:user@host", true},
                                                 {"stun:host:3478", true},
                                                 {"turn:u:p@host?transport=sctp", true},
                                                 {"stun:ho st", false},
                                                 {"stun:a>b", false}})
    EXPECT_FALSE(parse_ice_server(uri, turn).error.empty()) << uri;
}

TEST(Recordings, NamesSayStreamStartAndSegment) {
  auto n = parse_recording_name("cam1-20261121T104500Z.ts");
  EXPECT_EQ(n.stream, "cam1");
  EXPECT_EQ(n.start_utc, 1795257900LL); // 2026-11-21 10:45:00 UTC
  EXPECT_EQ(n.segment, -1);
  n = parse_recording_name("cam-2-20261121T104500Z-3.00012.ts");
  EXPECT_EQ(n.stream, "cam-2");
  EXPECT_EQ(n.segment, 12);
  n = parse_recording_name("a-20261121T104500Z.recovered-1.ts");
  EXPECT_EQ(n.stream, "a");
  EXPECT_EQ(n.segment, -1);
  EXPECT_EQ(parse_recording_name("upload.ts").start_utc, -1);
  EXPECT_EQ(parse_recording_name("x-20261121T104500.ts").start_utc, -1);
}
