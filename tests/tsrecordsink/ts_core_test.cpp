// SPDX-License-Identifier: LGPL-2.1-or-later
// Unit tests of the tsrecordsink core: packet alignment, header parsing, the writer with
// injected file operations (full disk, I/O errors), and recovery on real temp files.
#include "ts_location.hpp"
#include "ts_packets.hpp"
#include "ts_record.hpp"
#include "ts_scan.hpp"
#include "ts_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

using namespace keepup::ts;

namespace {

// A TS packet for `pid` with continuity counter `cc` and a recognisable payload.
std::vector<uint8_t> packet(uint16_t pid_value, uint8_t cc, uint8_t fill) {
  std::vector<uint8_t> p(kPacket, fill);
  p[0] = kSyncByte;
  p[1] = static_cast<uint8_t>((pid_value >> 8) & 0x1f);
  p[2] = static_cast<uint8_t>(pid_value & 0xff);
  p[3] = static_cast<uint8_t>(0x10 | (cc & 0x0f));
  return p;
}

std::vector<uint8_t> stream(size_t packets, size_t unit = kPacket) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < packets; ++i) {
    if (unit == kM2tsPacket)
      for (int b = 0; b < 4; ++b)
        out.push_back(static_cast<uint8_t>(i + b));
    auto p = packet(0x100, static_cast<uint8_t>(i), static_cast<uint8_t>(i * 7 + 1));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

// A one-packet PSI section on `pid` with a valid CRC: table_id, then `body` after the
// section header (PAT: transport_stream_id...; PMT: program_number...).
std::vector<uint8_t> psi_packet(uint16_t pid_value, uint8_t table_id,
                                const std::vector<uint8_t> &body) {
  std::vector<uint8_t> p = packet(pid_value, 0, 0xff);
  p[1] |= 0x40; // payload_unit_start
  p[4] = 0;     // pointer_field
  std::vector<uint8_t> sec = {table_id, 0, 0};
  sec.insert(sec.end(), body.begin(), body.end());
  const size_t length = sec.size() - 3 + 4;
  sec[1] = static_cast<uint8_t>(0xb0 | (length >> 8));
  sec[2] = static_cast<uint8_t>(length & 0xff);
  const uint32_t crc = crc32_mpeg(sec.data(), sec.size());
  for (int b = 3; b >= 0; --b)
    sec.push_back(static_cast<uint8_t>(crc >> (8 * b)));
  std::copy(sec.begin(), sec.end(), p.begin() + 5);
  return p;
}
// PAT: program 1 -> PMT on 0x1000. PMT: one H.264 stream on `es`.
std::vector<uint8_t> pat_packet() {
  return psi_packet(0, 0x00, {0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00});
}
std::vector<uint8_t> pmt_packet(uint16_t es = 0x100) {
  return psi_packet(0x1000, 0x02,
                    {0x00, 0x01, 0xc1, 0x00, 0x00, static_cast<uint8_t>(0xe0 | (es >> 8)),
                     static_cast<uint8_t>(es & 0xff), 0xf0, 0x00, 0x1b,
                     static_cast<uint8_t>(0xe0 | (es >> 8)), static_cast<uint8_t>(es & 0xff), 0xf0,
                     0x00});
}
// `per_frame` packets on `es` holding one PES whose declared length fills them exactly.
std::vector<uint8_t> frame(uint16_t es, size_t per_frame, uint8_t fill, size_t cc = 0) {
  std::vector<uint8_t> out;
  for (size_t k = 0; k < per_frame; ++k) {
    auto p = packet(es, static_cast<uint8_t>(cc + k), fill);
    if (k == 0) {
      p[1] |= 0x40;
      const uint32_t length = static_cast<uint32_t>(per_frame * 184 - 6);
      const uint8_t header[] = {0,
                                0,
                                1,
                                0xE0,
                                static_cast<uint8_t>(length >> 8),
                                static_cast<uint8_t>(length & 0xff),
                                0x80,
                                0x00,
                                0x00};
      std::copy(std::begin(header), std::end(header), p.begin() + 4);
    }
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}
// PAT, PMT, then `frames` complete PES of `per_frame` packets each.
std::vector<uint8_t> playable(size_t frames, size_t per_frame = 3) {
  std::vector<uint8_t> out = pat_packet();
  const auto pmt = pmt_packet();
  out.insert(out.end(), pmt.begin(), pmt.end());
  for (size_t f = 0; f < frames; ++f) {
    const auto fr = frame(0x100, per_frame, static_cast<uint8_t>(f * 13 + 1), f * per_frame);
    out.insert(out.end(), fr.begin(), fr.end());
  }
  return out;
}
std::vector<uint8_t> to_m2ts(const std::vector<uint8_t> &ts) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < ts.size(); i += kPacket) {
    for (int b = 0; b < 4; ++b)
      out.push_back(static_cast<uint8_t>(i + b));
    out.insert(out.end(), ts.begin() + static_cast<std::ptrdiff_t>(i),
               ts.begin() + static_cast<std::ptrdiff_t>(i + kPacket));
  }
  return out;
}
ScanResult scan(const std::vector<uint8_t> &aligned, size_t size = kPacket,
                uint64_t keep = UINT64_MAX) {
  TsScanner s(size, keep);
  for (size_t i = 0; i + size <= aligned.size(); i += size)
    s.observe(aligned.data() + i);
  return s.result();
}

