// UdpGenerator: frames for IPv4 and IPv6 at every size it allows, their header fields, and their
// checksums after stamp(), verified by an independent RFC 768/1071/8200 computation written here
// (the pseudo-header included), not by the generator's own incremental code; read_stamp(); the
// refusals. Then the `gen` and `replay` command lines (parse_command_line into TxCliOptions).
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/gen.hpp>

#include "command_line.hpp"

namespace ringcap {
namespace {

using Frame = std::vector<std::uint8_t>;

Frame copy_frame(const UdpGenerator& g) {
    const auto f = g.frame();
    Frame out(f.size());
    for (std::size_t i = 0; i < f.size(); ++i) out[i] = std::to_integer<std::uint8_t>(f[i]);
    return out;
}

std::span<const std::byte> bytes_of(const Frame& f) {
    return {reinterpret_cast<const std::byte*>(f.data()), f.size()};
}

unsigned be16(const Frame& f, std::size_t at) { return unsigned(f[at]) << 8 | f[at + 1]; }

std::uint64_t be64(const Frame& f, std::size_t at) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | f[at + i];
    return v;
}

// ---- The reference: one's-complement sums done the plain way, bytes at a time ---------------

// 32-bit accumulation of big-endian 16-bit words over [at, at + len); an odd last byte is the high
// byte of a word padded with zero. Folded to 16 bits at the end.
std::uint32_t ones_sum(const Frame& f, std::size_t at, std::size_t len, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i < len; ++i)
        sum += (i % 2 == 0) ? std::uint32_t(f[at + i]) << 8 : std::uint32_t(f[at + i]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

// The IPv4 header including its checksum field sums to 0xffff when the checksum is right.
bool ipv4_header_ok(const Frame& f) { return ones_sum(f, 14, 20) == 0xffff; }

// The UDP checksum verified as a receiver does: pseudo-header + UDP header (with the checksum
// field as sent) + payload must sum to 0xffff; and the field is never 0 (0 means "none").
::testing::AssertionResult udp_checksum_ok(const Frame& f, bool ipv6) {
    const std::size_t udp = ipv6 ? 54 : 34;
    const std::size_t udp_len = f.size() - udp;
    if (be16(f, udp + 4) != udp_len)
        return ::testing::AssertionFailure()
               << "UDP length " << be16(f, udp + 4) << ", expected " << udp_len;
    std::uint32_t pseudo = 0;
    if (ipv6) {
        pseudo = ones_sum(f, 22, 32);  // source and destination address
        // upper-layer packet length (32 bits) and next header (zero-padded to 32 bits)
        pseudo += std::uint32_t(udp_len >> 16) + std::uint32_t(udp_len & 0xffff) + 17;
    } else {
        pseudo = ones_sum(f, 26, 8);            // source and destination address
        pseudo += 17 + std::uint32_t(udp_len);  // zero, protocol, UDP length
    }
    const std::uint32_t total = ones_sum(f, udp, udp_len, pseudo);
    if (be16(f, udp + 6) == 0)
        return ::testing::AssertionFailure() << "UDP checksum field is 0 (no checksum)";
    if (total != 0xffff)
        return ::testing::AssertionFailure()
               << "UDP checksum 0x" << std::hex << be16(f, udp + 6) << " wrong: sum 0x" << total;
    return ::testing::AssertionSuccess();
}

// ---- Frames ---------------------------------------------------------------------------------

struct SizeCase {
    bool ipv6;
    std::size_t size;
};

void PrintTo(const SizeCase& c, std::ostream* os) {
    *os << (c.ipv6 ? "IPv6, " : "IPv4, ") << c.size << " bytes";
}

std::string case_name(const ::testing::TestParamInfo<SizeCase>& info) {
    return std::string(info.param.ipv6 ? "ipv6_" : "ipv4_") + std::to_string(info.param.size);
}

class GenFrames : public ::testing::TestWithParam<SizeCase> {
  protected:
    UdpFlowSpec spec(std::uint32_t flows = 1) const {
        UdpFlowSpec s;
        s.ipv6 = GetParam().ipv6;
        s.frame_size = GetParam().size;
        s.flows = flows;
        if (s.ipv6) {
            s.src_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0x01};
            s.dst_ip = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcd, 0x02};
        }
        s.src_mac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
        s.dst_mac = {0x02, 0x66, 0x77, 0x88, 0x99, 0xaa};
        s.src_port = 40000;
        s.dst_port = 4321;
        return s;
    }
};

