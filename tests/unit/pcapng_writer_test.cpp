// PcapWriter in pcapng: every block it writes, taken apart by a parser of the test's own (not
// ringcap's reader): the section header's shb_* options, one IDB per interface, EPBs with
// epb_flags only when the direction is known and an optional comment, ISBs with the counts given;
// libpcap reads the file and gets the same packets; interfaces declared before a failed first
// write survive it.
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/pcapng_writer.hpp>
#include <ringcap/rotating_writer.hpp>

#include "temp_files.hpp"

namespace ringcap {
namespace {

using test::Bytes;
using test::payload;
using test::read_all;
using test::TempDir;

constexpr auto u16 = test::u16_at;
constexpr auto u32 = test::u32_at;
constexpr auto u64 = test::u64_at;

struct RawBlock {
    std::uint32_t type;
    Bytes body;  // between the leading length and the trailing length
};

// Splits a pcapng file in host byte order into blocks; fails the test on a bad length.
std::vector<RawBlock> split_blocks(const Bytes& file) {
    std::vector<RawBlock> out;
    std::size_t pos = 0;
    while (pos < file.size()) {
        EXPECT_LE(pos + 12, file.size()) << "block header cut at " << pos;
        if (pos + 12 > file.size()) break;
        const std::uint32_t len = u32(file, pos + 4);
        EXPECT_EQ(len % 4, 0u) << "at " << pos;
        EXPECT_GE(len, 12u) << "at " << pos;
        EXPECT_LE(pos + len, file.size()) << "block cut at " << pos;
        if (len < 12 || len % 4 || pos + len > file.size()) break;
        EXPECT_EQ(u32(file, pos + len - 4), len) << "trailing length at " << pos;
        out.push_back(
            {u32(file, pos), Bytes(file.begin() + pos + 8, file.begin() + pos + len - 4)});
        pos += len;
    }
    return out;
}

// code -> values, in order; stops at opt_endofopt, which must be there.
std::multimap<std::uint16_t, Bytes> options_of(const Bytes& body, std::size_t from) {
    std::multimap<std::uint16_t, Bytes> out;
    std::size_t pos = from;
    bool ended = false;
    while (pos + 4 <= body.size()) {
        const std::uint16_t code = u16(body, pos), len = u16(body, pos + 2);
        if (code == 0) {
            EXPECT_EQ(len, 0u);
            EXPECT_EQ(pos + 4, body.size()) << "bytes after opt_endofopt";
            ended = true;
            break;
        }
        EXPECT_LE(pos + 4 + len, body.size());
        out.emplace(code, Bytes(body.begin() + pos + 4, body.begin() + pos + 4 + len));
        for (std::size_t i = pos + 4 + len; i < pos + 4 + ((len + 3u) & ~3u); ++i)
            EXPECT_EQ(body[i], 0) << "option padding is not zero";
        pos += 4 + ((len + 3u) & ~3u);
    }
    EXPECT_TRUE(ended) << "no opt_endofopt";
    return out;
}

std::string text(const Bytes& b) { return std::string(b.begin(), b.end()); }

PacketView packet(const Bytes& data, std::int64_t ts, std::uint8_t pkttype,
                  std::uint32_t wire = 0) {
    return PacketView(
        reinterpret_cast<const std::byte*>(data.data()), static_cast<std::uint32_t>(data.size()),
        wire ? wire : static_cast<std::uint32_t>(data.size()), ts, 0, pkttype, 0, 0, 0, 0);
}

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

constexpr std::int64_t kT0 = 1'700'000'000'123'456'789;

TEST(PcapngWriterBlocks, SectionInterfacesPacketsAndStatisticsAreExact) {
    TempDir dir;
    const std::string path = dir.file("exact.pcapng");
    struct Sent {
        Bytes data;
        std::uint8_t pkttype;
        std::uint32_t interface;
        std::string comment;
        std::uint32_t wire;
    };
    const std::vector<Sent> sent = {
        {payload(60, 1), PACKET_HOST, 0, "", 0},
        {payload(61, 2), PACKET_MULTICAST, 0, "", 0},
        {payload(62, 3), PACKET_BROADCAST, 1, "first comment", 0},
        {payload(63, 4), PACKET_OTHERHOST, 1, "", 1500},
        {payload(64, 5), PACKET_OUTGOING, 0, "", 0},
        {payload(65, 6), kPacketTypeUnknown, 0, "", 0},
        {payload(0, 7), kPacketTypeUnknown, 1, "abc", 42},
    };
    const std::int64_t before = now_ns();
    std::vector<std::size_t> sizes;
    {
        PcapngWriter w = PcapngWriter::create(path, {.snaplen = 65535,
                                                     .interface_name = "veth-lab",
                                                     .interface_description = "ringcap capture"});
        EXPECT_EQ(w.add_interface(LinkType::linux_sll2, 1000, "any", ""), 1u);
        for (std::size_t i = 0; i < sent.size(); ++i) {
            const Sent& s = sent[i];
            const PacketView p = packet(s.data, kT0 + std::int64_t(i), s.pkttype, s.wire);
            sizes.push_back(w.record_size(p));
            if (s.interface == 0 && s.comment.empty())
                w.write(p);  // the inline path
            else
                w.write(p, s.interface, s.comment);
        }
        w.write_statistics(0, 1234, 56);
        w.write_statistics(1, 0xffffffff0ull, 0);
        EXPECT_EQ(w.records(), sent.size());
        w.close();
    }
    const std::int64_t after = now_ns();
    const std::vector<RawBlock> blocks = split_blocks(read_all(path));
    ASSERT_EQ(blocks.size(), 1 + 2 + sent.size() + 2);

    // Section header: byte-order magic, version 1.0, length unknown, shb_* options.
    const RawBlock& shb = blocks[0];
    EXPECT_EQ(shb.type, 0x0a0d0d0au);
    EXPECT_EQ(u32(shb.body, 0), 0x1a2b3c4du);
    EXPECT_EQ(u16(shb.body, 4), 1u);
    EXPECT_EQ(u16(shb.body, 6), 0u);
    EXPECT_EQ(u64(shb.body, 8), ~std::uint64_t{0});
    const auto so = options_of(shb.body, 16);
    utsname u{};
    ASSERT_EQ(::uname(&u), 0);
    ASSERT_EQ(so.count(3), 1u);
    EXPECT_EQ(text(so.find(3)->second), std::string(u.sysname) + " " + u.release);  // shb_os
    ASSERT_EQ(so.count(2), 1u);
    EXPECT_FALSE(so.find(2)->second.empty());  // shb_hardware
    ASSERT_EQ(so.count(4), 1u);
    EXPECT_EQ(text(so.find(4)->second).rfind("ringcap ", 0), 0u);  // shb_userappl
    EXPECT_TRUE(std::isdigit(so.find(4)->second.at(8)));

    // One IDB per interface, nanosecond resolution.
    const RawBlock& idb0 = blocks[1];
    EXPECT_EQ(idb0.type, 1u);
    EXPECT_EQ(u16(idb0.body, 0), 1u);  // Ethernet
    EXPECT_EQ(u16(idb0.body, 2), 0u);
    EXPECT_EQ(u32(idb0.body, 4), 65535u);
    const auto i0 = options_of(idb0.body, 8);
    EXPECT_EQ(text(i0.find(2)->second), "veth-lab");
    EXPECT_EQ(text(i0.find(3)->second), "ringcap capture");
    EXPECT_EQ(i0.find(9)->second, Bytes{9});
    const RawBlock& idb1 = blocks[2];
    EXPECT_EQ(idb1.type, 1u);
    EXPECT_EQ(u16(idb1.body, 0), 276u);
    EXPECT_EQ(u32(idb1.body, 4), 1000u);
    const auto i1 = options_of(idb1.body, 8);
    EXPECT_EQ(text(i1.find(2)->second), "any");
    EXPECT_EQ(i1.count(3), 0u) << "an empty description is left out";
    EXPECT_EQ(i1.find(9)->second, Bytes{9});

    // EPBs: epb_flags = direction | reception type << 2, none when the direction is unknown.
    const std::map<std::uint8_t, std::uint32_t> flags = {{PACKET_HOST, 0x1 | 1 << 2},
                                                         {PACKET_MULTICAST, 0x1 | 2 << 2},
                                                         {PACKET_BROADCAST, 0x1 | 3 << 2},
                                                         {PACKET_OTHERHOST, 0x1 | 4 << 2},
                                                         {PACKET_OUTGOING, 0x2}};
    for (std::size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i));
        const Sent& s = sent[i];
        const RawBlock& b = blocks[3 + i];
        EXPECT_EQ(b.type, 6u);
        const std::size_t comment_bytes =
            s.comment.empty() ? 0 : 4 + ((s.comment.size() + 3) & ~3u);
        EXPECT_EQ(b.body.size() + 12, sizes[i] + comment_bytes) << "record_size()";
        EXPECT_EQ(u32(b.body, 0), s.interface);
        const std::uint64_t ts = std::uint64_t{u32(b.body, 4)} << 32 | u32(b.body, 8);
        EXPECT_EQ(ts, std::uint64_t(kT0) + i);
        EXPECT_EQ(u32(b.body, 12), s.data.size());
        EXPECT_EQ(u32(b.body, 16), s.wire ? s.wire : s.data.size());
        EXPECT_EQ(Bytes(b.body.begin() + 20, b.body.begin() + 20 + s.data.size()), s.data);
        const auto o = options_of(b.body, 20 + ((s.data.size() + 3) & ~3u));
        if (s.pkttype == kPacketTypeUnknown) {
            EXPECT_EQ(o.count(2), 0u) << "epb_flags for an unknown direction";
        } else {
            ASSERT_EQ(o.count(2), 1u);
            ASSERT_EQ(o.find(2)->second.size(), 4u);
            EXPECT_EQ(u32(o.find(2)->second, 0), flags.at(s.pkttype));
        }
        if (s.comment.empty())
            EXPECT_EQ(o.count(1), 0u);
        else
            EXPECT_EQ(text(o.find(1)->second), s.comment);
    }