std::vector<uint8_t> align_in_chunks(PacketAligner &a, const std::vector<uint8_t> &in,
                                     const std::vector<size_t> &chunks) {
  std::vector<uint8_t> out;
  size_t pos = 0, c = 0;
  while (pos < in.size()) {
    const size_t len = std::min(chunks[c++ % chunks.size()], in.size() - pos);
    a.push(in.data() + pos, len,
           [&](const uint8_t *d, size_t n) { out.insert(out.end(), d, d + n * a.packet_size()); });
    pos += len;
  }
  return out;
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/keepup-ts-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string &name) const { return path + "/" + name; }
};

void write_file(const std::string &path, const std::vector<uint8_t> &data) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char *>(data.data()),
             static_cast<std::streamsize>(data.size()));
}

std::vector<uint8_t> read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// In-memory files with a capacity: the full disk and the failing disk on demand.
class FakeFiles : public FileOps {
public:
  std::map<std::string, std::vector<uint8_t>> files;
  std::map<int, std::string> open_fds;
  uint64_t capacity = UINT64_MAX;
  int64_t free_override = -1;
  int fail_writes_with = 0;
  int renames = 0, datasyncs = 0;

  uint64_t used() const {
    uint64_t n = 0;
    for (const auto &[name, data] : files)
      n += data.size();
    return n;
  }
  int open_write(const std::string &path) override {
    if (path.find("/nonexistent/") != std::string::npos)
      return -ENOENT;
    files[path].clear();
    open_fds[next_fd_] = path;
    return next_fd_++;
  }
  long write(int fd, const uint8_t *data, size_t len) override {
    if (fail_writes_with)
      return -fail_writes_with;
    const uint64_t room = capacity > used() ? capacity - used() : 0;
    if (room == 0)
      return -ENOSPC;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(room, len));
    auto &f = files[open_fds.at(fd)];
    f.insert(f.end(), data, data + n);
    return static_cast<long>(n);
  }
  int datasync(int) override {
    ++datasyncs;
    return 0;
  }
  int close(int fd) override {
    open_fds.erase(fd);
    return 0;
  }
  int truncate(int fd, uint64_t size) override {
    files[open_fds.at(fd)].resize(size);
    return 0;
  }
  int rename(const std::string &from, const std::string &to) override {
    ++renames;
    files[to] = std::move(files[from]);
    files.erase(from);
    return 0;
  }
  int sync_dir(const std::string &) override { return 0; }
  int64_t free_bytes(const std::string &) override {
    if (free_override >= 0)
      return free_override;
    return capacity == UINT64_MAX ? -1 : static_cast<int64_t>(capacity - used());
  }

private:
  int next_fd_ = 3;
};

int64_t fake_now() {
  static int64_t t = 0;
  return t += 1000;
}

} // namespace

TEST(PacketAligner, OddChunkBoundariesKeepEveryByte) {
  const auto in = stream(50);
  for (const auto &chunks :
       std::vector<std::vector<size_t>>{{1}, {187}, {189}, {7, 400, 1, 188, 2}, {4096}, {376}}) {
    PacketAligner a;
    EXPECT_EQ(align_in_chunks(a, in, chunks), in);
    EXPECT_EQ(a.skipped_bytes(), 0u);
    EXPECT_EQ(a.finish(), 0u);
  }
}

TEST(PacketAligner, RefindsSyncAfterGarbageAndCountsIt) {
  auto in = stream(10);
  std::vector<uint8_t> broken(in.begin(), in.begin() + 4 * kPacket);
  broken.insert(broken.end(), 50, 0x00); // 50 bytes of junk between packets 4 and 5
  broken.insert(broken.end(), in.begin() + 4 * kPacket, in.end());
  PacketAligner a;
  EXPECT_EQ(align_in_chunks(a, broken, {100, 33}), in);
  EXPECT_EQ(a.skipped_bytes(), 50u);
}

TEST(PacketAligner, M2tsUnitsOf192) {
  const auto in = stream(20, kM2tsPacket);
  PacketAligner a(kM2tsPacket);
  EXPECT_EQ(align_in_chunks(a, in, {191, 5}), in);
  EXPECT_TRUE(a.ever_synced());
}

TEST(PacketAligner, RandomBytesNeverSync) {
  std::mt19937 rng(7);
  std::vector<uint8_t> junk(100000);
  for (auto &b : junk)
    b = static_cast<uint8_t>(rng() % 0x47); // never the sync byte
  PacketAligner a;
  EXPECT_TRUE(align_in_chunks(a, junk, {4096}).empty());
  EXPECT_FALSE(a.ever_synced());
  a.finish();
  EXPECT_EQ(a.unsynced_bytes(), junk.size());
}

