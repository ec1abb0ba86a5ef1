// RecordCopy / copy_records(): the matching records of a file, in order, to any sink; -c; a stop
// request; a big file read in parts on several threads gives the bytes one thread gives; a
// streamed input; pcapng interfaces declared to the sink, and a pcap sink refusing a second link
// type after writing what came before; damage and write errors returned after what came before.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ringcap/copy.hpp>
#include <ringcap/error.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/pcapng_writer.hpp>
#include <ringcap/sink.hpp>

#include "temp_files.hpp"

namespace ringcap {
namespace {

namespace fs = std::filesystem;
using test::Bytes;
using test::read_all;
using test::TempDir;

constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;

// An Ethernet/IPv4 frame of `size` bytes: TCP to port 80 for every third, UDP to 53 otherwise;
// the rest of the bytes 0xee, which never look like a pcap record header.
Bytes frame(std::size_t i, std::size_t size) {
    Bytes f(size, 0xee);
    const std::uint8_t head[] = {2,    0, 0, 0, 0,  2, 2, 0, 0,  0, 0, 1, 0x08, 0x00,  // Ethernet
                                 0x45, 0, 0, 0, 0,  0, 0, 0, 64, 0, 0, 0,              // IPv4
                                 10,   0, 0, 1, 10, 0, 0, 2};
    std::memcpy(f.data(), head, sizeof head);
    const std::size_t ip_len = size - 14;
    f[16] = static_cast<std::uint8_t>(ip_len >> 8);
    f[17] = static_cast<std::uint8_t>(ip_len);
    const bool tcp = i % 3 == 0;
    f[23] = tcp ? 6 : 17;
    f[34] = 0x13, f[35] = static_cast<std::uint8_t>(i);  // source port 0x13xx
    f[36] = 0, f[37] = tcp ? 80 : 53;
    return f;
}

std::vector<Bytes> frames(std::size_t n, std::size_t min = 60, std::size_t spread = 1400) {
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(frame(i, min + (i * 977) % spread));
    return out;
}

PacketView view_of(const Bytes& b, std::size_t i, int ifindex = 0) {
    return PacketView(reinterpret_cast<const std::byte*>(b.data()),
                      static_cast<std::uint32_t>(b.size()), static_cast<std::uint32_t>(b.size()),
                      kT0 + static_cast<std::int64_t>(i) * 1000, ifindex, kPacketTypeUnknown, 0, 0,
                      0, 0);
}

void write_pcap(const std::string& path, const std::vector<Bytes>& data) {
    PcapWriter w = PcapWriter::create(path, {});
    for (std::size_t i = 0; i < data.size(); ++i) w.write(view_of(data[i], i));
    w.close();
}

// What a sink received: each packet's bytes and interface, and the interfaces declared.
struct Received {
    std::vector<Bytes> data;
    std::vector<int> ifindex;
    std::vector<std::uint32_t> declared;  // link types
};

class RecordingSink final : public Sink {
  public:
    explicit RecordingSink(Received& r) : r_(r) {}
    void write(std::span<const PacketView> packets) override {
        for (const PacketView& p : packets) {
            const auto* d = reinterpret_cast<const std::uint8_t*>(p.data());
            r_.data.emplace_back(d, d + p.caplen());
            r_.ifindex.push_back(p.ifindex());
        }
    }
    bool add_interface(const FileInterface& f) override {
        r_.declared.push_back(f.link_type);
        return true;
    }

