// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's HTTP-side cores: trickle ICE fragments and entity tags.
#include <gtest/gtest.h>

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
