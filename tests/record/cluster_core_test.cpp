// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's fleet rules (cluster_core): node records, ages, the redirect target, the
// redirect URL, --advertise / node ids, the retry schedule. Time is passed in.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cluster_core.hpp"

namespace cl = keepup::whip::cluster;

namespace {

cl::NodeSeen seen(const std::string &node, int capacity, int active, std::int64_t age_ms,
                  bool draining = false) {
  cl::NodeSeen n;
  n.record.node = node;
  n.record.url = "http://" + node;
  n.record.capacity = capacity;
  n.record.active = active;
  n.record.draining = draining;
  n.record.updated_ms = 1'000'000 - age_ms;
  n.age_ms = age_ms;
  return n;
}

constexpr std::int64_t kReadAt = 5'000'000; // monotonic us of the read
constexpr std::int64_t kTtl = 1500;

cl::Snapshot fleet(std::vector<cl::NodeSeen> nodes) {
  cl::Snapshot s;
  s.nodes = std::move(nodes);
  s.read_at_us = kReadAt;
  return s;
}

std::string pick(const cl::Snapshot &s, const std::string &self,
                 const std::map<std::string, int> &sent = {}, std::int64_t now_us = kReadAt) {
  const auto t = cl::pick_target(s, self, "http://" + self, sent, now_us, kTtl);
  return t ? t->node : "none";
}

} // namespace

TEST(ClusterCore, NodeKeyIsUnderTheIndex) {
  EXPECT_EQ(cl::node_key("10.0.0.5:8089"), "keepup:nodes:10.0.0.5:8089");
  EXPECT_EQ(std::string(cl::kIndexKey), "keepup:nodes");
}

TEST(ClusterCore, RecordRoundTripsThroughJson) {
  cl::NodeRecord r;
  r.node = "a:1";
  r.url = "http://10.0.0.5:8089";
  r.capacity = 8;
  r.active = 3;
  r.draining = true;
  r.updated_ms = 1796414580796;
  const std::string text = cl::to_json(r);
  EXPECT_NE(text.find("\"v\":1"), std::string::npos) << text;
  std::string error;
  const auto back = cl::from_json(text, &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->node, r.node);
  EXPECT_EQ(back->url, r.url);
  EXPECT_EQ(back->capacity, 8);
  EXPECT_EQ(back->active, 3);
  EXPECT_TRUE(back->draining);
  EXPECT_EQ(back->updated_ms, 1796414580796);
}