    // ISBs: interface, a timestamp of now, isb_endtime, isb_ifrecv, isb_ifdrop.
    const std::uint64_t want[2][2] = {{1234, 56}, {0xffffffff0ull, 0}};
    for (std::uint32_t i = 0; i < 2; ++i) {
        const RawBlock& b = blocks[3 + sent.size() + i];
        EXPECT_EQ(b.type, 5u);
        EXPECT_EQ(u32(b.body, 0), i);
        const std::int64_t ts = std::int64_t(std::uint64_t{u32(b.body, 4)} << 32 | u32(b.body, 8));
        EXPECT_GE(ts, before);
        EXPECT_LE(ts, after);
        const auto o = options_of(b.body, 12);
        ASSERT_EQ(o.count(4), 1u);
        ASSERT_EQ(o.count(5), 1u);
        EXPECT_EQ(u64(o.find(4)->second, 0), want[i][0]);
        EXPECT_EQ(u64(o.find(5)->second, 0), want[i][1]);
        ASSERT_EQ(o.count(3), 1u);
        const Bytes& end = o.find(3)->second;
        EXPECT_EQ(std::uint64_t{u32(end, 0)} << 32 | u32(end, 4), std::uint64_t(ts));
    }
}

TEST(PcapngWriterBlocks, LibpcapReadsTheSamePackets) {
    TempDir dir;
    const std::string path = dir.file("libpcap.pcapng");
    std::vector<Bytes> data;
    for (unsigned i = 0; i < 50; ++i) data.push_back(payload(14 + (i * 97) % 1500, i));
    {
        PcapngWriter w = PcapngWriter::create(
            path, {.snaplen = 4096, .buffer_size = 8192, .interface_name = "eth7"});
        const std::uint32_t second = w.add_interface(LinkType::ethernet, 4096, "eth8", "other");
        for (unsigned i = 0; i < data.size(); ++i) {
            const PacketView p = packet(data[i], kT0 + std::int64_t(i) * 1'000'333,
                                        i % 3 ? PACKET_HOST : kPacketTypeUnknown, 2000 + i);
            if (i % 2)
                w.write(p, second, i % 5 ? "" : "note " + std::to_string(i));
            else
                w.write(p);
        }
        w.write_statistics(0, 25, 0);
        w.write_statistics(second, 25, 1);
        w.close();
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pc =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    ASSERT_NE(pc, nullptr) << errbuf;
    EXPECT_EQ(pcap_datalink(pc), DLT_EN10MB);
    pcap_pkthdr* h;
    const u_char* d;
    int rc;
    std::size_t n = 0;
    while ((rc = pcap_next_ex(pc, &h, &d)) == 1) {
        ASSERT_LT(n, data.size());
        EXPECT_EQ(Bytes(d, d + h->caplen), data[n]) << n;
        EXPECT_EQ(h->len, 2000 + n) << n;
        EXPECT_EQ(std::int64_t{h->ts.tv_sec} * 1'000'000'000 + h->ts.tv_usec,
                  kT0 + std::int64_t(n) * 1'000'333)
            << n;
        ++n;
    }
    EXPECT_EQ(rc, PCAP_ERROR_BREAK) << pcap_geterr(pc);
    pcap_close(pc);
    EXPECT_EQ(n, data.size());
}

// The first write fails having written next to nothing (RLIMIT_FSIZE of 1 byte, as a full disk
// would): the file is cut to nothing, and the section header and every interface declared before
// it stay buffered, so that once there is room again the file is whole and packets on the second
// interface have their IDB.
TEST(PcapngWriterBlocks, InterfacesDeclaredBeforeAFailedFirstWriteAreKept) {
    TempDir dir;
    const std::string path = dir.file("retry.pcapng");
    const Bytes a = payload(100, 1), b = payload(200, 2);
    PcapngWriter w = PcapngWriter::create(path, {.interface_name = "a"});
    const std::uint32_t second = w.add_interface(LinkType::ethernet, 262144, "b", "");
    w.write(packet(a, kT0, PACKET_HOST), second);
    EXPECT_EQ(test::flush_with_file_size_limit(w, 1), EFBIG);
    EXPECT_EQ(std::filesystem::file_size(path), 0u) << "a cut header is removed";
    w.write(packet(b, kT0 + 1, PACKET_OUTGOING), second);
    w.close();

    PcapReader r = PcapReader::open(path);
    ASSERT_EQ(r.interfaces().size(), 2u);
    EXPECT_EQ(r.interfaces()[1].name, "b");
    const auto p = r.next();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->ifindex(), 1);
    EXPECT_EQ(p->caplen(), 200u);
    EXPECT_EQ(p->pkttype(), PACKET_OUTGOING);
    EXPECT_FALSE(r.next()) << "the packet buffered before the failed write is gone, as documented";
}