TEST(TsHeaders, PcrPesAndRandomAccess) {
  auto p = packet(0x100, 0, 0xff);
  p[1] |= 0x40; // payload unit start
  p[3] = 0x30;  // adaptation + payload
  p[4] = 7;     // adaptation length
  p[5] = 0x50;  // random access + PCR
  p[6] = 0x00;  // PCR base = 90000 (1 s): 90000 << 7 = 0xAFC800 in 33+ bits
  p[7] = 0x00;
  p[8] = 0xAF;
  p[9] = 0xC8;
  p[10] = 0x00;
  const size_t off = 4 + 1 + 7;
  const uint8_t pes[] = {0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 5, 0x21, 0x00, 0x05, 0xBF, 0x21};
  std::copy(std::begin(pes), std::end(pes), p.begin() + off);
  EXPECT_TRUE(random_access(p.data()));
  ASSERT_TRUE(pcr_base(p.data()).has_value());
  EXPECT_EQ(*pcr_base(p.data()), 90000u);
  auto start = pes_start(p.data());
  ASSERT_TRUE(start.has_value());
  ASSERT_TRUE(start->pts.has_value());
  EXPECT_EQ(*start->pts, 90000u);
  EXPECT_EQ(start->length, 0u);
  EXPECT_EQ(ticks_90k_to_ns(90000, 180000), 1'000'000'000);
  EXPECT_EQ(ticks_90k_to_ns((uint64_t{1} << 33) - 90000, 0), 1'000'000'000) << "33-bit wrap";
}

TEST(PsiCache, ReturnsPatThenPmt) {
  auto pat = packet(0, 0, 0xff);
  pat[1] |= 0x40;
  const uint8_t section[] = {
      0x00, 0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00,
      0x00, 0x01, 0xF0, 0x20, 0,    0,    0,    0}; // program 1 -> PMT 0x1020
  std::copy(std::begin(section), std::end(section), pat.begin() + 4);
  auto pmt = packet(0x1020, 0, 0xaa);
  pmt[1] |= 0x40;
  PsiCache cache;
  cache.observe(pat.data());
  EXPECT_TRUE(cache.tables().empty()) << "no PMT seen yet";
  cache.observe(pmt.data());
  auto tables = cache.tables();
  ASSERT_EQ(tables.size(), 2 * kPacket);
  EXPECT_TRUE(std::equal(pat.begin(), pat.end(), tables.begin()));
  EXPECT_TRUE(std::equal(pmt.begin(), pmt.end(), tables.begin() + kPacket));
}

TEST(Paths, TempAndRecoveredNames) {
  EXPECT_EQ(temp_path_for("/r/cam1.ts", ".recording.ts"), "/r/cam1.recording.ts");
  EXPECT_EQ(temp_path_for("/r/cam1", ".recording.ts"), "/r/cam1.recording.ts");
  EXPECT_EQ(temp_path_for("/r.d/cam", ".part"), "/r.d/cam.part");
  EXPECT_EQ(dir_of("cam.ts"), ".");
  EXPECT_EQ(dir_of("/cam.ts"), "/");
  TempDir dir;
  EXPECT_EQ(recovered_path_for(dir.file("cam.ts")), dir.file("cam.recovered-1.ts"));
  write_file(dir.file("cam.recovered-1.ts"), {1});
  EXPECT_EQ(recovered_path_for(dir.file("cam.ts")), dir.file("cam.recovered-2.ts"));
}

TEST(AsyncWriter, WritesBlocksThenRenamesAtomically) {
  FakeFiles fs;
  WriterSettings ws;
  ws.mode = SyncMode::Fsync;
  ws.min_free_bytes = 0;
  AsyncWriter w(fs, fake_now, ws);
  std::vector<FinishedFile> finished;
  w.set_on_finished([&](const FinishedFile &f) { finished.push_back(f); });
  ASSERT_FALSE(w.open("/d/a.recording.ts", "/d/a.ts"));
  const auto data = stream(30);
  ASSERT_TRUE(w.write(std::vector<uint8_t>(data.begin(), data.begin() + 10 * kPacket)));
  ASSERT_TRUE(w.write(std::vector<uint8_t>(data.begin() + 10 * kPacket, data.end())));
  ASSERT_TRUE(w.wait_written());
  EXPECT_EQ(fs.files.count("/d/a.ts"), 0u) << "final name only after finish";
  EXPECT_EQ(fs.files["/d/a.recording.ts"], data);
  EXPECT_FALSE(w.finish(5));
  EXPECT_EQ(fs.files.count("/d/a.recording.ts"), 0u);
  EXPECT_EQ(fs.files["/d/a.ts"], data);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].packets, 30u);
  EXPECT_EQ(finished[0].duration_ns, 5);
  const WriterStats s = w.stats();
  EXPECT_EQ(s.flushes, 2u);
  EXPECT_EQ(s.fsyncs, 3u); // one per block and one at finish
  EXPECT_EQ(s.bytes_written, data.size());
  EXPECT_EQ(s.files_finished, 1u);
}

TEST(AsyncWriter, FullDiskKeepsWholePacketsAndFinishesTheFile) {
  FakeFiles fs;
  fs.capacity = 10 * kPacket + 100; // the disk ends in the middle of packet 11
  WriterSettings ws;
  ws.min_free_bytes = 0;
  AsyncWriter w(fs, fake_now, ws);
  ASSERT_FALSE(w.open("/d/a.recording.ts", "/d/a.ts"));
  const auto data = stream(30);
  w.write(std::vector<uint8_t>(data));
  const WriterError err = w.finish(0);
  EXPECT_EQ(err.kind, WriteError::NoSpace);
  EXPECT_NE(err.message.find("no space left"), std::string::npos) << err.message;
  ASSERT_EQ(fs.files.count("/d/a.ts"), 1u) << "finished and renamed despite the full disk";
  EXPECT_EQ(fs.files["/d/a.ts"].size(), 10 * kPacket);
  EXPECT_TRUE(std::equal(fs.files["/d/a.ts"].begin(), fs.files["/d/a.ts"].end(), data.begin()));
  EXPECT_EQ(w.stats().bytes_written, 10 * kPacket);
}

TEST(AsyncWriter, MinFreeBytesFinishesEarlyWithAClearMessage) {
  FakeFiles fs;
  fs.free_override = 1000;
  WriterSettings ws;
  ws.min_free_bytes = 4096;
  AsyncWriter w(fs, fake_now, ws);
  ASSERT_FALSE(w.open("/d/a.recording.ts", "/d/a.ts"));
  w.write(stream(3));
  const WriterError err = w.finish(0);
  EXPECT_EQ(err.kind, WriteError::NoSpace);
  EXPECT_NE(err.message.find("1000 bytes"), std::string::npos) << err.message;
  EXPECT_EQ(fs.files.count("/d/a.ts"), 1u);
}

