// SPDX-License-Identifier: LGPL-2.1-or-later
// The shared Redis layer: redis:// URI rules (pure) and the hiredis client against a real
// redis-server on a free loopback port.
#include <gtest/gtest.h>

#include "redis_client.hpp"
#include "redis_server.hpp"
#include "redis_uri.hpp"

using keepup::redis::Connection;
using keepup::redis::parse_uri;
using keepup::redis::Reply;

TEST(RedisUri, Forms) {
  std::string err;
  auto a = parse_uri("redis://example.org", &err);
  ASSERT_TRUE(a) << err;
  EXPECT_EQ(a->host, "example.org");
  EXPECT_EQ(a->port, 6379);
  EXPECT_EQ(a->db, 0);
  EXPECT_TRUE(a->password.empty());

  auto b = parse_uri("redis://:s3cr%40t@10.0.0.5:6380/3", &err);
  ASSERT_TRUE(b) << err;
  EXPECT_EQ(b->host, "10.0.0.5");
  EXPECT_EQ(b->port, 6380);
  EXPECT_EQ(b->db, 3);
  EXPECT_EQ(b->password, "s3cr@t");
  EXPECT_TRUE(b->user.empty());
  EXPECT_EQ(b->redacted(), "redis://:***@10.0.0.5:6380/3");

  auto c = parse_uri("redis://worker:pw@[::1]:7000/", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 7000);
  EXPECT_EQ(c->user, "worker");
  EXPECT_EQ(c->password, "pw");
}

TEST(RedisUri, RejectsWithReason) {
  for (const char *bad : {"http://x", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536",
                          "redis://h:12ab", "redis://h/16", "redis://h/x", "redis://h?db=1",
                          "redis://[::1", "redis://h:", "redis://:p%4@h"}) {
    std::string err;
    EXPECT_FALSE(parse_uri(bad, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(RedisClient, CommandsPipelineAndStreams) {
  keepup::test::RedisServer server;
  if (keepup::test::RedisServer::binary().empty())
    GTEST_SKIP() << "redis-server not installed";
  ASSERT_TRUE(server.start());
  auto c = server.client();
  ASSERT_TRUE(c);
  Reply r;
  std::string err;
  ASSERT_TRUE(c->command({"SET", "k", std::string("a\0b", 3)}, &r, &err)) << err;
  ASSERT_TRUE(c->command({"GET", "k"}, &r, &err)) << err;
  EXPECT_EQ(r.str, std::string("a\0b", 3)); // binary-safe
  ASSERT_TRUE(c->command({"NOSUCHCOMMAND"}, &r, &err));
  EXPECT_TRUE(r.is_error()); // an error reply, not a broken connection
  EXPECT_TRUE(c->ok());

  for (int i = 0; i < 3; ++i)
    c->append({"XADD", "s", "*", "n", std::to_string(i)});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c->read_reply(&r, &err)) << err;
    EXPECT_EQ(r.type, Reply::Type::String);
  }
  ASSERT_TRUE(c->command({"XRANGE", "s", "-", "+"}, &r, &err));
  auto entries = keepup::redis::parse_entries(r);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(*entries[2].field("n"), "2");
  EXPECT_EQ(entries[0].field("missing"), nullptr);

  server.kill();
  EXPECT_FALSE(c->command({"PING"}, &r, &err));
  EXPECT_FALSE(c->ok());
  EXPECT_NE(err.find("127.0.0.1"), std::string::npos) << err;
}

TEST(RedisClient, AuthAndDbFromUri) {
  keepup::test::RedisServer server;
  if (keepup::test::RedisServer::binary().empty())
    GTEST_SKIP() << "redis-server not installed";
  ASSERT_TRUE(server.start("--requirepass hunter2"));
  std::string err;
  auto no_pw = parse_uri(server.uri(), &err);
  ASSERT_TRUE(no_pw);
  auto c0 = Connection::open(*no_pw, std::chrono::milliseconds(1000), &err);
  ASSERT_TRUE(c0); // connecting works, commands are refused
  Reply r;
  ASSERT_TRUE(c0->command({"PING"}, &r, &err));
  EXPECT_TRUE(r.is_error());

  auto wrong = parse_uri("redis://:nope@127.0.0.1:" + std::to_string(server.port()), &err);
  EXPECT_FALSE(Connection::open(*wrong, std::chrono::milliseconds(1000), &err));
  EXPECT_NE(err.find("AUTH failed"), std::string::npos) << err;
  EXPECT_EQ(err.find("nope"), std::string::npos) << "password leaked: " << err;

  auto good = parse_uri("redis://:hunter2@127.0.0.1:" + std::to_string(server.port()) + "/2", &err);
  auto c = Connection::open(*good, std::chrono::milliseconds(1000), &err);
  ASSERT_TRUE(c) << err;
  ASSERT_TRUE(c->command({"SET", "x", "1"}, &r, &err));
  ASSERT_TRUE(c->command({"SELECT", "0"}, &r, &err));
  ASSERT_TRUE(c->command({"EXISTS", "x"}, &r, &err));
  EXPECT_EQ(r.integer, 0); // written to db 2, not 0
}

TEST(RedisClient, UnreachableFailsFastWithAddress) {
  std::string err;
  auto uri = parse_uri(
      "redis://127.0.0.1:" + std::to_string(keepup::test::RedisServer::free_port()), &err);
  ASSERT_TRUE(uri);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(Connection::open(*uri, std::chrono::milliseconds(500), &err));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_NE(err.find("cannot connect"), std::string::npos) << err;
}