TEST(PcapngWriterBlocks, WorkerGoesIntoEpbQueueAndComesBack) {
    TempDir dir;
    const std::string path = dir.file("q.pcapng");
    const Bytes data(60, 0xab);
    const std::vector<PacketView> sent = {packet(data, kT0, PACKET_HOST).with_queue(3),
                                          packet(data, kT0 + 1, PACKET_HOST),
                                          packet(data, kT0 + 2, kPacketTypeUnknown).with_queue(0)};
    {
        PcapngWriter w = PcapngWriter::create(path, {});
        w.write(std::span<const PacketView>(sent));
        w.close();
    }
    const std::vector<RawBlock> blocks = split_blocks(read_all(path));
    ASSERT_EQ(blocks.size(), 2 + sent.size());
    const std::uint32_t want[] = {3, 0xffffffff, 0};
    for (std::size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i));
        const RawBlock& b = blocks[2 + i];
        EXPECT_EQ(b.body.size() + 12, PcapngWriter::record_size(sent[i]));
        const auto o = options_of(b.body, 20 + 60);
        if (want[i] == 0xffffffff) {
            EXPECT_EQ(o.count(6), 0u) << "epb_queue without a worker";
        } else {
            ASSERT_EQ(o.count(6), 1u);
            EXPECT_EQ(u32(o.find(6)->second, 0), want[i]);
        }
    }
    PcapReader r = PcapReader::open(path);
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const std::optional<PacketView> p = r.next();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->queue(), sent[i].queue()) << "packet " << i;
    }
}