// 58 and 78: the smallest frames that hold the headers and the 16-byte stamp. Odd sizes make the
// UDP length odd (checksum padding).
const SizeCase kSizes[] = {
    {false, 58},   {false, 59},   {false, 64},  {false, 65}, {false, 1514},
    {false, 1513}, {false, 9000}, {true, 78},   {true, 79},  {true, 128},
    {true, 1514},  {true, 1513},  {true, 9000},
};
INSTANTIATE_TEST_SUITE_P(Gen, GenFrames, ::testing::ValuesIn(kSizes), case_name);

TEST_P(GenFrames, HeaderFieldsAndLengths) {
    const bool v6 = GetParam().ipv6;
    const std::size_t size = GetParam().size;
    const UdpFlowSpec s = spec();
    const UdpGenerator g = UdpGenerator::create(s);
    EXPECT_EQ(g.size(), size);
    EXPECT_EQ(g.min_size(), v6 ? 78u : 58u);
    const Frame f = copy_frame(g);
    ASSERT_EQ(f.size(), size);
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(f[i], s.dst_mac[i]) << "dst MAC byte " << i;
        EXPECT_EQ(f[6 + i], s.src_mac[i]) << "src MAC byte " << i;
    }
    std::size_t udp;
    if (v6) {
        EXPECT_EQ(be16(f, 12), 0x86ddu);
        EXPECT_EQ(f[14] >> 4, 6);           // version
        EXPECT_EQ(be16(f, 18), size - 54);  // payload length: UDP header + data
        EXPECT_EQ(f[20], 17);               // next header
        EXPECT_GT(f[21], 0);                // hop limit
        for (int i = 0; i < 16; ++i) {
            EXPECT_EQ(f[22 + i], s.src_ip[i]);
            EXPECT_EQ(f[38 + i], s.dst_ip[i]);
        }
        udp = 54;
    } else {
        EXPECT_EQ(be16(f, 12), 0x0800u);
        EXPECT_EQ(f[14], 0x45);               // version 4, IHL 5
        EXPECT_EQ(be16(f, 16), size - 14);    // total length
        EXPECT_EQ(be16(f, 20) & 0x1fff, 0u);  // no fragment offset, MF clear
        EXPECT_GT(f[22], 0);                  // TTL
        EXPECT_EQ(f[23], 17);                 // protocol
        for (int i = 0; i < 4; ++i) {
            EXPECT_EQ(f[26 + i], s.src_ip[i]);
            EXPECT_EQ(f[30 + i], s.dst_ip[i]);
        }
        EXPECT_TRUE(ipv4_header_ok(f));
        udp = 34;
    }
    EXPECT_EQ(be16(f, udp), 40000u);
    EXPECT_EQ(be16(f, udp + 2), 4321u);
    EXPECT_EQ(be16(f, udp + 4), size - udp);
    EXPECT_TRUE(udp_checksum_ok(f, v6)) << "frame() before any stamp()";
    // frame() is itself stamped with seq 0, time 0.
    EXPECT_EQ(be64(f, udp + 8), 0u);
    EXPECT_EQ(be64(f, udp + 16), 0u);
}