  private:
    Received& r_;
};

std::vector<Bytes> matching(const std::vector<Bytes>& data, const std::string& expression) {
    const Filter f = Filter::compile(expression, LinkType::ethernet, kDefaultSnaplen);
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < data.size(); ++i)
        if (f.matches(view_of(data[i], i))) out.push_back(data[i]);
    return out;
}

TEST(Copy, FilterPassesTheMatchingRecordsInOrder) {
    TempDir dir;
    const std::vector<Bytes> data = frames(10'000);
    write_pcap(dir.file("in.pcap"), data);
    PcapReader in = PcapReader::open(dir.file("in.pcap"));
    Received got;
    RecordingSink sink(got);
    const CopyResult r = copy_records(in, sink, {.filter = "udp"});
    const std::vector<Bytes> want = matching(data, "udp");
    EXPECT_TRUE(r.errors.empty());
    EXPECT_EQ(r.read, data.size());
    EXPECT_EQ(r.matched, want.size());
    EXPECT_TRUE(got.data == want);
    EXPECT_TRUE(got.declared.empty()) << "a pcap file has one interface, the sink's own";
}

TEST(Copy, CountStopsAfterThatManyMatches) {
    TempDir dir;
    const std::vector<Bytes> data = frames(1000);
    write_pcap(dir.file("in.pcap"), data);
    PcapReader in = PcapReader::open(dir.file("in.pcap"));
    Received got;
    RecordingSink sink(got);
    const CopyResult r = copy_records(in, sink, {.filter = "tcp", .count = 7});
    EXPECT_EQ(r.matched, 7u);
    const std::vector<Bytes> want = matching(data, "tcp");
    EXPECT_TRUE(got.data == std::vector<Bytes>(want.begin(), want.begin() + 7));
    EXPECT_EQ(r.read, 19u) << "the 7th TCP record is the 19th";
}

TEST(Copy, StopRequestEndsTheCopyAtABatch) {
    TempDir dir;
    const std::vector<Bytes> data = frames(50'000, 60, 100);
    write_pcap(dir.file("in.pcap"), data);
    {
        StopSource stop;
        stop.request_stop();
        PcapReader in = PcapReader::open(dir.file("in.pcap"));
        CountingSink sink;
        const CopyResult r = copy_records(in, sink, {}, stop);
        EXPECT_EQ(r.matched, 0u);
        EXPECT_EQ(sink.packets(), 0u);
    }
    StopSource stop;
    PcapReader in = PcapReader::open(dir.file("in.pcap"));
    std::uint64_t seen = 0;
    CallbackSink sink([&](std::span<const PacketView> views) {
        seen += views.size();
        stop.request_stop();  // after the first chunk
    });
    const CopyResult r = copy_records(in, sink, {}, stop);
    EXPECT_TRUE(r.errors.empty());
    EXPECT_EQ(r.matched, seen);
    EXPECT_GT(seen, 0u);
    EXPECT_LE(seen, 4096u) << "the stop request is looked at every 4096 records";
}

// A file of 64 MiB or more, passing through to a pcap file, is read in parts on several threads:
// the same bytes come out as from one thread, with and without a filter.
TEST(Copy, PartsOfABigFileGiveTheBytesOneThreadGives) {
    TempDir dir;
    const std::string in_path = dir.file("big.pcap");
    {
        PcapWriter w = PcapWriter::create(in_path, {});
        for (std::size_t i = 0; w.file_size() < (70u << 20); ++i) {
            const Bytes f = frame(i, 200 + (i * 977) % 1300);
            w.write(view_of(f, i));
        }
        w.close();
    }
    ASSERT_GE(fs::file_size(in_path), 70u << 20);
    for (const std::string expression : {"", "udp"}) {
        SCOPED_TRACE(expression);
        std::vector<CopyResult> results;
        for (const std::size_t threads : {1, 4}) {
            PcapReader in = PcapReader::open(in_path);
            PcapWriter out =
                PcapWriter::create(dir.file("out" + std::to_string(threads) + ".pcap"), {});
            results.push_back(copy_records(in, out, {.filter = expression, .threads = threads}));
            out.close();
            EXPECT_TRUE(results.back().errors.empty());
        }
        EXPECT_EQ(results[0].parts, 1u);
        EXPECT_GT(results[1].parts, 1u) << "the file was not read in parts";
        EXPECT_EQ(results[0].matched, results[1].matched);
        EXPECT_EQ(results[0].read, results[1].read);
        const Bytes one = read_all(dir.file("out1.pcap"));
        EXPECT_TRUE(one == read_all(dir.file("out4.pcap"))) << "parts and one thread differ";
        if (expression.empty()) {
            EXPECT_TRUE(one == read_all(in_path)) << "not a copy";
        }
    }
}

// From a pipe the records sit in a buffer that the next read refills: what was taken from it is
// written first, to a pcap file as runs and to any other sink as views.
TEST(Copy, StreamedInputGivesWhatAMappedOneGives) {
    TempDir dir;
    const std::vector<Bytes> data = frames(3000);
    write_pcap(dir.file("in.pcap"), data);
    PcapReader in = PcapReader::open(dir.file("in.pcap"), ReadMode::stream);
    PcapWriter out = PcapWriter::create(dir.file("out.pcap"), {});
    EXPECT_TRUE(copy_records(in, out, {.filter = "udp"}).errors.empty());
    out.close();
    PcapReader back = PcapReader::open(dir.file("out.pcap"));
    std::vector<Bytes> got;
    while (auto p = back.next()) {
        const auto* d = reinterpret_cast<const std::uint8_t*>(p->data());
        got.emplace_back(d, d + p->caplen());
    }
    EXPECT_TRUE(got == matching(data, "udp"));

    PcapReader again = PcapReader::open(dir.file("in.pcap"), ReadMode::stream);
    Received seen;
    RecordingSink sink(seen);
    EXPECT_TRUE(copy_records(again, sink, {.filter = "tcp"}).errors.empty());
    EXPECT_TRUE(seen.data == matching(data, "tcp")) << "a view outlived the read buffer";
}

// pcapng with an Ethernet and a raw IP interface: packets 0-2 and 4-5 Ethernet, 3 raw.
std::string mixed_pcapng(const TempDir& dir, std::vector<Bytes>& data) {
    data = frames(6);
    data[3] = Bytes(data[3].begin() + 14, data[3].end());  // the IPv4 packet alone
    const std::string path = dir.file("mixed.pcapng");
    PcapngWriter w = PcapngWriter::create(path, {.interface_name = "eth"});
    w.add_interface(LinkType::raw, 65535, "tun", "");
    for (std::size_t i = 0; i < data.size(); ++i) w.write(view_of(data[i], i), i == 3 ? 1 : 0);
    w.close();
    return path;
}

TEST(Copy, PcapngInterfacesAreDeclaredToTheSink) {
    TempDir dir;
    std::vector<Bytes> data;
    PcapReader in = PcapReader::open(mixed_pcapng(dir, data));
    Received got;
    RecordingSink sink(got);
    const CopyResult r = copy_records(in, sink, {.filter = "udp or tcp"});
    EXPECT_TRUE(r.errors.empty());
    EXPECT_TRUE(got.data == data) << "the filter is compiled for each link type";
    EXPECT_EQ(got.ifindex, (std::vector<int>{0, 0, 0, 1, 0, 0}));
    EXPECT_EQ(got.declared, (std::vector<std::uint32_t>{101}));
}

TEST(Copy, PcapSinkRefusesASecondLinkTypeAfterWhatCameBefore) {
    TempDir dir;
    std::vector<Bytes> data;
    PcapReader in = PcapReader::open(mixed_pcapng(dir, data));
    PcapWriter out = PcapWriter::create(dir.file("out.pcap"), {});
    const CopyResult r = copy_records(in, out, {});
    out.close();
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].code().value(), EINVAL);
    EXPECT_NE(std::string(r.errors[0].what()).find("link type RAW"), std::string::npos)
        << r.errors[0].what();
    EXPECT_EQ(r.matched, 3u);
    EXPECT_EQ(out.records(), 3u);

    PcapReader again = PcapReader::open(dir.file("mixed.pcapng"));
    PcapngWriter ng = PcapngWriter::create(dir.file("out.pcapng"), {});
    EXPECT_TRUE(copy_records(again, ng, {}).errors.empty());
    ng.close();
    PcapReader back = PcapReader::open(dir.file("out.pcapng"));
    std::vector<int> ifs;
    while (auto p = back.next()) ifs.push_back(p->ifindex());
    EXPECT_EQ(ifs, (std::vector<int>{0, 0, 0, 1, 0, 0}));
    EXPECT_EQ(back.interfaces().at(1).link_type, 101u);
}

TEST(Copy, DamageIsReturnedAfterTheRecordsBeforeIt) {
    TempDir dir;
    const std::vector<Bytes> data = frames(100);
    write_pcap(dir.file("in.pcap"), data);
    std::size_t cut = 24;
    for (std::size_t i = 0; i < 60; ++i) cut += 16 + data[i].size();
    fs::resize_file(dir.file("in.pcap"), cut + 20);  // record 60 cut short
    PcapReader in = PcapReader::open(dir.file("in.pcap"));
    Received got;
    RecordingSink sink(got);
    const CopyResult r = copy_records(in, sink, {});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].code().value(), EINVAL);
    EXPECT_EQ(got.data.size(), 60u);
    EXPECT_EQ(r.matched, 60u);
}

TEST(Copy, WriteErrorIsReturned) {
    if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    TempDir dir;
    write_pcap(dir.file("in.pcap"), frames(5000));
    for (const bool mapped : {true, false}) {
        PcapReader in =
            PcapReader::open(dir.file("in.pcap"), mapped ? ReadMode::map : ReadMode::stream);
        PcapWriter out = PcapWriter::create("/dev/full", {});
        const CopyResult r = copy_records(in, out, {});
        ASSERT_FALSE(r.errors.empty()) << mapped;
        EXPECT_EQ(r.errors[0].code().value(), ENOSPC);
    }
}

TEST(Copy, BadExpressionThrowsBeforeAnythingIsRead) {
    TempDir dir;
    write_pcap(dir.file("in.pcap"), frames(3));
    PcapReader in = PcapReader::open(dir.file("in.pcap"));
    EXPECT_THROW(RecordCopy(in, {.filter = "tcp port"}), Error);
    EXPECT_EQ(in.records(), 0u);
}

}  // namespace
}  // namespace ringcap