TEST(AsyncWriter, WriteErrorKeepsTheTempFile) {
  FakeFiles fs;
  WriterSettings ws;
  ws.min_free_bytes = 0;
  AsyncWriter w(fs, fake_now, ws);
  ASSERT_FALSE(w.open("/d/a.recording.ts", "/d/a.ts"));
  fs.fail_writes_with = EIO;
  w.write(stream(3));
  ASSERT_FALSE(w.wait_written());
  EXPECT_EQ(w.error().kind, WriteError::Write);
  EXPECT_FALSE(w.write(stream(3))) << "no more writes after a failure";
  w.abort();
  EXPECT_EQ(fs.files.count("/d/a.recording.ts"), 1u);
  EXPECT_EQ(fs.files.count("/d/a.ts"), 0u);
  EXPECT_EQ(fs.renames, 0);
}

TEST(AsyncWriter, AFullQueueMakesTheProducerWaitAndCountsIt) {
  // A disk that takes its time: each write waits for the test to let it through.
  struct SlowFiles : FakeFiles {
    std::mutex m;
    std::condition_variable cv;
    int allowed = 0;
    long write(int fd, const uint8_t *data, size_t len) override {
      std::unique_lock lk(m);
      cv.wait(lk, [this] { return allowed > 0; });
      --allowed;
      lk.unlock();
      return FakeFiles::write(fd, data, len);
    }
    void allow(int n) {
      std::lock_guard lk(m);
      allowed += n;
      cv.notify_all();
    }
  } fs;
  WriterSettings ws;
  ws.min_free_bytes = 0;
  ws.max_pending_bytes = 4 * kPacket;
  // The producer reads the clock right before it starts waiting for room: that is when the
  // disk is let through, so the wait is certain to happen.
  const auto producer = std::this_thread::get_id();
  std::atomic<int64_t> fake_time{0};
  std::promise<void> producer_waits;
  bool signalled = false;
  AsyncWriter w(
      fs,
      [&] {
        if (std::this_thread::get_id() == producer && !signalled) {
          signalled = true;
          producer_waits.set_value();
        }
        return fake_time += 1000;
      },
      ws);
  ASSERT_FALSE(w.open("/d/a.part", "/d/a.ts"));
  ASSERT_TRUE(w.write(stream(4))); // the writer thread takes it and waits on the disk
  std::thread disk([&] {
    producer_waits.get_future().wait();
    fs.allow(2);
  });
  ASSERT_TRUE(w.write(stream(4))); // 4 packets pending already: waits for the disk
  disk.join();
  EXPECT_FALSE(w.finish(0));
  EXPECT_EQ(fs.files["/d/a.ts"].size(), 8 * kPacket) << "a recorder waits, never drops";
  EXPECT_GT(w.stats().write_stall_ns, 0);
}

TEST(AsyncWriter, UnopenableLocationFailsAtOnce) {
  FakeFiles fs;
  AsyncWriter w(fs, fake_now, WriterSettings{});
  const WriterError err = w.open("/nonexistent/a.recording.ts", "/nonexistent/a.ts");
  EXPECT_EQ(err.kind, WriteError::Open);
  EXPECT_NE(err.message.find("/nonexistent/a.recording.ts"), std::string::npos);
}

TEST(AsyncWriter, RotationFinishesAndOpensInOrder) {
  FakeFiles fs;
  WriterSettings ws;
  ws.min_free_bytes = 0;
  AsyncWriter w(fs, fake_now, ws);
  ASSERT_FALSE(w.open("/d/0.part", "/d/0.ts"));
  w.write(stream(2));
  w.rotate(0, "/d/1.part", "/d/1.ts");
  w.write(stream(3));
  EXPECT_FALSE(w.finish(0));
  EXPECT_EQ(fs.files["/d/0.ts"].size(), 2 * kPacket);
  EXPECT_EQ(fs.files["/d/1.ts"].size(), 3 * kPacket);
  EXPECT_EQ(w.stats().files_finished, 2u);
}

TEST(Recovery, CutsPartialPacketAndKeepsInputUntouched) {
  TempDir dir;
  auto data = playable(13);       // PAT, PMT, 13 PES of 3 packets
  data.resize(data.size() - 100); // crash in the middle of the last packet
  write_file(dir.file("a.recording.ts"), data);
  const RecoveryReport r = recover_ts(dir.file("a.recording.ts"), dir.file("a.recovered-1.ts"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.packet_size, kPacket);
  EXPECT_EQ(r.kept_bytes, (2 + 12 * 3) * kPacket) << "the last PES lost its end: cut";
  EXPECT_EQ(r.cut_tail_bytes, kPacket - 100 + 2 * kPacket);
  EXPECT_EQ(r.streams, 1u);
  EXPECT_EQ(r.access_units, 12u);
  EXPECT_EQ(read_file(dir.file("a.recording.ts")), data) << "input untouched";
  const auto out = read_file(dir.file("a.recovered-1.ts"));
  EXPECT_EQ(out.size(), r.kept_bytes);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin()));
}