// Every stamp() result is a valid frame: only the port, the stamp and the UDP checksum change,
// the IPv4 header checksum stays right, and the UDP checksum verifies from scratch.
TEST_P(GenFrames, StampKeepsChecksumsValidForManySeqAndTimes) {
    const bool v6 = GetParam().ipv6;
    const std::size_t udp = v6 ? 54 : 34;
    for (std::uint32_t flows : {1u, 4u, 1000u}) {
        SCOPED_TRACE("flows " + std::to_string(flows));
        const UdpGenerator g = UdpGenerator::create(spec(flows));
        const Frame base = copy_frame(g);
        Frame f = base;  // stamped over and over, like a ring frame that keeps its bytes
        std::vector<std::pair<std::uint64_t, std::int64_t>> values = {
            {0, 0},
            {1, 1},
            {0xffff, 0xffff},
            {0x10000, 0x10000},
            {0xffffffffull, 1'700'000'000'123'456'789},
            {std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::int64_t>::max()},
            {0x8000000000000000ull, std::numeric_limits<std::int64_t>::min()},
            {12345, -1},
        };
        std::mt19937_64 rng(GetParam().size * 2 + v6 + flows);
        for (int i = 0; i < 2000; ++i)
            values.emplace_back(i < 1000 ? std::uint64_t(i) : rng(),
                                static_cast<std::int64_t>(rng()));
        for (const auto& [seq, ts] : values) {
            g.stamp(reinterpret_cast<std::byte*>(f.data()), seq, ts);
            SCOPED_TRACE("seq " + std::to_string(seq) + " ts " + std::to_string(ts));
            ASSERT_TRUE(udp_checksum_ok(f, v6));
            if (!v6) {
                ASSERT_TRUE(ipv4_header_ok(f));
            }
            const unsigned port = 40000 + (flows > 1 ? seq % flows : 0);
            ASSERT_EQ(be16(f, udp), port);
            ASSERT_EQ(be64(f, udp + 8), seq);
            ASSERT_EQ(be64(f, udp + 16), static_cast<std::uint64_t>(ts));
            // Everything else is the frame as built.
            for (std::size_t b = 0; b < f.size(); ++b) {
                const bool stamped = (b >= udp && b < udp + 2) || (b >= udp + 6 && b < udp + 8) ||
                                     (b >= udp + 8 && b < udp + 24);
                if (!stamped) {
                    ASSERT_EQ(f[b], base[b]) << "byte " << b << " changed";
                }
            }
            const auto back = UdpGenerator::read_stamp(bytes_of(f));
            ASSERT_TRUE(back.has_value());
            ASSERT_EQ(back->seq, seq);
            ASSERT_EQ(back->ts_ns, ts);
        }
    }
}

// With --flows N the source port goes src_port, src_port+1, ... src_port+N-1, then round again.
TEST_P(GenFrames, SourcePortsCycleThroughTheFlows) {
    const UdpGenerator g = UdpGenerator::create(spec(4));
    const std::size_t udp = GetParam().ipv6 ? 54 : 34;
    Frame f = copy_frame(g);
    for (std::uint64_t seq = 0; seq < 12; ++seq) {
        g.stamp(reinterpret_cast<std::byte*>(f.data()), seq, 0);
        EXPECT_EQ(be16(f, udp), 40000 + seq % 4) << "seq " << seq;
    }
    // One flow: the port never moves.
    const UdpGenerator one = UdpGenerator::create(spec(1));
    Frame h = copy_frame(one);
    for (std::uint64_t seq = 0; seq < 5; ++seq) {
        one.stamp(reinterpret_cast<std::byte*>(h.data()), seq, 0);
        EXPECT_EQ(be16(h, udp), 40000u);
    }
}

// Each of the 65536 low halves of seq: somewhere the sum comes out so that the checksum would be
// 0, which UDP must send as 0xffff. The reference check catches a 0 or any wrong value.
TEST(Gen, ChecksumIsNeverZeroOverAFullSixteenBitSweep) {
    for (bool v6 : {false, true}) {
        UdpFlowSpec s;
        s.ipv6 = v6;
        s.frame_size = v6 ? 78 : 64;
        const UdpGenerator g = UdpGenerator::create(s);
        Frame f = copy_frame(g);
        const std::size_t udp = v6 ? 54 : 34;
        int ffff = 0;
        for (std::uint64_t low = 0; low < 0x10000; ++low) {
            g.stamp(reinterpret_cast<std::byte*>(f.data()), 0x123400000000ull | low, 42);
            ASSERT_TRUE(udp_checksum_ok(f, v6)) << "seq low half " << low;
            ffff += be16(f, udp + 6) == 0xffff;
        }
        EXPECT_GE(ffff, 1) << "no seq gave checksum 0xffff (the 0 -> 0xffff case is untested)";
    }
}

TEST(Gen, InternetChecksumMatchesRfc1071Example) {
    // RFC 1071 section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2; the checksum is ~ddf2.
    const std::uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(internet_checksum({reinterpret_cast<const std::byte*>(b), sizeof b}), 0x220d);
    // Odd length: the last byte is padded with zero.
    const std::uint8_t odd[] = {0x12, 0x34, 0x56};
    EXPECT_EQ(internet_checksum({reinterpret_cast<const std::byte*>(odd), sizeof odd}),
              static_cast<std::uint16_t>(~(0x1234 + 0x5600)));
}

