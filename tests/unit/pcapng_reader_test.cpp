// PcapReader on pcapng: hand-built files (both byte orders, several sections and interfaces,
// timestamp resolutions and offsets, enhanced, simple and obsolete packet blocks, options and
// unknown blocks) read back exactly, through a mapping and through a pipe; and damage, which must
// throw with the file, the offset and the cause only after every whole packet before it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/pcapng_writer.hpp>

#include "temp_files.hpp"

namespace ringcap {
namespace {

using test::Bytes;
using test::TempDir;

// Builds pcapng blocks in either byte order.
struct Builder {
    bool big = false;
    Bytes out;

    void u8(std::uint8_t v) { out.push_back(v); }
    void u16(std::uint16_t v) {
        for (int i = 0; i < 2; ++i) u8(std::uint8_t(v >> (big ? 8 * (1 - i) : 8 * i)));
    }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) u8(std::uint8_t(v >> (big ? 8 * (3 - i) : 8 * i)));
    }
    void u64(std::uint64_t v) {  // as two 32-bit halves in this byte order, as pcapng stores it
        Builder b{big};
        for (int i = 0; i < 8; ++i) b.u8(std::uint8_t(v >> (big ? 8 * (7 - i) : 8 * i)));
        out.insert(out.end(), b.out.begin(), b.out.end());
    }
    void bytes(const Bytes& b) {
        out.insert(out.end(), b.begin(), b.end());
        while (out.size() % 4) u8(0);
    }
    void option(std::uint16_t code, const Bytes& value) {
        u16(code);
        u16(std::uint16_t(value.size()));
        bytes(value);
    }
    // A block: type, total length, body, total length.
    template <class F>
    void block(std::uint32_t type, F body) {
        Builder b{big};
        body(b);
        u32(type);
        u32(std::uint32_t(b.out.size() + 12));
        out.insert(out.end(), b.out.begin(), b.out.end());
        u32(std::uint32_t(b.out.size() + 12));
    }
    void section() {
        block(0x0a0d0d0a, [](Builder& b) {
            b.u32(0x1a2b3c4d);
            b.u16(1);
            b.u16(0);
            b.u64(~0ull);                       // section length unknown
            b.option(4, {'t', 'e', 's', 't'});  // shb_userappl
            b.option(0, {});
        });
    }
    void interface(std::uint16_t link, std::uint32_t snaplen, std::optional<std::uint8_t> tsresol,
                   const std::string& name = "", std::int64_t tsoffset = 0) {
        block(1, [&](Builder& b) {
            b.u16(link);
            b.u16(0);
            b.u32(snaplen);
            if (!name.empty()) b.option(2, Bytes(name.begin(), name.end()));
            b.option(3, {'d', 'e', 's', 'c'});
            if (tsresol) b.option(9, {*tsresol});
            if (tsoffset) {
                Builder o{big};
                o.u64(static_cast<std::uint64_t>(tsoffset));
                b.option(14, o.out);
            }
            b.option(0, {});
        });
    }
    void enhanced(std::uint32_t id, std::uint64_t ts, const Bytes& data, std::uint32_t wire,
                  std::optional<std::uint32_t> flags = std::nullopt) {
        block(6, [&](Builder& b) {
            b.u32(id);
            b.u32(std::uint32_t(ts >> 32));
            b.u32(std::uint32_t(ts));
            b.u32(std::uint32_t(data.size()));
            b.u32(wire);
            b.bytes(data);
            b.option(1, {'h', 'i'});  // opt_comment
            if (flags) {
                Builder f{big};
                f.u32(*flags);
                b.option(2, f.out);
            }
            b.option(0, {});
        });
    }
    void simple(const Bytes& data, std::uint32_t wire) {
        block(3, [&](Builder& b) {
            b.u32(wire);
            b.bytes(data);
        });
    }
    void obsolete(std::uint16_t id, std::uint64_t ts, const Bytes& data,
                  std::optional<std::uint32_t> flags = std::nullopt) {
        block(2, [&](Builder& b) {
            b.u16(id);
            b.u16(0);  // drops
            b.u32(std::uint32_t(ts >> 32));
            b.u32(std::uint32_t(ts));
            b.u32(std::uint32_t(data.size()));
            b.u32(std::uint32_t(data.size()));
            b.bytes(data);
            if (flags) {
                Builder f{big};
                f.u32(*flags);
                b.option(2, f.out);  // pack_flags
                b.option(0, {});
            }
        });
    }
    void unknown(std::uint32_t type) {
        block(type, [](Builder& b) { b.u32(0xdeadbeef); });
    }
};

