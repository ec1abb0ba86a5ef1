// Sinks: SinkFeeder hands a sink every view in order, a chunk at a time; the file writers as
// sinks write what their per-packet calls write (pcapng numbering packets by the source's
// interfaces once declared, also across rotated files); FileWriter's counters; moves.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/pcapng_writer.hpp>
#include <ringcap/rotating_writer.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/sink_feeder.hpp>

#include "temp_files.hpp"

namespace ringcap {
namespace {

namespace fs = std::filesystem;
using test::Bytes;
using test::payload;
using test::read_all;
using test::TempDir;

constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;

// Packets with distinct data, times, interfaces and types, over `data` (which they point into).
std::vector<PacketView> views_of(const std::vector<Bytes>& data, int interfaces = 1) {
    std::vector<PacketView> out;
    for (std::size_t i = 0; i < data.size(); ++i)
        out.emplace_back(reinterpret_cast<const std::byte*>(data[i].data()),
                         static_cast<std::uint32_t>(data[i].size()),
                         static_cast<std::uint32_t>(data[i].size() + i % 3),
                         kT0 + static_cast<std::int64_t>(i) * 1000,
                         static_cast<int>(i % static_cast<std::size_t>(interfaces)),
                         static_cast<std::uint8_t>(i % 5), 0, 0, 0, 0);
    return out;
}

std::vector<Bytes> packets(std::size_t n) {
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(payload(40 + (i * 37) % 200, static_cast<unsigned>(i)));
    return out;
}

bool same_view(const PacketView& a, const PacketView& b) {
    return a.data() == b.data() && a.caplen() == b.caplen() && a.wire_len() == b.wire_len() &&
           a.ts_ns() == b.ts_ns() && a.ifindex() == b.ifindex() && a.pkttype() == b.pkttype();
}

TEST(SinkFeeder, CallbackGetsEveryViewInOrderInChunks) {
    const std::vector<Bytes> data = packets(600);
    const std::vector<PacketView> sent = views_of(data);
    std::vector<PacketView> got;
    std::vector<std::size_t> chunks;
    CallbackSink sink([&](std::span<const PacketView> views) {
        chunks.push_back(views.size());
        got.insert(got.end(), views.begin(), views.end());
    });
    SinkFeeder feed(sink);
    for (const PacketView& p : sent) feed.push(p);
    EXPECT_EQ(feed.pending(), 600u - 2 * SinkFeeder::kChunk);
    feed.drain();
    feed.drain();  // nothing left: no empty call
    EXPECT_EQ(chunks, (std::vector<std::size_t>{256, 256, 88}));
    ASSERT_EQ(got.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_TRUE(same_view(got[i], sent[i])) << i;
}

TEST(SinkFeeder, NothingStaysPendingWhenTheSinkThrows) {
    const std::vector<Bytes> data = packets(3);
    CallbackSink sink([](std::span<const PacketView>) { throw std::runtime_error("full"); });
    SinkFeeder feed(sink);
    for (const PacketView& p : views_of(data)) feed.push(p);
    EXPECT_THROW(feed.drain(), std::runtime_error);
    EXPECT_EQ(feed.pending(), 0u);
    EXPECT_NO_THROW(feed.drain());
}

TEST(CountingSink, CountsPacketsAndCapturedBytes) {
    const std::vector<Bytes> data = packets(10);
    CountingSink sink;
    Sink& s = sink;
    const std::vector<PacketView> v = views_of(data);
    s.write({v.data(), 4});
    s.write({v.data() + 4, 6});
    std::uint64_t bytes = 0;
    for (const Bytes& b : data) bytes += b.size();
    EXPECT_EQ(sink.packets(), 10u);
    EXPECT_EQ(sink.bytes(), bytes);
}

// Through the Sink interface, in chunks, a writer writes the bytes its per-packet call writes.
template <class W>
void expect_sink_writes_like_write(const FileWriterOptions& options) {
    TempDir dir;
    const std::vector<Bytes> data = packets(700);
    const std::vector<PacketView> v = views_of(data, 3);  // ifindex 0..2, never declared
    {
        W one = W::create(dir.file("one"), options);
        for (const PacketView& p : v) one.write(p);
        one.close();
    }
    {
        W w = W::create(dir.file("sink"), options);
        Sink& sink = w;
        SinkFeeder feed(sink);
        for (const PacketView& p : v) feed.push(p);
        feed.drain();
        sink.end_batch();
        sink.close();
        EXPECT_EQ(w.records(), v.size());
    }
    EXPECT_TRUE(read_all(dir.file("one")) == read_all(dir.file("sink")));
    PcapReader r = PcapReader::open(dir.file("sink"));
    std::size_t n = 0;
    while (auto p = r.next()) {
        ASSERT_LT(n, data.size());
        EXPECT_EQ(p->caplen(), data[n].size());
        EXPECT_EQ(p->ifindex(), 0) << "undeclared interfaces: every packet on interface 0";
        ++n;
    }
    EXPECT_EQ(n, data.size());
}

TEST(FileWriterSink, PcapWritesWhatWriteWrites) {
    expect_sink_writes_like_write<PcapWriter>({.precision = TimestampPrecision::nano});
}

TEST(FileWriterSink, PcapngWritesWhatWriteWrites) {
    expect_sink_writes_like_write<PcapngWriter>({.interface_name = "x"});
}

// Once the source declares its interfaces, a packet's ifindex() says which it is on.
TEST(FileWriterSink, PcapngNumbersPacketsByDeclaredInterfaces) {
    TempDir dir;
    const std::string path = dir.file("ifs.pcapng");
    const std::vector<Bytes> data = packets(30);
    {
        PcapngWriter w = PcapngWriter::create(path, {.interface_name = "a"});
        Sink& sink = w;
        EXPECT_TRUE(sink.add_interface({.link_type = 101, .snaplen = 1000, .name = "b"}));
        EXPECT_TRUE(sink.add_interface({.link_type = 276, .snaplen = 2000, .name = "c"}));
        const std::vector<PacketView> v = views_of(data, 3);
        sink.write(v);
        sink.close();
    }
    PcapReader r = PcapReader::open(path);
    std::size_t n = 0;
    while (auto p = r.next()) EXPECT_EQ(p->ifindex(), static_cast<int>(n++ % 3));
    EXPECT_EQ(n, data.size());
    ASSERT_EQ(r.interfaces().size(), 3u);
    EXPECT_EQ(r.interfaces()[1].name, "b");
    EXPECT_EQ(r.interfaces()[1].link_type, 101u);
    EXPECT_EQ(r.interfaces()[2].snaplen, 2000u);
}

TEST(RotatingWriterSink, WithoutRotationItIsThePlainFile) {
    TempDir dir;
    const std::vector<Bytes> data = packets(300);
    const std::vector<PacketView> v = views_of(data);
    {
        PcapWriter w = PcapWriter::create(dir.file("plain.pcap"), {});
        w.write(v);
        w.close();
    }
    {
        RotatingWriter w(dir.file("rot.pcap"), FileFormat::pcap, {}, {});
        Sink& sink = w;
        sink.write({v.data(), 100});
        sink.write({v.data() + 100, 200});
        sink.close();
    }
    EXPECT_TRUE(read_all(dir.file("plain.pcap")) == read_all(dir.file("rot.pcap")));
}

// The common `-w FILE`: a pcap file that does not rotate takes pushed packets straight into its
// buffer (no chunk pending) once it is open, and the file is the one chunks would have made.
TEST(SinkFeeder, WritesStraightIntoAPcapFileThatDoesNotRotate) {
    TempDir dir;
    const std::vector<Bytes> data = packets(600);
    const std::vector<PacketView> v = views_of(data);
    {
        PcapWriter w = PcapWriter::create(dir.file("plain.pcap"), {});
        w.write(v);
        w.close();
    }
    RotatingWriter w(dir.file("direct.pcap"), FileFormat::pcap, {}, {});
    SinkFeeder feed(w);
    EXPECT_EQ(feed.file(), nullptr) << "opened at the first packet: not yet";
    feed.push(v[0]);
    EXPECT_EQ(feed.pending(), 1u);
    feed.drain();  // opens the file and finds it
    ASSERT_NE(feed.file(), nullptr);
    for (std::size_t i = 1; i < v.size(); ++i) feed.push(v[i]);
    EXPECT_EQ(feed.pending(), 0u);
    EXPECT_EQ(feed.file()->records(), v.size());
    feed.drain();
    w.close();
    EXPECT_TRUE(read_all(dir.file("plain.pcap")) == read_all(dir.file("direct.pcap")));
}

TEST(SinkFeeder, ChunksForFilesThatRotateOrAreNotPcap) {
    TempDir dir;
    const std::vector<Bytes> data = packets(10);
    const std::vector<PacketView> v = views_of(data);
    RotatingWriter rotating(dir.file("r.pcap"), FileFormat::pcap, {}, {.max_bytes = 1u << 20});
    RotatingWriter ng(dir.file("n.pcapng"), FileFormat::pcapng, {}, {});
    for (Sink* sink : {static_cast<Sink*>(&rotating), static_cast<Sink*>(&ng)}) {
        SinkFeeder feed(*sink);
        feed.push(v[0]);
        feed.drain();
        feed.push(v[1]);
        EXPECT_EQ(feed.file(), nullptr);
        EXPECT_EQ(feed.pending(), 1u);
        feed.drain();
        sink->close();
    }
    EXPECT_EQ(rotating.writer_counters().records, 2u);
    EXPECT_EQ(ng.writer_counters().records, 2u);
}

// A size limit splits a chunk between files; every file gets the interfaces declared.
TEST(RotatingWriterSink, RotatedPcapngFilesEachDeclareTheInterfaces) {
    TempDir dir;
    const std::vector<Bytes> data = packets(200);
    const std::vector<PacketView> v = views_of(data, 2);
    RotatingWriter w(dir.file("r.pcapng"), FileFormat::pcapng, {.interface_name = "a"},
                     {.max_bytes = 4096});
    Sink& sink = w;
    EXPECT_TRUE(sink.add_interface({.link_type = 1, .snaplen = 100, .name = "b"}));
    sink.write(v);
    sink.close();
    EXPECT_GT(w.files_finished(), 3u);
    std::size_t total = 0;
    for (const auto& e : fs::directory_iterator(dir.file(""))) {
        EXPECT_LE(fs::file_size(e.path()), 4096u) << e.path();
        PcapReader r = PcapReader::open(e.path().string());
        ASSERT_EQ(r.interfaces().size(), 2u) << e.path();
        EXPECT_EQ(r.interfaces()[1].name, "b");
        while (auto p = r.next()) {
            EXPECT_EQ(p->ifindex(), static_cast<int>((p->ts_ns() - kT0) / 1000 % 2));
            ++total;
        }
    }
    EXPECT_EQ(total, data.size());
}

TEST(RotatingWriterSink, PcapTakesInterfacesOfItsLinkTypeOnly) {
    TempDir dir;
    RotatingWriter w(dir.file("x.pcap"), FileFormat::pcap, {.link_type = LinkType::ethernet}, {});
    Sink& sink = w;
    EXPECT_TRUE(sink.add_interface({.link_type = 1}));
    EXPECT_FALSE(sink.add_interface({.link_type = 113}));
}

// Assigning to a writer finishes the file it had, as its destructor would.
TEST(FileWriter, MoveAssignmentFinishesTheReplacedFile) {
    TempDir dir;
    const std::vector<Bytes> data = {payload(100, 1)};
    const std::vector<PacketView> v = views_of(data);
    PcapWriter w = PcapWriter::create(dir.file("first.pcap"), {});
    w.write(v[0]);
    w = PcapWriter::create(dir.file("second.pcap"), {});
    EXPECT_EQ(fs::file_size(dir.file("first.pcap")), 24u + 16u + 100u);
    EXPECT_EQ(w.records(), 0u);
    w.write(v[0]);
    w.close();
    EXPECT_EQ(fs::file_size(dir.file("second.pcap")), 24u + 16u + 100u);
}

TEST(FileWriterCounters, TimeInWritesIsCounted) {
    TempDir dir;
    const std::vector<Bytes> data = packets(2000);
    PcapWriter w = PcapWriter::create(dir.file("t.pcap"), {.buffer_size = 4096});
    for (const PacketView& p : views_of(data)) w.write(p);
    w.close();
    EXPECT_GT(w.blocked_ns(), 0u);
    EXPECT_EQ(w.write_errors(), 0u);
    EXPECT_EQ(w.short_writes(), 0u);
    EXPECT_EQ(w.bytes_written(), fs::file_size(dir.file("t.pcap")));
}

// A file size limit makes write() stop part-way (a short write), then fail (EFBIG).
TEST(FileWriterCounters, ShortWritesAndErrorsAreCounted) {
    TempDir dir;
    const std::vector<Bytes> data = {payload(1000, 2)};
    const PacketView p = views_of(data)[0];
    PcapWriter w = PcapWriter::create(dir.file("s.pcap"), {.buffer_size = 64 << 10});
    for (int i = 0; i < 20; ++i) w.write(p);
    EXPECT_EQ(test::flush_with_file_size_limit(w, 5000), EFBIG);
    EXPECT_EQ(w.short_writes(), 1u);
    EXPECT_EQ(w.write_errors(), 1u);
    EXPECT_EQ(fs::file_size(dir.file("s.pcap")), 24u + 4 * 1016u) << "cut to whole records";
}

}  // namespace
}  // namespace ringcap