// ---- read_stamp -----------------------------------------------------------------------------

Frame with_tag(const Frame& f, std::uint16_t tpid, std::uint16_t tci) {
    Frame t(f.begin(), f.begin() + 12);
    t.push_back(static_cast<std::uint8_t>(tpid >> 8));
    t.push_back(static_cast<std::uint8_t>(tpid & 0xff));
    t.push_back(static_cast<std::uint8_t>(tci >> 8));
    t.push_back(static_cast<std::uint8_t>(tci & 0xff));
    t.insert(t.end(), f.begin() + 12, f.end());
    return t;
}

TEST(Gen, ReadStampReadsWhatStampWroteAlsoBehindAVlanTag) {
    for (bool v6 : {false, true}) {
        SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
        UdpFlowSpec s;
        s.ipv6 = v6;
        s.frame_size = 200;
        const UdpGenerator g = UdpGenerator::create(s);
        Frame f = copy_frame(g);
        const std::uint64_t seq = 0x0102030405060708ull;
        const std::int64_t ts = 1'712'345'678'901'234'567;
        g.stamp(reinterpret_cast<std::byte*>(f.data()), seq, ts);
        // The documented layout: IPv4 payload at 42, IPv6 payload at 62, big-endian.
        EXPECT_EQ(be64(f, v6 ? 62 : 42), seq);
        EXPECT_EQ(be64(f, v6 ? 70 : 50), static_cast<std::uint64_t>(ts));
        for (const Frame& variant : {f, with_tag(f, 0x8100, 0x2005), with_tag(f, 0x88a8, 0x0fff)}) {
            const auto st = UdpGenerator::read_stamp(bytes_of(variant));
            ASSERT_TRUE(st.has_value()) << "frame of " << variant.size() << " bytes";
            EXPECT_EQ(st->seq, seq);
            EXPECT_EQ(st->ts_ns, ts);
        }
    }
}

TEST(Gen, ReadStampRefusesOtherFrames) {
    UdpFlowSpec s;
    const UdpGenerator g = UdpGenerator::create(s);
    const Frame f = copy_frame(g);
    EXPECT_FALSE(UdpGenerator::read_stamp({}).has_value());
    Frame shorter(f.begin(), f.begin() + 13);
    EXPECT_FALSE(UdpGenerator::read_stamp(bytes_of(shorter)).has_value());
    Frame cut(f.begin(), f.begin() + 57);  // one byte short of the stamp
    EXPECT_FALSE(UdpGenerator::read_stamp(bytes_of(cut)).has_value());
    Frame tcp = f;
    tcp[23] = 6;  // IPv4 protocol TCP
    EXPECT_FALSE(UdpGenerator::read_stamp(bytes_of(tcp)).has_value());
    Frame arp = f;
    arp[12] = 0x08;
    arp[13] = 0x06;
    EXPECT_FALSE(UdpGenerator::read_stamp(bytes_of(arp)).has_value());
}

// ---- Refusals -------------------------------------------------------------------------------

int create_errno(const UdpFlowSpec& s) {
    try {
        UdpGenerator::create(s);
    } catch (const Error& e) {
        return e.code().value();
    }
    return 0;
}

TEST(Gen, SizesOutOfRangeThrowEinval) {
    for (bool v6 : {false, true}) {
        UdpFlowSpec s;
        s.ipv6 = v6;
        const std::size_t min = v6 ? 78 : 58;
        for (std::size_t size : {std::size_t{0}, std::size_t{14}, min - 1, std::size_t{9001},
                                 std::size_t{65535}, std::size_t{1} << 20}) {
            s.frame_size = size;
            EXPECT_EQ(create_errno(s), EINVAL) << (v6 ? "IPv6 " : "IPv4 ") << size;
        }
        for (std::size_t size : {min, std::size_t{9000}}) {
            s.frame_size = size;
            EXPECT_EQ(create_errno(s), 0) << (v6 ? "IPv6 " : "IPv4 ") << size;
        }
    }
    UdpFlowSpec s;
    s.ipv6 = true;
    s.frame_size = 64;  // fine for IPv4, too small for IPv6 headers + stamp
    try {
        UdpGenerator::create(s);
        ADD_FAILURE() << "IPv6 frame of 64 bytes accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        EXPECT_NE(std::string(e.what()).find("64"), std::string::npos) << e.what();
        EXPECT_NE(e.hint().find("78"), std::string::npos) << e.hint();
    }
}