Bytes frame(std::size_t n, std::uint8_t fill) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(fill + i);
    return b;
}

std::string put(TempDir& dir, const Bytes& b, const std::string& name = "f.pcapng") {
    const std::string path = dir.file(name);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return path;
}

Bytes data_of(const PacketView& p) {
    const auto* d = reinterpret_cast<const std::uint8_t*>(p.data());
    return Bytes(d, d + p.caplen());
}

constexpr std::uint64_t kSec = 1'700'000'000;

TEST(PcapngReader, OneSectionWithOptionsAndUnknownBlocks) {
    for (const bool big : {false, true}) {
        SCOPED_TRACE(big ? "big-endian" : "little-endian");
        Builder b{big};
        b.section();
        b.interface(1, 262144, 9, "eth0");
        b.unknown(0x40000bad);                                           // custom/unknown: skipped
        b.enhanced(0, kSec * 1'000'000'000 + 123, frame(60, 1), 60, 1);  // inbound
        b.unknown(5);                                                    // statistics block
        b.enhanced(0, kSec * 1'000'000'000 + 456, frame(99, 2), 1500, 2);  // outbound, cut
        b.enhanced(0, kSec * 1'000'000'000 + 789, frame(61, 3), 61);       // no flags
        TempDir dir;
        PcapReader r = PcapReader::open(put(dir, b.out));
        EXPECT_EQ(r.info().format, FileFormat::pcapng);
        EXPECT_EQ(r.info().link_type, 1u);
        EXPECT_EQ(r.info().snaplen, 262144u);
        ASSERT_EQ(r.interfaces().size(), 1u);
        EXPECT_EQ(r.interfaces()[0].name, "eth0");
        EXPECT_EQ(r.interfaces()[0].description, "desc");
        auto p = r.next();
        ASSERT_TRUE(p);
        EXPECT_EQ(data_of(*p), frame(60, 1));
        EXPECT_EQ(p->ts_ns(), std::int64_t(kSec * 1'000'000'000 + 123));
        EXPECT_EQ(p->pkttype(), PACKET_HOST);
        p = r.next();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->caplen(), 99u);
        EXPECT_EQ(p->wire_len(), 1500u);
        EXPECT_EQ(p->pkttype(), PACKET_OUTGOING);
        p = r.next();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->pkttype(), kPacketTypeUnknown);
        EXPECT_FALSE(r.next());
        EXPECT_EQ(r.records(), 3u);
        EXPECT_EQ(r.offset(), b.out.size());
    }
}

TEST(PcapngReader, SectionsInBothByteOrdersWithTheirOwnInterfaces) {
    Builder b{true};  // big-endian section
    b.section();
    b.interface(1, 65535, std::nullopt, "a");  // default resolution: microseconds
    b.enhanced(0, kSec * 1'000'000 + 5, frame(60, 1), 60);
    Builder le{false};  // then a little-endian section with two more interfaces
    le.section();
    le.interface(276, 0, 0x80 | 20, "any");   // 2^-20 s, and snaplen 0: no limit
    le.interface(101, 1000, 3, "raw", -100);  // milliseconds, 100 s earlier
    le.enhanced(1, kSec * 1000 + 7, frame(40, 2), 40);
    le.enhanced(0, (kSec << 20) + (1 << 19), frame(70, 3), 70);  // + 0.5 s
    le.obsolete(1, kSec * 1000, frame(44, 4));
    b.out.insert(b.out.end(), le.out.begin(), le.out.end());

    TempDir dir;
    PcapReader r = PcapReader::open(put(dir, b.out));
    EXPECT_EQ(r.info().link_type, 1u);
    EXPECT_EQ(r.info().snaplen, 65535u);
    struct Want {
        int ifindex;
        std::int64_t ts;
        Bytes data;
    };
    const std::vector<Want> want = {
        {0, std::int64_t(kSec) * 1'000'000'000 + 5000, frame(60, 1)},
        {2, (std::int64_t(kSec) - 100) * 1'000'000'000 + 7'000'000, frame(40, 2)},
        {1, std::int64_t(kSec) * 1'000'000'000 + 500'000'000, frame(70, 3)},
        {2, (std::int64_t(kSec) - 100) * 1'000'000'000, frame(44, 4)},
    };
    // Once, then again after rewind(): the same packets on the same interfaces.
    for (int pass = 0; pass < 2; ++pass) {
        SCOPED_TRACE(pass == 0 ? "first read" : "rewound");
        for (const Want& w : want) {
            const auto p = r.next();
            ASSERT_TRUE(p);
            EXPECT_EQ(p->ifindex(), w.ifindex);
            EXPECT_EQ(p->ts_ns(), w.ts);
            EXPECT_EQ(data_of(*p), w.data);
        }
        EXPECT_FALSE(r.next());
        ASSERT_EQ(r.interfaces().size(), 3u) << "interfaces are described once, not per pass";
        ASSERT_TRUE(r.rewind());
        EXPECT_EQ(r.records(), 0u);
    }
    EXPECT_EQ(r.interfaces()[1].link_type, 276u);
    EXPECT_EQ(r.interfaces()[2].link_type, 101u);
    EXPECT_EQ(r.interfaces()[2].name, "raw");
}

TEST(PcapngReader, SimplePacketBlockTakesInterfaceZeroAndItsSnaplen) {
    Builder b;
    b.section();
    b.interface(1, 64, 9);
    b.simple(frame(64, 5), 1000);  // wire length 1000, 64 captured (the snaplen)
    b.simple(frame(50, 6), 50);
    TempDir dir;
    PcapReader r = PcapReader::open(put(dir, b.out));
    auto p = r.next();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->caplen(), 64u);
    EXPECT_EQ(p->wire_len(), 1000u);
    p = r.next();
    ASSERT_TRUE(p);
    EXPECT_EQ(data_of(*p), frame(50, 6));
    EXPECT_FALSE(r.next());
}

TEST(PcapngReader, ReadsThroughAPipeInOddChunks) {
    Builder b;
    b.section();
    b.interface(1, 262144, 9);
    for (int i = 0; i < 3000; ++i)
        b.enhanced(0, std::uint64_t(i), frame(60 + (i * 37) % 1400, std::uint8_t(i)), 2000);
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    std::thread writer([&] {
        for (std::size_t done = 0; done < b.out.size();) {
            const ssize_t n = ::write(fds[1], b.out.data() + done,
                                      std::min<std::size_t>(4093, b.out.size() - done));
            if (n <= 0) break;
            done += std::size_t(n);
        }
        ::close(fds[1]);
    });
    const std::string path = "/proc/self/fd/" + std::to_string(fds[0]);
    int count = 0;
    {
        PcapReader r = PcapReader::open(path);
        EXPECT_FALSE(r.is_mapped());
        while (auto p = r.next()) {
            ASSERT_EQ(data_of(*p), frame(60 + (count * 37) % 1400, std::uint8_t(count)));
            ++count;
        }
    }
    writer.join();
    ::close(fds[0]);
    EXPECT_EQ(count, 3000);
}

// Two good packets, then `damage` appended; the error names the file, the offset, the words.
// `skip`: bytes of good blocks the damage function writes before the bad one.
void expect_damage(const std::function<void(Builder&)>& damage,
                   std::initializer_list<std::string> words, std::size_t skip = 0) {
    Builder b;
    b.section();
    b.interface(1, 262144, 9);
    b.enhanced(0, 1, frame(60, 1), 60);
    b.enhanced(0, 2, frame(61, 2), 61);
    const std::size_t at = b.out.size() + skip;
    damage(b);
    TempDir dir;
    const std::string path = put(dir, b.out);
    // Mapped, and streamed through the read buffer as a pipe would be.
    for (const ReadMode mode : {ReadMode::map, ReadMode::stream}) {
        SCOPED_TRACE(mode == ReadMode::map ? "mapped" : "streamed");
        PcapReader r = PcapReader::open(path, mode);
        EXPECT_EQ(r.is_mapped(), mode == ReadMode::map);
        std::vector<Bytes> delivered;
        std::string first;
        try {
            while (auto p = r.next()) delivered.push_back(data_of(*p));
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            first = e.what();
            EXPECT_NE(first.find(path), std::string::npos) << first;
            EXPECT_NE(first.find("offset " + std::to_string(at)), std::string::npos) << first;
            for (const std::string& w : words) EXPECT_NE(first.find(w), std::string::npos) << first;
            EXPECT_EQ(e.code().value(), EINVAL);
        }
        EXPECT_EQ(delivered, (std::vector<Bytes>{frame(60, 1), frame(61, 2)}));
        EXPECT_EQ(r.records(), 2u);
        EXPECT_EQ(r.offset(), at);
        try {  // the same error again, nothing skipped
            (void)r.next();
            ADD_FAILURE() << "no error the second time";
        } catch (const Error& e) {
            EXPECT_EQ(e.what(), first);
        }
    }
}

TEST(PcapngReaderDamage, TruncatedLastBlock) {
    expect_damage(
        [](Builder& b) {
            b.enhanced(0, 3, frame(200, 3), 200);
            b.out.resize(b.out.size() - 50);
        },
        {"truncated block", "says 244 bytes, 194 present"});
}

TEST(PcapngReaderDamage, TruncatedBlockHeader) {
    expect_damage(
        [](Builder& b) {
            b.out.insert(b.out.end(), {6, 0, 0});
        },
        {"truncated block header, 3 of 8"});
}

TEST(PcapngReaderDamage, BlockLengthNotAMultipleOfFour) {
    expect_damage(
        [](Builder& b) {
            b.u32(6);
            b.u32(37);
            b.out.resize(b.out.size() + 40);
        },
        {"block length 37 is impossible"});
}

TEST(PcapngReaderDamage, BlockLengthBelowTwelve) {
    expect_damage(
        [](Builder& b) {
            b.u32(6);
            b.u32(8);
            b.u32(8);
        },
        {"block length 8 is impossible", "12 to"});
}

TEST(PcapngReaderDamage, SectionHeaderTooShortForItsFields) {
    expect_damage(
        [](Builder& b) {
            b.u32(0x0a0d0d0a);
            b.u32(20);
            b.u32(0x1a2b3c4d);
            b.u16(1);
            b.u16(0);
            b.u32(20);  // no section length
        },
        {"section header block of 20 bytes", "at least 28"});
}

TEST(PcapngReaderDamage, InterfaceBlockTooShort) {
    expect_damage([](Builder& b) { b.block(1, [](Builder& body) { body.u32(1); }); },
                  {"interface description block of 16 bytes"});
}

TEST(PcapngReaderDamage, ObsoletePacketDataRunsPastItsBlock) {
    expect_damage(
        [](Builder& b) {
            const std::size_t start = b.out.size();
            b.obsolete(0, 3, frame(40, 3));
            b.out[start + 8 + 12] = 100;  // caplen 100 in a block with room for 40
        },
        {"caplen 100", "runs past its block"});
}

TEST(PcapngReaderDamage, AbsurdBlockLength) {
    expect_damage(
        [](Builder& b) {
            b.u32(6);
            b.u32(0xfffffff0);
        },
        {"block length 4294967280 is impossible"});
}

TEST(PcapngReaderDamage, TrailingLengthDiffers) {
    expect_damage(
        [](Builder& b) {
            b.enhanced(0, 3, frame(60, 3), 60);
            b.out[b.out.size() - 4] ^= 0x10;
        },
        {"at its start but"});
}

TEST(PcapngReaderDamage, PacketDataRunsPastItsBlock) {
    expect_damage(
        [](Builder& b) {
            const std::size_t start = b.out.size();
            b.enhanced(0, 3, frame(60, 3), 60);
            b.out[start + 8 + 12] = 200;  // caplen 200 in a block with room for ~70
        },
        {"caplen 200", "runs past its block"});
}

TEST(PcapngReaderDamage, UnknownInterface) {
    expect_damage([](Builder& b) { b.enhanced(5, 3, frame(60, 3), 60); },
                  {"interface 5", "has 1 interface"});
}

TEST(PcapngReaderDamage, PacketBeforeAnyInterfaceOfItsSection) {
    Builder shb;
    shb.section();
    expect_damage(
        [](Builder& b) {
            b.section();
            b.enhanced(0, 3, frame(60, 3), 60);
        },
        {"interface 0", "has 0 interface"}, shb.out.size());
}

TEST(PcapngReaderDamage, SimplePacketBeforeAnyInterfaceOfItsSection) {
    Builder shb;
    shb.section();
    expect_damage(
        [](Builder& b) {
            b.section();
            b.simple(frame(60, 3), 60);
        },
        {"interface 0", "has 0 interface"}, shb.out.size());
}

TEST(PcapngReaderDamage, GarbageAfterAValidSection) {
    expect_damage(
        [](Builder& b) {
            const std::string junk = "this is not a block, just text that follows the capture\n";
            b.out.insert(b.out.end(), junk.begin(), junk.end());
        },
        {"is impossible"});
}

TEST(PcapngReaderDamage, BadByteOrderMagicInALaterSection) {
    expect_damage(
        [](Builder& b) {
            const std::size_t start = b.out.size();
            b.section();
            b.out[start + 8] = 0x99;  // the byte-order magic follows the block type and length
        },
        {"byte-order magic"});
}

TEST(PcapngReader, PacketBeforeTheFirstInterfaceFailsAtTheFirstNext) {
    Builder b;
    b.section();
    const std::size_t at = b.out.size();
    b.enhanced(0, 1, frame(60, 1), 60);
    TempDir dir;
    const std::string path = put(dir, b.out);
    PcapReader r = PcapReader::open(path);  // the header is fine
    EXPECT_EQ(r.info().format, FileFormat::pcapng);
    EXPECT_TRUE(r.interfaces().empty());
    try {
        (void)r.next();
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("block at offset " + std::to_string(at)), std::string::npos) << what;
        EXPECT_NE(what.find("packet on interface 0"), std::string::npos) << what;
    }
    EXPECT_EQ(r.records(), 0u);
}

TEST(PcapngReader, TruncatedSectionHeaderIsRefusedAtOpen) {
    Builder b;
    b.section();
    TempDir dir;
    for (const std::size_t keep : {std::size_t{4}, std::size_t{14}, b.out.size() - 1}) {
        SCOPED_TRACE(keep);
        const std::string path = put(dir, Bytes(b.out.begin(), b.out.begin() + keep));
        try {
            PcapReader::open(path);
            ADD_FAILURE() << "no error";
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_EQ(e.code().value(), EINVAL);
            EXPECT_NE(what.find(path), std::string::npos) << what;
            EXPECT_NE(what.find("block at offset 0"), std::string::npos) << what;
            EXPECT_NE(what.find("truncated"), std::string::npos) << what;
        }
    }
}

TEST(PcapngReader, BlocksLargerThanTheReadBufferStreamed) {
    Builder b;
    b.section();
    b.interface(1, 0, 9, "big");  // snaplen 0: no limit
    const std::vector<std::size_t> sizes = {3u << 20, 60, PcapReader::kBufferSize - 28 - 12, 9000};
    for (std::size_t i = 0; i < sizes.size(); ++i)
        b.enhanced(0, i, frame(sizes[i], std::uint8_t(i)), std::uint32_t(sizes[i]), 1);
    TempDir dir;
    const std::string path = put(dir, b.out);
    for (const ReadMode mode : {ReadMode::map, ReadMode::stream}) {
        PcapReader r = PcapReader::open(path, mode);
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            const auto p = r.next();
            ASSERT_TRUE(p) << i;
            EXPECT_EQ(data_of(*p), frame(sizes[i], std::uint8_t(i))) << i;
            EXPECT_EQ(p->ts_ns(), std::int64_t(i));
            EXPECT_EQ(p->pkttype(), PACKET_HOST);
        }
        EXPECT_FALSE(r.next());
        EXPECT_EQ(r.offset(), b.out.size());
    }
}

TEST(PcapngReader, ObsoletePacketBlockDirectionFromPackFlags) {
    Builder b;
    b.section();
    b.interface(1, 262144, std::nullopt);
    b.obsolete(0, 5, frame(50, 1), 2);  // outbound
    b.obsolete(0, 6, frame(51, 2), 1);  // inbound
    b.obsolete(0, 7, frame(52, 3));     // no pack_flags
    TempDir dir;
    PcapReader r = PcapReader::open(put(dir, b.out));
    const std::uint8_t want[] = {PACKET_OUTGOING, PACKET_HOST, kPacketTypeUnknown};
    for (int i = 0; i < 3; ++i) {
        const auto p = r.next();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->pkttype(), want[i]);
        EXPECT_EQ(p->ts_ns(), (5 + i) * 1000);  // default resolution: microseconds
    }
    EXPECT_FALSE(r.next());
}

TEST(PcapngReader, PcapFileHasOneInterfaceFromItsHeader) {
    TempDir dir;
    for (const TimestampPrecision precision :
         {TimestampPrecision::micro, TimestampPrecision::nano}) {
        const std::string path = dir.file("one.pcap");
        PcapWriter::create(
            path, {.link_type = LinkType::linux_sll2, .snaplen = 1234, .precision = precision})
            .close();
        PcapReader r = PcapReader::open(path);
        EXPECT_EQ(r.info().format, FileFormat::pcap);
        ASSERT_EQ(r.interfaces().size(), 1u);
        EXPECT_EQ(r.interfaces()[0].link_type, 276u);
        EXPECT_EQ(r.interfaces()[0].snaplen, 1234u);
        EXPECT_EQ(r.interfaces()[0].tsresol, precision == TimestampPrecision::nano ? 9 : 6);
        EXPECT_TRUE(r.interfaces()[0].name.empty());
    }
}

TEST(PcapngReader, EmptySectionHasNoInterfacesAndNoPackets) {
    Builder b;
    b.section();
    TempDir dir;
    PcapReader r = PcapReader::open(put(dir, b.out));
    EXPECT_EQ(r.info().format, FileFormat::pcapng);
    EXPECT_TRUE(r.interfaces().empty());
    EXPECT_FALSE(r.next());
}

// ---------------------------------------------------------------------------------------------
// pcapng written by PcapWriter, read back by PcapReader.

PacketView packet(const Bytes& data, std::int64_t ts, std::uint8_t pkttype, std::uint32_t wire) {
    return PacketView(reinterpret_cast<const std::byte*>(data.data()),
                      static_cast<std::uint32_t>(data.size()), wire, ts, 0, pkttype, 0, 0, 0, 0);
}

TEST(PcapngWriter, RoundTripWithInterfacesDirectionsAndComments) {
    TempDir dir;
    const std::string path = dir.file("w.pcapng");
    EXPECT_EQ(format_for_name(path), FileFormat::pcapng);
    EXPECT_EQ(format_for_name(dir.file("w.pcap")), FileFormat::pcap);
    const std::int64_t t0 = 1'700'000'000'123'456'789;
    std::vector<Bytes> data;
    for (int i = 0; i < 6; ++i) data.push_back(frame(60 + 33 * i, std::uint8_t(i)));
    {
        PcapngWriter w = PcapngWriter::create(
            path, {.snaplen = 65535, .interface_name = "veth0", .interface_description = "lab"});
        EXPECT_EQ(w.add_interface(LinkType::linux_sll2, 262144, "any", ""), 1u);
        w.write(packet(data[0], t0, PACKET_HOST, 60));
        w.write(packet(data[1], t0 + 1, PACKET_OUTGOING, 93), 0, "a comment");
        w.write(packet(data[2], t0 + 2, PACKET_BROADCAST, 500), 1);
        w.write(packet(data[3], t0 + 3, kPacketTypeUnknown, 159));
        w.write_statistics(0, 10, 2);
        w.write(packet(data[4], t0 + 4, PACKET_OTHERHOST, 192), 1, std::string(70000, 'x'));
        w.write(packet(data[5], t0 + 5, PACKET_MULTICAST, 225));
        EXPECT_THROW(w.write(packet(data[5], t0, 0, 1), 2), Error);  // not declared
        w.close();
    }
    PcapReader r = PcapReader::open(path);
    ASSERT_EQ(r.interfaces().size(), 2u);
    EXPECT_EQ(r.interfaces()[0].name, "veth0");
    EXPECT_EQ(r.interfaces()[0].description, "lab");
    EXPECT_EQ(r.interfaces()[0].snaplen, 65535u);
    EXPECT_EQ(r.interfaces()[0].tsresol, 9);
    EXPECT_EQ(r.interfaces()[1].link_type, 276u);
    const std::uint8_t want_type[] = {PACKET_HOST,        PACKET_OUTGOING, PACKET_HOST,
                                      kPacketTypeUnknown, PACKET_HOST,     PACKET_HOST};
    const int want_if[] = {0, 0, 1, 0, 1, 0};
    const std::uint32_t want_wire[] = {60, 93, 500, 159, 192, 225};
    for (int i = 0; i < 6; ++i) {
        const auto p = r.next();
        ASSERT_TRUE(p) << i;
        EXPECT_EQ(data_of(*p), data[i]) << i;
        EXPECT_EQ(p->ts_ns(), t0 + i) << i;
        EXPECT_EQ(p->pkttype(), want_type[i]) << i;
        EXPECT_EQ(p->ifindex(), want_if[i]) << i;
        EXPECT_EQ(p->wire_len(), want_wire[i]) << i;
    }
    EXPECT_FALSE(r.next());
}

// A pcap file has no interfaces to declare, comments or statistics (PcapWriter has no such
// calls); as a sink it takes the source's interfaces of its own link type only.
TEST(PcapngWriter, PcapFileTakesInterfacesOfItsLinkTypeOnly) {
    TempDir dir;
    PcapWriter w = PcapWriter::create(dir.file("x.pcap"), {.link_type = LinkType::ethernet});
    Sink& sink = w;
    EXPECT_TRUE(sink.add_interface({.link_type = 1, .snaplen = 100, .name = "x"}));
    EXPECT_FALSE(sink.add_interface({.link_type = 101, .snaplen = 100, .name = "raw"}));
    w.close();
    EXPECT_EQ(std::filesystem::file_size(dir.file("x.pcap")), 24u);
}

// A file size limit (RLIMIT_FSIZE) makes write() stop part-way, as a full disk does: the file
// must end with the last whole block.
TEST(PcapngWriter, FailedWriteLeavesWholeBlocks) {
    TempDir dir;
    const std::string path = dir.file("cut.pcapng");
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    const rlimit small{100'003, old.rlim_max};
    int err = 0;
    {
        PcapngWriter w = PcapngWriter::create(path, {.buffer_size = 64 << 10});
        ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
        try {
            for (int i = 0; i < 1000; ++i)
                w.write(packet(frame(300 + i % 700, std::uint8_t(i)), i, 0, 2000));
            w.close();
        } catch (const Error& e) {
            err = e.code().value();
        }
        ::setrlimit(RLIMIT_FSIZE, &old);
    }
    EXPECT_EQ(err, EFBIG);
    const auto size = std::filesystem::file_size(path);
    EXPECT_GT(size, 50'000u);
    EXPECT_LE(size, 100'003u);
    PcapReader r = PcapReader::open(path);
    int n = 0;
    while (auto p = r.next()) {
        EXPECT_EQ(data_of(*p), frame(300 + n % 700, std::uint8_t(n)));
        ++n;
    }
    EXPECT_GT(n, 50);
}

}  // namespace
}  // namespace ringcap