TEST(ClusterCore, BadRecordsAreRejectedWithAReason) {
  const char *bad[] = {
      "",
      "[]",
      "{\"v\":2,\"node\":\"a\",\"url\":\"http://a\",\"capacity\":1,\"active\":0,\"updated_ms\":1}",
      "{\"node\":\"a\",\"url\":\"http://a\",\"capacity\":1,\"active\":0,\"updated_ms\":1}",
      "{\"v\":1,\"url\":\"http://a\",\"capacity\":1,\"active\":0,\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"\",\"url\":\"http://a\",\"capacity\":1,\"active\":0,\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"a\",\"url\":3,\"capacity\":1,\"active\":0,\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://a\",\"capacity\":-1,\"active\":0,\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://"
      "a\",\"capacity\":1.5,\"active\":0,\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://a\",\"capacity\":1,\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://a\",\"capacity\":1,\"active\":0}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://a\",\"capacity\":1,\"active\":0,\"updated_ms\":1,"
      "\"draining\":\"no\"}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://a\",\"capacity\":99999999999,\"active\":0,"
      "\"updated_ms\":1}",
      // A url that would become a Location header it has no business in.
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://x/a\\r\\nX-Injected: 1\",\"capacity\":1,"
      "\"active\":0,\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"javascript:alert(1)\",\"capacity\":1,\"active\":0,"
      "\"updated_ms\":1}",
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://a/\",\"capacity\":1,\"active\":0,"
      "\"updated_ms\":1}",
  };
  for (const char *text : bad) {
    std::string error;
    EXPECT_FALSE(cl::from_json(text, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  // draining is optional (false).
  const auto ok = cl::from_json(
      "{\"v\":1,\"node\":\"a\",\"url\":\"http://a\",\"capacity\":1,\"active\":0,\"updated_ms\":1}",
      nullptr);
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->draining);
}

TEST(ClusterCore, ARecordIsSeenWithItsAgeUnlessItComesFromTheFuture) {
  cl::NodeRecord r;
  r.node = "b";
  r.url = "http://b";
  r.updated_ms = 10'000;
  const auto old = cl::seen_at(r, 12'500);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->age_ms, 2500);
  EXPECT_EQ(old->record.node, "b");
  const auto skewed = cl::seen_at(r, 9'500); // half a second ahead: clock jitter, age 0
  ASSERT_TRUE(skewed);
  EXPECT_EQ(skewed->age_ms, 0);
  EXPECT_FALSE(cl::seen_at(r, 8'999)) << "a heartbeat more than a second in the future";
}

TEST(ClusterCore, AgeGrowsWithTheLocalTimeSinceTheRead) {
  const cl::Snapshot s = fleet({seen("b", 1, 0, 400)});
  EXPECT_EQ(cl::age_now_ms(s.nodes[0], s, kReadAt), 400);
  EXPECT_EQ(cl::age_now_ms(s.nodes[0], s, kReadAt + 1'000'000), 1400);
  // A clock that went backwards does not make a record younger than it was read.
  EXPECT_EQ(cl::age_now_ms(s.nodes[0], s, kReadAt - 1'000'000), 400);
  EXPECT_TRUE(cl::is_live(1499, kTtl));
  EXPECT_FALSE(cl::is_live(1500, kTtl));
}

TEST(ClusterCore, PicksTheLeastLoadedByShareOfCapacity) {
  // b: 3 of 4 (75 %), c: 4 of 10 (40 %), d: 1 of 2 (50 %).
  const cl::Snapshot s = fleet({seen("b", 4, 3, 100), seen("c", 10, 4, 100), seen("d", 2, 1, 100)});
  EXPECT_EQ(pick(s, "a"), "c");
}

TEST(ClusterCore, NeverPicksItselfAFullNodeAStaleOneOrADrainingOne) {
  EXPECT_EQ(pick(fleet({seen("a", 8, 0, 100)}), "a"), "none") << "itself";
  cl::NodeSeen renamed = seen("a-old", 8, 0, 100); // itself, restarted under another id
  renamed.record.url = "http://a";
  EXPECT_EQ(pick(fleet({renamed}), "a"), "none") << "its own URL";
  EXPECT_EQ(pick(fleet({seen("b", 1, 1, 100)}), "a"), "none") << "full";
  EXPECT_EQ(pick(fleet({seen("b", 1, 2, 100)}), "a"), "none") << "over full";
  EXPECT_EQ(pick(fleet({seen("b", 1, 0, kTtl)}), "a"), "none") << "older than the TTL";
  EXPECT_EQ(pick(fleet({seen("b", 1, 0, 100, true)}), "a"), "none") << "draining";
  EXPECT_EQ(pick(fleet({seen("b", 0, 0, 100)}), "a"), "none") << "no capacity";
  EXPECT_EQ(pick(fleet({}), "a"), "none");
  EXPECT_EQ(pick(fleet({seen("a", 8, 0, 100), seen("b", 1, 0, 100)}), "a"), "b");
}

TEST(ClusterCore, ASnapshotThatIsNotRefreshedGoesStale) {
  // Redis down: no new reads; the node that had room is dropped once TTL has passed locally.
  const cl::Snapshot s = fleet({seen("b", 4, 0, 500)});
  EXPECT_EQ(pick(s, "a", {}, kReadAt + 999'000), "b");
  EXPECT_EQ(pick(s, "a", {}, kReadAt + 1'000'000), "none");
}

TEST(ClusterCore, RedirectsSentSinceTheReadCountAsLoad) {
  const cl::Snapshot s = fleet({seen("b", 2, 0, 100), seen("c", 2, 1, 100)});
  std::map<std::string, int> sent;
  EXPECT_EQ(pick(s, "a", sent), "b");
  sent["b"] = 1; // b: 1 of 2 now, like c; equal share and free slots: by id
  EXPECT_EQ(pick(s, "a", sent), "b");
  sent["b"] = 2; // b full by what we sent
  EXPECT_EQ(pick(s, "a", sent), "c");
  sent["c"] = 1;
  EXPECT_EQ(pick(s, "a", sent), "none");
}

TEST(ClusterCore, TiesGoToMoreFreeSlotsThenToTheNodeId) {
  // Both empty (0 %): the one with more free slots.
  EXPECT_EQ(pick(fleet({seen("b", 2, 0, 100), seen("c", 8, 0, 100)}), "a"), "c");
  // 50 % each: 4 free beat 1 free.
  EXPECT_EQ(pick(fleet({seen("b", 2, 1, 100), seen("c", 8, 4, 100)}), "a"), "c");
  // Same everything: the smaller id, whatever the order in the snapshot.
  EXPECT_EQ(pick(fleet({seen("c", 2, 1, 100), seen("b", 2, 1, 100)}), "a"), "b");
  EXPECT_EQ(pick(fleet({seen("b", 2, 1, 100), seen("c", 2, 1, 100)}), "a"), "b");
}

TEST(ClusterCore, RedirectLocationMarksTheHopAndEncodesTheNode) {
  EXPECT_EQ(cl::redirect_location("http://10.0.0.6:8089", "cam1", "10.0.0.5:8089"),
            "http://10.0.0.6:8089/whip/cam1?redirected=10.0.0.5%3A8089");
  EXPECT_EQ(cl::redirect_location("https://rec.example/base/", "c", "[::1]:8089"),
            "https://rec.example/base/whip/c?redirected=%5B%3A%3A1%5D%3A8089");
}

TEST(ClusterCore, AdvertiseUrlsAreCheckedAndNormalized) {
  std::string error;
  EXPECT_EQ(cl::normalize_advertise_url("http://10.0.0.5:8089", &error), "http://10.0.0.5:8089");
  EXPECT_EQ(cl::normalize_advertise_url("http://10.0.0.5:8089/", &error), "http://10.0.0.5:8089");
  EXPECT_EQ(cl::normalize_advertise_url("https://rec.example/a//", &error),
            "https://rec.example/a");
  EXPECT_EQ(cl::normalize_advertise_url("http://[::1]:8089", &error), "http://[::1]:8089");
  for (const char *bad :
       {"", "10.0.0.5:8089", "ftp://h", "http://", "http://:80", "http://h:0", "http://h:65536",
        "http://h:", "http://h:8x", "http://h/?q=1", "http://h/#f", "http://u@h", "http://h /",
        "http://[::1", "http://[::1]x", "http://[]:80"}) {
    error.clear();
    EXPECT_FALSE(cl::normalize_advertise_url(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(ClusterCore, DefaultNodeIdIsHostAndPort) {
  EXPECT_EQ(cl::default_node_id("http://10.0.0.5:8089"), "10.0.0.5:8089");
  EXPECT_EQ(cl::default_node_id("http://rec-a.example/base"), "rec-a.example:80");
  EXPECT_EQ(cl::default_node_id("https://rec-a.example"), "rec-a.example:443");
  EXPECT_EQ(cl::default_node_id("http://[::1]:8089"), "[::1]:8089");
  EXPECT_TRUE(cl::valid_node_id(cl::default_node_id("http://[::1]:8089")));
  EXPECT_EQ(cl::default_node_id("nope"), "");
}

TEST(ClusterCore, NodeIdsAreKeySafe) {
  EXPECT_TRUE(cl::valid_node_id("rec-a_1.example:8089"));
  EXPECT_FALSE(cl::valid_node_id(""));
  EXPECT_FALSE(cl::valid_node_id(std::string(129, 'a')));
  EXPECT_TRUE(cl::valid_node_id(std::string(128, 'a')));
  for (const char *bad : {"a b", "a/b", "a*", "a\nb", "caf\xc3\xa9"})
    EXPECT_FALSE(cl::valid_node_id(bad)) << bad;
}

TEST(ClusterCore, RetryDelayDoublesUpToTheCap) {
  EXPECT_EQ(cl::retry_delay_ms(1), 250);
  EXPECT_EQ(cl::retry_delay_ms(2), 500);
  EXPECT_EQ(cl::retry_delay_ms(3), 1000);
  EXPECT_EQ(cl::retry_delay_ms(6), 8000);
  EXPECT_EQ(cl::retry_delay_ms(7), 8000);
  EXPECT_EQ(cl::retry_delay_ms(1000), 8000);
  EXPECT_EQ(cl::retry_delay_ms(3, 600), 600);
}