TEST(PcapngWriterBlocks, FormatForName) {
    EXPECT_EQ(format_for_name("out.pcapng"), FileFormat::pcapng);
    EXPECT_EQ(format_for_name("/tmp/dir.pcap/x.pcapng"), FileFormat::pcapng);
    EXPECT_EQ(format_for_name("out.pcap"), FileFormat::pcap);
    EXPECT_EQ(format_for_name("out.pcapng.gz"), FileFormat::pcap);
    EXPECT_EQ(format_for_name("out"), FileFormat::pcap);
    EXPECT_EQ(format_for_name("-"), FileFormat::pcap);
    EXPECT_EQ(format_for_name(".pcapng"), FileFormat::pcap);  // a hidden file, no suffix
}

TEST(PcapngWriterBlocks, PcapKeepsItsRecordSizeAndIgnoresDirection) {
    TempDir dir;
    PcapWriter w = PcapWriter::create(dir.file("x.pcap"), {});
    const Bytes d = payload(61, 1);
    EXPECT_EQ(w.record_size(packet(d, kT0, PACKET_HOST)), 16u + 61u);
    EXPECT_EQ(w.record_size(packet(d, kT0, kPacketTypeUnknown)), 16u + 61u);
    w.write(packet(d, kT0, PACKET_OUTGOING));
    w.close();
    EXPECT_EQ(std::filesystem::file_size(dir.file("x.pcap")), 24u + 16u + 61u);
}