TEST(Recovery, CutsATrailingIncompletePes) {
  TempDir dir;
  const auto data = playable(4);
  // After two frames, an audio PES declares 1000 bytes; only 2 packets of it follow.
  auto pes = packet(0x101, 0, 0x11);
  pes[1] |= 0x40;
  const uint8_t header[] = {0, 0, 1, 0xC0, 0x03, 0xE8, 0x80, 0x00, 0x00};
  std::copy(std::begin(header), std::end(header), pes.begin() + 4);
  const size_t split = (2 + 2 * 3) * kPacket;
  // back_inserter, not insert(): GCC 12 -O3 misfires -Warray-bounds on vector::insert here.
  std::vector<uint8_t> file(data.begin(), data.begin() + split);
  std::copy(pes.begin(), pes.end(), std::back_inserter(file));
  auto cont = packet(0x101, 1, 0x12);
  std::copy(cont.begin(), cont.end(), std::back_inserter(file));
  file.insert(file.end(), data.begin() + split, data.end());
  write_file(dir.file("b.ts"), file);
  const RecoveryReport r = recover_ts(dir.file("b.ts"), dir.file("b.out.ts"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.kept_bytes, split) << "cut at the start of the incomplete PES";
  EXPECT_EQ(r.access_units, 2u);
}

TEST(Recovery, SkipsGarbageInTheMiddle) {
  TempDir dir;
  const auto data = playable(6);
  std::vector<uint8_t> file(data.begin(), data.begin() + 8 * kPacket);
  file.insert(file.end(), 77, 0x00);
  file.insert(file.end(), data.begin() + 8 * kPacket, data.end());
  write_file(dir.file("c.ts"), file);
  const RecoveryReport r = recover_ts(dir.file("c.ts"), dir.file("c.out.ts"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.skipped_bytes, 77u);
  EXPECT_EQ(read_file(dir.file("c.out.ts")), data);
}

TEST(Recovery, M2ts) {
  TempDir dir;
  const auto data = to_m2ts(playable(4));
  write_file(dir.file("d.m2ts"), data);
  const RecoveryReport r = recover_ts(dir.file("d.m2ts"), dir.file("d.out.m2ts"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.packet_size, kM2tsPacket);
  EXPECT_EQ(r.packets, 14u);
  EXPECT_EQ(read_file(dir.file("d.out.m2ts")), data);
}

TEST(Recovery, AValidStreamAfterMoreThanAMegabyteOfZerosIsFound) {
  TempDir dir;
  const auto data = playable(5);
  std::vector<uint8_t> file((1 << 20) + 12345, 0x00);
  file.insert(file.end(), data.begin(), data.end());
  write_file(dir.file("late.ts"), file);
  const RecoveryReport r = recover_ts(dir.file("late.ts"), dir.file("late.out.ts"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.skipped_bytes, (1u << 20) + 12345u);
  EXPECT_EQ(read_file(dir.file("late.out.ts")), data);
}

// Sync bytes at a stride, or tables without a stream, are not a recording: refused with what
// was found, and no output file.
TEST(Recovery, NothingPlayableIsRefusedSayingWhatWasFound) {
  TempDir dir;
  std::mt19937 rng(7);
  std::vector<uint8_t> random_packets;
  for (int i = 0; i < 5000; ++i) {
    random_packets.push_back(kSyncByte);
    for (int b = 0; b < 187; ++b)
      random_packets.push_back(static_cast<uint8_t>(rng()));
  }
  std::vector<uint8_t> tables_only;
  for (int i = 0; i < 20; ++i) {
    const auto pat = pat_packet(), pmt = pmt_packet();
    tables_only.insert(tables_only.end(), pat.begin(), pat.end());
    tables_only.insert(tables_only.end(), pmt.begin(), pmt.end());
  }
  std::vector<uint8_t> one_open_frame = playable(0);
  const auto open = frame(0x100, 3, 9);
  one_open_frame.insert(one_open_frame.end(), open.begin(), open.end() - 10); // cut short
  const std::vector<std::pair<std::vector<uint8_t>, std::string>> cases = {
      {std::vector<uint8_t>(1 << 20, kSyncByte), "no PAT"},
      {random_packets, "no PAT"},
      {tables_only, "0 access units"},
      {one_open_frame, "0 access units"},
      {std::vector<uint8_t>(5000, 'x'), "no MPEG-TS sync"},
  };
  int n = 0;
  for (const auto &[bytes, found] : cases) {
    SCOPED_TRACE(found + " #" + std::to_string(n));
    const std::string in = dir.file("in" + std::to_string(n) + ".ts");
    const std::string out = dir.file("out" + std::to_string(n++) + ".ts");
    write_file(in, bytes);
    const RecoveryReport r = recover_ts(in, out);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find(found), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("nothing written"), std::string::npos) << r.error;
    EXPECT_FALSE(file_exists(out));
    EXPECT_FALSE(file_exists(out + ".partial"));
    EXPECT_EQ(read_file(in), bytes) << "input untouched";
  }
}

TEST(TsScan, CrcOfAPsiSectionIsTheStandardOne) {
  // The CRC-32/MPEG-2 check value.
  const std::string check = "123456789";
  EXPECT_EQ(crc32_mpeg(reinterpret_cast<const uint8_t *>(check.data()), check.size()), 0x0376E6E7u);
  const auto pat = pat_packet();
  EXPECT_EQ(crc32_mpeg(pat.data() + 5, 3 + 9 + 4), 0u) << "0 over a section with its CRC";
}

TEST(TsScan, CountsCompleteAccessUnitsOnListedStreams) {
  const ScanResult r = scan(playable(4));
  EXPECT_TRUE(r.pat);
  EXPECT_TRUE(r.pmt);
  ASSERT_EQ(r.streams.size(), 1u);
  EXPECT_EQ(r.streams[0].pid, 0x100);
  EXPECT_EQ(r.streams[0].stream_type, 0x1b);
  EXPECT_EQ(r.streams[0].access_units, 4u);
  EXPECT_TRUE(r.playable());
  EXPECT_EQ(r.playable_end, (2 + 12) * kPacket);
  EXPECT_NE(r.describe().find("0x0100 (H.264): 4 access units"), std::string::npos) << r.describe();
}

TEST(TsScan, UnboundedPesEndsAtTheNextStartAndTheLastOneIsCut) {
  auto data = playable(3);
  for (size_t f = 0; f < 3; ++f) // PES_packet_length 0: a video PES of unknown length
    data[(2 + f * 3) * kPacket + 8] = data[(2 + f * 3) * kPacket + 9] = 0;
  const ScanResult all = scan(data);
  EXPECT_EQ(all.streams[0].access_units, 2u) << "the last one has no end yet";
  EXPECT_EQ(all.playable_end, (2 + 2 * 3) * kPacket);
  const ScanResult kept = scan(data, kPacket, all.playable_end);
  EXPECT_EQ(kept.streams[0].access_units, 2u);
  EXPECT_EQ(kept.packets, 8u);
}

TEST(TsScan, AContinuityGapBreaksTheAccessUnitItFallsIn) {
  auto data = playable(3);
  for (size_t f = 0; f < 3; ++f) // unbounded, as video
    data[(2 + f * 3) * kPacket + 8] = data[(2 + f * 3) * kPacket + 9] = 0;
  // Frame 0 loses its middle packet: only frame 1 is whole (frame 2 has no end yet).
  data.erase(data.begin() + 3 * kPacket, data.begin() + 4 * kPacket);
  const ScanResult r = scan(data);
  EXPECT_EQ(r.streams[0].access_units, 1u);
  // A repeated packet (same counter) is a legal duplicate, not a gap.
  auto dup = playable(2);
  dup.insert(dup.begin() + 3 * kPacket, dup.begin() + 3 * kPacket, dup.begin() + 4 * kPacket);
  EXPECT_EQ(scan(dup).streams[0].access_units, 2u);
}

TEST(TsScan, PesBeforeThePmtOnUnlistedPidsOrWithABadCrcDoNotCount) {
  // The frames come before the tables: a decoder cannot know what they are.
  std::vector<uint8_t> early = frame(0x100, 3, 1);
  const auto tables = playable(0);
  early.insert(early.end(), tables.begin(), tables.end());
  EXPECT_FALSE(scan(early).playable());

  // The PMT lists 0x100; the frames are on 0x200.
  std::vector<uint8_t> elsewhere = playable(0);
  for (int f = 0; f < 3; ++f) {
    const auto fr = frame(0x200, 3, 2);
    elsewhere.insert(elsewhere.end(), fr.begin(), fr.end());
  }
  const ScanResult r = scan(elsewhere);
  EXPECT_FALSE(r.playable());
  EXPECT_EQ(r.pes_starts, 3u);

  // One bit flipped in the PAT: no PAT at all.
  auto bad = playable(3);
  bad[10] ^= 0x01;
  const ScanResult b = scan(bad);
  EXPECT_FALSE(b.pat);
  EXPECT_FALSE(b.playable());
  EXPECT_NE(b.describe().find("no PAT"), std::string::npos) << b.describe();
}

TEST(Recovery, NotTsIsRefusedAndNothingIsWritten) {
  TempDir dir;
  std::vector<uint8_t> text(5000, 'x');
  write_file(dir.file("notes.txt"), text);
  const RecoveryReport r = recover_ts(dir.file("notes.txt"), dir.file("out.ts"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not an MPEG-TS file"), std::string::npos) << r.error;
  EXPECT_FALSE(file_exists(dir.file("out.ts")));
  EXPECT_FALSE(file_exists(dir.file("out.ts.partial")));
  EXPECT_EQ(read_file(dir.file("notes.txt")), text);
  EXPECT_FALSE(recover_ts(dir.file("missing.ts"), dir.file("o.ts")).ok);
}

TEST(LocationPattern, NumbersRotatedFilesWithWidthAndPadding) {
  EXPECT_EQ(LocationPattern("cam-%d.ts").path(7), "cam-7.ts");
  EXPECT_EQ(LocationPattern("cam-%05d.ts").path(42), "cam-00042.ts");
  EXPECT_EQ(LocationPattern("cam-%3d.ts").path(5), "cam-  5.ts");
  EXPECT_EQ(LocationPattern("cam-%2d.ts").path(12345), "cam-12345.ts") << "never truncated";
  EXPECT_EQ(LocationPattern("100%%-%d.ts").path(1), "100%-1.ts") << "%% folds with a %d";
  EXPECT_EQ(LocationPattern("cam-%064d.ts").path(1).size(), std::string("cam-.ts").size() + 64);
  EXPECT_TRUE(LocationPattern("a%d").numbered());
}

TEST(LocationPattern, WithoutAConversionTheLocationIsKeptAsGiven) {
  for (const std::string loc : {"cam.ts", "100%%.ts", "trailing%", ""}) {
    const LocationPattern p(loc);
    EXPECT_FALSE(p.numbered()) << loc;
    EXPECT_EQ(p.path(3), loc);
  }
}

TEST(LocationPattern, OtherConversionsTwoNumbersAndHugeWidthsAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cam-%s.ts", "unsupported conversion '%s'"},
      {"cam-%12x.ts", "unsupported conversion '%1'"},
      {"cam-%0x.ts", "unsupported conversion '%0'"},
      {"%d-%d.ts", "more than one %d pattern"},
      {"%d-%d-%x.ts", "unsupported conversion '%x'"},
      {"cam-%065d.ts", "wider than 64 digits"},
      {"cam-%99999999999999999999d.ts", "wider than 64 digits"},
  };
  for (const auto &[loc, why] : cases) {
    try {
      LocationPattern p(loc);
      ADD_FAILURE() << loc << " was accepted";
    } catch (const std::invalid_argument &e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << loc << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(loc), std::string::npos) << "names the location";
    }
  }
}

// ---- naming, rotation and leftovers (ts_location.hpp, ts_record.hpp) -----------------------

TEST(TempNames, OneRuleForTheSinkTheCliAndTheRecorder) {
  EXPECT_STREQ(kDefaultTempSuffix, ".recording.ts");
  EXPECT_EQ(temp_path_for("/r/cam1.ts"), "/r/cam1.recording.ts");
  EXPECT_EQ(temp_path_for("/r/cam1.m2ts"), "/r/cam1.recording.ts");
  EXPECT_EQ(temp_path_for("/r/cam1.ts", ".part"), "/r/cam1.part");
  EXPECT_TRUE(is_temp_name("/r/cam1.recording.ts"));
  EXPECT_TRUE(is_temp_name("cam1.part", ".part"));
  EXPECT_FALSE(is_temp_name("/r/cam1.ts"));
  EXPECT_FALSE(is_temp_name(".recording.ts")) << "nothing before the suffix";
  EXPECT_FALSE(is_temp_name("/r/cam1.recording.ts", ".part"));
  EXPECT_EQ(final_path_for_temp("/r/cam1.recording.ts"), "/r/cam1.ts");
  EXPECT_EQ(final_path_for_temp("cam-00003.part", ".part"), "cam-00003.ts");
  EXPECT_EQ(final_path_for_temp("/r/cam1.ts"), "") << "not a temp name";
  for (const char *name : {"/r/cam1.ts", "a/b-%05d.ts", "x"}) {
    const std::string temp = temp_path_for(name);
    EXPECT_TRUE(is_temp_name(temp)) << temp;
    EXPECT_EQ(temp_path_for(final_path_for_temp(temp)), temp) << "round trip of " << name;
  }
}

TEST(RecordSettings, DefaultsAreTheElementDefaultsAndAConstantExpression) {
  constexpr RecordSettings d{};
  static_assert(d.flush_threshold == 4ull << 20);
  static_assert(d.writer.max_pending_bytes == 16ull << 20);
  static_assert(d.writer.min_free_bytes == 64ull << 20);
  static_assert(d.writer.mode == SyncMode::Flush);
  static_assert(d.recover && !d.rotates());
  EXPECT_EQ(d.flush_interval_ns, 1'000'000'000u);
}

TEST(Rotation, NeedsAPatternAndCutsOnlyAtARandomAccessPointOfANonEmptyFile) {
  RecordSettings s;
  s.max_size_bytes = 10 * kPacket;
  EXPECT_NE(rotation_settings_error(s, LocationPattern("cam.ts")).find("%d pattern"),
            std::string::npos);
  EXPECT_EQ(rotation_settings_error(s, LocationPattern("cam-%d.ts")), "");
  EXPECT_EQ(rotation_settings_error(RecordSettings{}, LocationPattern("cam.ts")), "");

  Rotation r(s, LocationPattern("cam-%d.ts"));
  r.after_packet(9 * kPacket, 0);
  EXPECT_FALSE(r.pending());
  EXPECT_FALSE(r.cut_before(true, 9 * kPacket));
  r.after_packet(10 * kPacket, 0); // the limit is reached with this packet
  EXPECT_TRUE(r.pending());
  EXPECT_FALSE(r.cut_before(false, 10 * kPacket)) << "only at a random-access point";
  EXPECT_TRUE(r.cut_before(true, 10 * kPacket));
  EXPECT_FALSE(r.cut_before(true, 0)) << "never an empty file";
  r.started_next_file();
  EXPECT_FALSE(r.pending());

  RecordSettings by_time;
  by_time.max_size_time_ns = 2'000'000'000;
  Rotation t(by_time, LocationPattern("cam-%d.ts"));
  t.after_packet(1, 1'999'999'999);
  EXPECT_FALSE(t.pending());
  t.after_packet(2, 2'000'000'000);
  EXPECT_TRUE(t.pending());

  Rotation plain(s, LocationPattern("cam.ts")); // refused at start; never cuts anyway
  plain.after_packet(100 * kPacket, 0);
  EXPECT_FALSE(plain.pending());
}

TEST(Leftovers, ScanFromIndexZeroUntilAGapAndStartAtTheFirstFreeIndex) {
  const LocationPattern numbered("/r/cam-%02d.ts");
  std::set<std::string> disk = {"/r/cam-00.ts", "/r/cam-01.recording.ts", "/r/cam-02.ts",
                                "/r/cam-03.recording.ts",
                                // after the gap at 04: never looked at
                                "/r/cam-05.recording.ts"};
  const auto exists = [&](const std::string &p) { return disk.count(p) != 0; };
  const std::vector<Leftover> found = find_leftovers(numbered, ".recording.ts", exists);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].temp_path, "/r/cam-01.recording.ts");
  EXPECT_EQ(found[0].final_path, "/r/cam-01.ts");
  EXPECT_EQ(found[1].temp_path, "/r/cam-03.recording.ts");
  EXPECT_EQ(first_free_index(numbered, exists), 1);

  // Index 0 is always looked at, even when nothing is there.
  disk = {"/r/cam-01.recording.ts"};
  EXPECT_EQ(find_leftovers(numbered, ".recording.ts", exists).size(), 1u);
  disk = {};
  EXPECT_TRUE(find_leftovers(numbered, ".recording.ts", exists).empty());
  EXPECT_EQ(first_free_index(numbered, exists), 0);

  const LocationPattern plain("/r/cam.ts");
  disk = {"/r/cam.ts", "/r/cam.part"};
  const auto plain_found = find_leftovers(plain, ".part", exists);
  ASSERT_EQ(plain_found.size(), 1u);
  EXPECT_EQ(plain_found[0].final_path, "/r/cam.ts");
  EXPECT_EQ(first_free_index(plain, exists), 0) << "a plain location is overwritten";
}

TEST(Leftovers, APlayableOneIsRecoveredAndRemovedAnUnplayableOneIsMovedAside) {
  TempDir dir;
  const std::vector<uint8_t> data = playable(4);
  std::vector<uint8_t> cut = data;
  cut.resize(cut.size() - 100); // a crash in the middle of the last packet
  write_file(dir.file("a-0.recording.ts"), cut);
  write_file(dir.file("a-1.recording.ts"), std::vector<uint8_t>(5000, 0x47));
  const auto found = find_leftovers(LocationPattern(dir.file("a-%d.ts")), ".recording.ts");
  ASSERT_EQ(found.size(), 2u);

  const LeftoverRecovery good = recover_leftover(found[0]);
  EXPECT_TRUE(good.report.ok) << good.report.error;
  EXPECT_EQ(good.output, dir.file("a-0.recovered-1.ts"));
  EXPECT_TRUE(good.kept_aside.empty());
  EXPECT_FALSE(keepup::file_exists(dir.file("a-0.recording.ts")));
  EXPECT_FALSE(read_file(good.output).empty());

  const LeftoverRecovery bad = recover_leftover(found[1]);
  EXPECT_FALSE(bad.report.ok);
  EXPECT_TRUE(bad.output.empty());
  EXPECT_EQ(bad.kept_aside, dir.file("a-1.recording.ts.unrecoverable"));
  EXPECT_FALSE(keepup::file_exists(dir.file("a-1.recording.ts")));
  EXPECT_EQ(read_file(bad.kept_aside).size(), 5000u) << "never deleted";
}

TEST(AsyncWriter, UnblockedWritesQueuePastTheLimitAtOnceAndLoseNothing) {
  // A disk that stalls until the test lets it go: without set_unblocked() the second
  // write() would wait for it.
  struct StuckFiles : FakeFiles {
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    long write(int fd, const uint8_t *data, size_t len) override {
      std::unique_lock lk(m);
      cv.wait(lk, [this] { return go; });
      lk.unlock();
      return FakeFiles::write(fd, data, len);
    }
  } fs;
  WriterSettings ws;
  ws.min_free_bytes = 0;
  ws.max_pending_bytes = 4 * kPacket;
  const auto producer = std::this_thread::get_id();
  std::promise<void> producer_waits;
  std::atomic<bool> signalled{false};
  std::atomic<int64_t> fake_time{0};
  AsyncWriter w(
      fs,
      [&] {
        if (std::this_thread::get_id() == producer && !signalled.exchange(true))
          producer_waits.set_value();
        return fake_time += 1000;
      },
      ws);
  ASSERT_FALSE(w.open("/d/a.part", "/d/a.ts"));
  ASSERT_TRUE(w.write(stream(4))); // the writer thread takes it and sits on the stuck disk
  std::thread flusher([&] {
    producer_waits.get_future().wait(); // the producer is about to wait for room
    w.set_unblocked(true);
  });
  ASSERT_TRUE(w.write(stream(4))); // returns although the disk never moved
  flusher.join();
  ASSERT_TRUE(w.write(stream(4))) << "still unblocked: no wait at all";
  EXPECT_EQ(w.stats().pending_bytes, 12 * kPacket) << "queued past max-pending-bytes";
  w.set_unblocked(false);
  {
    std::lock_guard lk(fs.m);
    fs.go = true;
    fs.cv.notify_all();
  }
  EXPECT_FALSE(w.finish(0));
  EXPECT_EQ(fs.files["/d/a.ts"].size(), 12 * kPacket) << "nothing dropped";
}

TEST(AsyncWriter, AnUnblockedFinishReturnsAtOnceAndALaterOneWaitsForTheRename) {
  struct StuckFiles : FakeFiles {
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    long write(int fd, const uint8_t *data, size_t len) override {
      std::unique_lock lk(m);
      cv.wait(lk, [this] { return go; });
      lk.unlock();
      return FakeFiles::write(fd, data, len);
    }
  } fs;
  WriterSettings ws;
  ws.min_free_bytes = 0;
  AsyncWriter w(fs, fake_now, ws);
  ASSERT_FALSE(w.open("/d/a.part", "/d/a.ts"));
  ASSERT_TRUE(w.write(stream(4))); // the writer thread sits on the stuck disk
  w.set_unblocked(true);
  EXPECT_EQ(w.finish(0).kind, WriteError::Interrupted) << "a flush does not wait for the disk";
  EXPECT_EQ(fs.files.count("/d/a.ts"), 0u);
  w.set_unblocked(false);
  {
    std::lock_guard lk(fs.m);
    fs.go = true;
    fs.cv.notify_all();
  }
  EXPECT_FALSE(w.finish(0)) << "the second finish waits for the first one's rename";
  EXPECT_EQ(fs.files["/d/a.ts"].size(), 4 * kPacket);
  EXPECT_EQ(w.stats().files_finished, 1u);
}