TEST(Gen, FlowsPastPort65535Throw) {
    UdpFlowSpec s;
    s.src_port = 65000;
    s.flows = 536;  // 65000 .. 65535
    EXPECT_EQ(create_errno(s), 0);
    s.flows = 537;  // would need 65536
    EXPECT_EQ(create_errno(s), EINVAL);
    s.flows = 1u << 20;
    EXPECT_EQ(create_errno(s), EINVAL);
    s.src_port = 10000;  // the default
    s.flows = 55536;
    EXPECT_EQ(create_errno(s), 0);
    s.flows = 55537;
    try {
        UdpGenerator::create(s);
        ADD_FAILURE() << "55537 flows from 10000 accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        EXPECT_NE(std::string(e.what()).find("65535"), std::string::npos) << e.what();
    }
    // The last port is reached and still checksums right.
    s.src_port = 65534;
    s.flows = 2;
    const UdpGenerator g = UdpGenerator::create(s);
    Frame f = copy_frame(g);
    g.stamp(reinterpret_cast<std::byte*>(f.data()), 1, 7);
    EXPECT_EQ(be16(f, 34), 65535u);
    EXPECT_TRUE(udp_checksum_ok(f, false));
}

}  // namespace
}  // namespace ringcap

// ---- The gen and replay command lines ----------------------------------------------------------