// Packets with their owning process: opt_comment and epb_processid_threadid (code 8: pid, tid);
// a packet without one says so in its comment and has no process option. owner_size() is what
// each adds to the block.
TEST(PcapngWriterBlocks, OwnersGoIntoACommentAndTheProcessIdOption) {
    TempDir dir;
    const std::string path = dir.file("owned.pcapng");
    PacketOwner curl{.pid = 1234, .tid = 1240, .uid = 0, .comm = "curl"};
    curl.comment = "pid=1234 tid=1240 comm=curl uid=0";
    const Bytes data(60, 0xab);
    const std::vector<PacketView> sent = {packet(data, kT0, PACKET_OUTGOING),
                                          packet(data, kT0 + 1, PACKET_HOST)};
    const std::vector<const PacketOwner*> owners = {&curl, nullptr};
    {
        PcapngWriter w = PcapngWriter::create(path, {});
        w.write_owned(std::span<const PacketView>(sent), owners);
        w.close();
    }
    const std::vector<RawBlock> blocks = split_blocks(read_all(path));
    ASSERT_EQ(blocks.size(), 2 + sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE("packet " + std::to_string(i));
        const RawBlock& b = blocks[2 + i];
        EXPECT_EQ(b.body.size() + 12,
                  PcapngWriter::record_size(sent[i]) + PcapngWriter::owner_size(owners[i]));
        const auto o = options_of(b.body, 20 + 60);
        ASSERT_EQ(o.count(1), 1u);
        if (owners[i] != nullptr) {
            EXPECT_EQ(text(o.find(1)->second), curl.comment);
            ASSERT_EQ(o.count(8), 1u);
            ASSERT_EQ(o.find(8)->second.size(), 8u);
            EXPECT_EQ(u32(o.find(8)->second, 0), 1234u);
            EXPECT_EQ(u32(o.find(8)->second, 4), 1240u);
        } else {
            EXPECT_EQ(text(o.find(1)->second), "process=unknown");
            EXPECT_EQ(o.count(8), 0u);
        }
    }
    // libpcap still reads every packet of it.
    PcapReader r = PcapReader::open(path);
    for (std::size_t i = 0; i < sent.size(); ++i) ASSERT_TRUE(r.next()) << i;
}