namespace ringcap::cli {
namespace {

ParseResult parse(std::vector<std::string> args) {
    args.insert(args.begin(), "ringcap");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(args.size()), argv.data());
}

std::array<std::uint8_t, 16> v4(const char* text) {
    std::array<std::uint8_t, 16> a{};
    EXPECT_EQ(::inet_pton(AF_INET, text, a.data()), 1);
    return a;
}

std::array<std::uint8_t, 16> v6(const char* text) {
    std::array<std::uint8_t, 16> a{};
    EXPECT_EQ(::inet_pton(AF_INET6, text, a.data()), 1);
    return a;
}

TEST(TxCli, GenDefaults) {
    const ParseResult r = parse({"gen", "-i", "veth0"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.command, Command::gen);
    EXPECT_FALSE(r.options);
    EXPECT_EQ(r.exit_status, 0);
    const TxCliOptions& t = *r.tx;
    const UdpFlowSpec def{};
    EXPECT_EQ(t.interface, "veth0");
    EXPECT_FALSE(t.qdisc_bypass);
    EXPECT_FALSE(t.buffer_kib.has_value());
    EXPECT_EQ(t.limit, 0u);
    EXPECT_EQ(t.rate, 0.0);
    EXPECT_FALSE(t.flow.ipv6);
    EXPECT_EQ(t.flow.frame_size, 64u);
    EXPECT_EQ(t.flow.flows, 1u);
    EXPECT_EQ(t.flow.src_port, 10000);
    EXPECT_EQ(t.flow.dst_port, 9);
    EXPECT_EQ(t.flow.src_mac, def.src_mac);
    EXPECT_EQ(t.flow.dst_mac, def.dst_mac);
    EXPECT_EQ(t.flow.src_ip, v4("198.18.0.1"));
    EXPECT_EQ(t.flow.dst_ip, v4("198.18.0.2"));
    EXPECT_TRUE(t.files.empty());
}

TEST(TxCli, GenEveryFlagLandsInTxCliOptions) {
    const ParseResult r = parse({"gen",
                                 "-i",
                                 "veth1",
                                 "--count",
                                 "5000",
                                 "--rate",
                                 "20000",
                                 "--flows",
                                 "4",
                                 "--size",
                                 "1514",
                                 "--src-mac",
                                 "0a:1b:2c:3d:4e:5f",
                                 "--dst-mac",
                                 "AA:BB:CC:DD:EE:FF",
                                 "--src-ip",
                                 "10.1.2.3",
                                 "--dst-ip",
                                 "10.4.5.6",
                                 "--src-port",
                                 "2000",
                                 "--dst-port",
                                 "3000",
                                 "-B",
                                 "2048",
                                 "--qdisc-bypass"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.command, Command::gen);
    const TxCliOptions& t = *r.tx;
    EXPECT_EQ(t.interface, "veth1");
    EXPECT_EQ(t.limit, 5000u);
    EXPECT_EQ(t.rate, 20000.0);
    EXPECT_EQ(t.flow.flows, 4u);
    EXPECT_EQ(t.flow.frame_size, 1514u);
    EXPECT_EQ(t.flow.src_mac, (std::array<std::uint8_t, 6>{0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}));
    EXPECT_EQ(t.flow.dst_mac, (std::array<std::uint8_t, 6>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
    EXPECT_EQ(t.flow.src_ip, v4("10.1.2.3"));
    EXPECT_EQ(t.flow.dst_ip, v4("10.4.5.6"));
    EXPECT_EQ(t.flow.src_port, 2000);
    EXPECT_EQ(t.flow.dst_port, 3000);
    EXPECT_EQ(t.buffer_kib, std::optional<std::size_t>(2048));
    EXPECT_TRUE(t.qdisc_bypass);
}

TEST(TxCli, GenShortFlagsAndLimit) {
    const ParseResult r = parse({"gen", "-i", "v", "-c", "7", "-r", "100", "-s", "128", "-6"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.tx->limit, 7u);
    EXPECT_EQ(r.tx->rate, 100.0);
    EXPECT_EQ(r.tx->flow.frame_size, 128u);
    EXPECT_TRUE(r.tx->flow.ipv6);
    const ParseResult l = parse({"gen", "-i", "v", "--limit", "9"});
    ASSERT_TRUE(l.tx) << l.message;
    EXPECT_EQ(l.tx->limit, 9u);
}

TEST(TxCli, GenIpv6DefaultsAndAddresses) {
    ParseResult r = parse({"gen", "-i", "v", "-6"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_TRUE(r.tx->flow.ipv6);
    EXPECT_EQ(r.tx->flow.src_ip, v6("fd00::1"));
    EXPECT_EQ(r.tx->flow.dst_ip, v6("fd00::2"));
    // The IPv4 default of 64 bytes cannot hold the IPv6 headers and the stamp: the smallest that
    // can is the default with -6. An explicit --size is kept (and checked when the run starts).
    EXPECT_EQ(r.tx->flow.frame_size, 78u);
    EXPECT_NO_THROW(UdpGenerator::create(r.tx->flow));
    r = parse({"gen", "-i", "v", "-6", "--size", "1514"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.tx->flow.frame_size, 1514u);
    r = parse({"gen", "-i", "v", "--size", "200", "-6"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.tx->flow.frame_size, 200u);
    r = parse({"gen", "-i", "v", "--ipv6", "--src-ip", "2001:db8::a", "--dst-ip", "2001:db8::b"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.tx->flow.src_ip, v6("2001:db8::a"));
    EXPECT_EQ(r.tx->flow.dst_ip, v6("2001:db8::b"));
}

TEST(TxCli, ReplayFlags) {
    ParseResult r = parse({"replay", "-i", "veth0", "--topspeed", "a.pcap", "b.pcap"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.command, Command::replay);
    EXPECT_EQ(r.tx->interface, "veth0");
    EXPECT_TRUE(r.tx->topspeed);
    EXPECT_EQ(r.tx->files, (std::vector<std::string>{"a.pcap", "b.pcap"}));
    EXPECT_EQ(r.tx->loop, 1u);
    EXPECT_EQ(r.tx->multiplier, 1.0);
    EXPECT_EQ(r.tx->pps, 0.0);
    EXPECT_EQ(r.tx->mbps, 0.0);
    EXPECT_EQ(r.tx->limit, 0u);

    r = parse({"replay", "-i", "v", "--multiplier", "2.5", "--loop", "3", "--limit", "10", "-B",
               "64", "--qdisc-bypass", "x.pcap"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_FALSE(r.tx->topspeed);
    EXPECT_EQ(r.tx->multiplier, 2.5);
    EXPECT_EQ(r.tx->loop, 3u);
    EXPECT_EQ(r.tx->limit, 10u);
    EXPECT_EQ(r.tx->buffer_kib, std::optional<std::size_t>(64));
    EXPECT_TRUE(r.tx->qdisc_bypass);

    r = parse({"replay", "-i", "v", "-p", "1000", "-l", "0", "x.pcap"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.tx->pps, 1000.0);
    EXPECT_EQ(r.tx->loop, 0u);  // forever

    r = parse({"replay", "-i", "v", "-M", "100", "x.pcap"});
    ASSERT_TRUE(r.tx) << r.message;
    EXPECT_EQ(r.tx->mbps, 100.0);

    r = parse({"replay", "-i", "v", "-x", "2", "-t", "x.pcap"});
    EXPECT_FALSE(r.tx) << "-x 2 with -t accepted";
}

void expect_refused(const std::vector<std::string>& args, const std::string& part) {
    std::string line;
    for (const std::string& a : args) line += a + " ";
    SCOPED_TRACE(line);
    const ParseResult r = parse(args);
    EXPECT_FALSE(r.tx) << "accepted";
    EXPECT_FALSE(r.options) << "accepted as a capture";
    EXPECT_EQ(r.exit_status, 1);
    EXPECT_NE(r.message.find(part), std::string::npos) << "'" << part << "' not in: " << r.message;
}

TEST(TxCli, ConflictingTimingModesAreRejected) {
    const std::string msg = "choose one of --topspeed, --multiplier, --pps, --mbps";
    expect_refused({"replay", "-i", "v", "--topspeed", "--pps", "10", "f"}, msg);
    expect_refused({"replay", "-i", "v", "--topspeed", "--mbps", "10", "f"}, msg);
    expect_refused({"replay", "-i", "v", "--topspeed", "--multiplier", "3", "f"}, msg);
    expect_refused({"replay", "-i", "v", "--pps", "10", "--mbps", "10", "f"}, msg);
    expect_refused({"replay", "-i", "v", "-x", "2", "-p", "5", "f"}, msg);
    expect_refused({"replay", "-i", "v", "-t", "-x", "2", "-p", "5", "-M", "1", "f"}, msg);
}

TEST(TxCli, BadMacAndIpAreRejected) {
    for (const char* mac : {"02:00:00:00:00", "02:00:00:00:00:01:03", "zz:00:00:00:00:01",
                            "102:00:00:00:00:01", "02-00-00-00-00-01", "", "02:00:00:00:00:01x"}) {
        if (*mac == '\0') continue;  // an empty value means "default"
        expect_refused({"gen", "-i", "v", "--src-mac", mac}, mac);
        expect_refused({"gen", "-i", "v", "--dst-mac", mac}, mac);
    }
    for (const char* ip : {"198.18.0.256", "198.18.0", "fd00::1", "hello", "1.2.3.4.5"}) {
        expect_refused({"gen", "-i", "v", "--src-ip", ip}, ip);
        expect_refused({"gen", "-i", "v", "--dst-ip", ip}, ip);
    }
    for (const char* ip : {"198.18.0.1", "fd00::zz", "fd00:::1"})
        expect_refused({"gen", "-i", "v", "-6", "--dst-ip", ip}, ip);
}

TEST(TxCli, UsageErrorsAreRejected) {
    expect_refused({"replay", "-i", "v"}, "files");  // no files
    expect_refused({"replay", "-i", "v", "-t"}, "files");
    expect_refused({"replay", "f.pcap"}, "--interface");  // no interface
    expect_refused({"gen", "--count", "5"}, "--interface");
    expect_refused({"replay", "-i", "v", "-x", "0", "f"}, "--multiplier");
    expect_refused({"replay", "-i", "v", "-p", "-5", "f"}, "--pps");
    expect_refused({"gen", "-i", "v", "--rate", "-1"}, "--rate");
    expect_refused({"gen", "-i", "v", "--rate", "fast"}, "fast");
    expect_refused({"gen", "-i", "v", "--count", "many"}, "many");
    expect_refused({"gen", "-i", "v", "--src-port", "70000"}, "70000");
    expect_refused({"gen", "-i", "v", "--bogus"}, "--bogus");
    expect_refused({"gen", "-i", "v", "extra.pcap"}, "extra.pcap");
}

}  // namespace
}  // namespace ringcap::cli