// -C counts the owners' bytes too: no file passes the limit, and every packet is kept.
TEST(PcapngWriterBlocks, RotationCountsTheOwnersBytes) {
    TempDir dir;
    PacketOwner owner{.pid = 7, .tid = 7, .comm = "x"};
    owner.comment = std::string(200, 'c');
    const Bytes data(100, 1);
    std::vector<PacketView> sent;
    for (int i = 0; i < 40; ++i) sent.push_back(packet(data, kT0 + i, PACKET_HOST));
    const std::vector<const PacketOwner*> owners(sent.size(), &owner);
    const std::uint64_t limit = 4096;
    {
        RotatingWriter w(dir.file("r.pcapng"), FileFormat::pcapng, {}, {.max_bytes = limit});
        w.write_owned(sent, owners);
        w.close();
        EXPECT_GT(w.files_finished(), 3u);
    }
    std::uint64_t packets = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir.file(""))) {
        EXPECT_LE(std::filesystem::file_size(f.path()), limit) << f.path();
        const std::vector<RawBlock> blocks = split_blocks(read_all(f.path().string()));
        for (const RawBlock& b : blocks) packets += b.type == 6;
    }
    EXPECT_EQ(packets, sent.size());
}

}  // namespace
}  // namespace ringcap

namespace ringcap {
namespace {

// The loss ledger's options: epb_dropcount on a packet with drops before it, isb_osdrop and
// isb_usrdeliv when given.
TEST(PcapngWriterBlocks, DropcountAndLedgerStatistics) {
    TempDir dir;
    const std::string path = dir.file("loss.pcapng");
    const Bytes data = payload(60, 9);
    const PacketView plain = packet(data, kT0, PACKET_HOST);
    {
        PcapngWriter w = PcapngWriter::create(path, {});
        w.write_with_drops(plain, 4242);
        w.write(std::span<const PacketView>(&plain, 1));
        w.write_statistics(0, {.received = 10, .dropped = 3, .os_dropped = 3, .delivered = 7});
        w.write_statistics(0, 10, 3);
        w.close();
    }
    const std::vector<RawBlock> blocks = split_blocks(read_all(path));
    ASSERT_EQ(blocks.size(), 6u);  // SHB, IDB, 2 EPB, 2 ISB
    const auto first = options_of(blocks[2].body, 20 + 60);
    ASSERT_EQ(first.count(4), 1u);
    EXPECT_EQ(u64(first.find(4)->second, 0), 4242u);
    EXPECT_EQ(blocks[2].body.size() + 12,
              PcapngWriter::record_size(plain) + PcapngWriter::kEpbDropcountOption);
    EXPECT_EQ(options_of(blocks[3].body, 20 + 60).count(4), 0u) << "only where drops changed";
    const auto isb = options_of(blocks[4].body, 12);
    ASSERT_EQ(isb.count(7), 1u);
    ASSERT_EQ(isb.count(8), 1u);
    EXPECT_EQ(u64(isb.find(7)->second, 0), 3u);
    EXPECT_EQ(u64(isb.find(8)->second, 0), 7u);
    EXPECT_EQ(blocks[4].body.size() + 12, PcapngWriter::kStatisticsBlock);
    const auto old = options_of(blocks[5].body, 12);
    EXPECT_EQ(old.count(7) + old.count(8), 0u) << "not known: left out, never 0";
}

}  // namespace
}  // namespace ringcap
