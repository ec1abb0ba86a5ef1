// PcapWriter: the exact bytes of the file, buffering, and what happens when writes fail.
// Records are built from PacketViews over test-owned memory; no capture is involved.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_writer.hpp>

#include "file/run_writer.hpp"
#include "temp_files.hpp"

namespace ringcap {
namespace {

namespace fs = std::filesystem;

using test::Bytes;
using test::payload;
using test::read_all;
using test::TempDir;
using test::u16_at;
using test::u32_at;
using test::view;

struct Record {
    std::int64_t ts_ns;
    Bytes data;
    std::uint32_t wire_len;  // 0: same as data.size()
};

// The bytes a pcap file with these records must have (host byte order, as the magic says).
Bytes expected_file(const FileWriterOptions& o, const std::vector<Record>& records) {
    Bytes out;
    auto put32 = [&out](std::uint32_t v) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
        out.insert(out.end(), p, p + 4);
    };
    auto put16 = [&out](std::uint16_t v) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
        out.insert(out.end(), p, p + 2);
    };
    const bool nano = o.precision == TimestampPrecision::nano;
    put32(nano ? 0xa1b23c4d : 0xa1b2c3d4);
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(o.snaplen);
    put32(static_cast<std::uint32_t>(o.link_type));
    for (const Record& r : records) {
        put32(static_cast<std::uint32_t>(r.ts_ns / 1'000'000'000));
        const std::int64_t frac = r.ts_ns % 1'000'000'000;
        put32(static_cast<std::uint32_t>(nano ? frac : frac / 1000));
        put32(static_cast<std::uint32_t>(r.data.size()));
        put32(r.wire_len ? r.wire_len : static_cast<std::uint32_t>(r.data.size()));
        out.insert(out.end(), r.data.begin(), r.data.end());
    }
    return out;
}

void write_all(PcapWriter& w, const std::vector<Record>& records) {
    for (const Record& r : records) w.write(view(r.data, r.ts_ns, r.wire_len));
}

// Reads a file back with libpcap; fails the test if libpcap reports an error or a cut record.
std::vector<Record> read_with_libpcap(const std::string& path, TimestampPrecision precision) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(),
                                                        precision == TimestampPrecision::nano
                                                            ? PCAP_TSTAMP_PRECISION_NANO
                                                            : PCAP_TSTAMP_PRECISION_MICRO,
                                                        errbuf);
    EXPECT_NE(p, nullptr) << errbuf;
    std::vector<Record> out;
    if (!p) return out;
    pcap_pkthdr* h;
    const u_char* d;
    int rc;
    const std::int64_t unit = precision == TimestampPrecision::nano ? 1 : 1000;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1)
        out.push_back(
            {static_cast<std::int64_t>(h->ts.tv_sec) * 1'000'000'000 + h->ts.tv_usec * unit,
             Bytes(d, d + h->caplen), h->len});
    EXPECT_EQ(rc, PCAP_ERROR_BREAK) << "libpcap: " << pcap_geterr(p);
    pcap_close(p);
    return out;
}

// ---------------------------------------------------------------------------------------------
// File header.

struct HeaderCase {
    const char* name;
    FileWriterOptions options;
    std::uint32_t magic;
    std::uint8_t magic_le[4];  // the magic as it appears on a little-endian host
};

class PcapHeader : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(PcapHeader, GlobalHeaderIsExact) {
    const HeaderCase& c = GetParam();
    TempDir dir;
    const std::string path = dir.file("h.pcap");
    PcapWriter w = PcapWriter::create(path, c.options);
    w.close();
    EXPECT_EQ(w.records(), 0u);
    EXPECT_EQ(w.bytes_written(), 24u);

    const Bytes b = read_all(path);
    ASSERT_EQ(b.size(), 24u);
    EXPECT_EQ(u32_at(b, 0), c.magic);
    if constexpr (std::endian::native == std::endian::little) {
        EXPECT_EQ(Bytes(b.begin(), b.begin() + 4), Bytes(c.magic_le, c.magic_le + 4));
    }
    EXPECT_EQ(u16_at(b, 4), 2u);   // version_major
    EXPECT_EQ(u16_at(b, 6), 4u);   // version_minor
    EXPECT_EQ(u32_at(b, 8), 0u);   // thiszone
    EXPECT_EQ(u32_at(b, 12), 0u);  // sigfigs
    EXPECT_EQ(u32_at(b, 16), c.options.snaplen);
    EXPECT_EQ(u32_at(b, 20), static_cast<std::uint32_t>(c.options.link_type));
    EXPECT_EQ(b, expected_file(c.options, {}));
}

// clang-format off
const HeaderCase kHeaders[] = {
    {"micro_ethernet_default_snaplen", {}, 0xa1b2c3d4, {0xd4, 0xc3, 0xb2, 0xa1}},
    {"nano_ethernet",
     {.link_type = LinkType::ethernet, .snaplen = 96, .precision = TimestampPrecision::nano},
     0xa1b23c4d, {0x4d, 0x3c, 0xb2, 0xa1}},
    {"micro_sll2", {.link_type = LinkType::linux_sll2, .snaplen = 65535}, 0xa1b2c3d4,
     {0xd4, 0xc3, 0xb2, 0xa1}},
    {"nano_sll2",
     {.link_type = LinkType::linux_sll2, .snaplen = 1, .precision = TimestampPrecision::nano},
     0xa1b23c4d, {0x4d, 0x3c, 0xb2, 0xa1}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Pcap, PcapHeader, ::testing::ValuesIn(kHeaders),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Record headers: timestamp split, caplen and len.

struct RecordCase {
    const char* name;
    TimestampPrecision precision;
    std::int64_t ts_ns;
    std::uint32_t caplen;
    std::uint32_t wire_len;
    std::uint32_t ts_sec;
    std::uint32_t ts_frac;  // usec or nsec
};

class PcapRecord : public ::testing::TestWithParam<RecordCase> {};

TEST_P(PcapRecord, RecordHeaderAndDataAreExact) {
    const RecordCase& c = GetParam();
    TempDir dir;
    const std::string path = dir.file("r.pcap");
    const Bytes data = payload(c.caplen, 7);
    {
        PcapWriter w = PcapWriter::create(path, {.precision = c.precision});
        w.write(view(data, c.ts_ns, c.wire_len));
        EXPECT_EQ(w.records(), 1u);
        w.close();
    }
    const Bytes b = read_all(path);
    ASSERT_EQ(b.size(), 24u + 16u + c.caplen);
    EXPECT_EQ(u32_at(b, 24), c.ts_sec);
    EXPECT_EQ(u32_at(b, 28), c.ts_frac);
    EXPECT_EQ(u32_at(b, 32), c.caplen);
    EXPECT_EQ(u32_at(b, 36), c.wire_len);
    EXPECT_EQ(Bytes(b.begin() + 40, b.end()), data);
}

constexpr std::int64_t kTs = 1'700'000'000'123'456'789;

// clang-format off
const RecordCase kRecords[] = {
    {"micro_truncates_to_usec", TimestampPrecision::micro, kTs, 64, 64, 1'700'000'000, 123'456},
    {"nano_keeps_nsec", TimestampPrecision::nano, kTs, 64, 64, 1'700'000'000, 123'456'789},
    {"micro_epoch", TimestampPrecision::micro, 0, 1, 1, 0, 0},
    {"micro_last_ns_of_second", TimestampPrecision::micro, 999'999'999, 14, 14, 0, 999'999},
    {"nano_last_ns_of_second", TimestampPrecision::nano, 999'999'999, 14, 14, 0, 999'999'999},
    {"micro_whole_second", TimestampPrecision::micro, 42'000'000'000, 60, 60, 42, 0},
    {"caplen_less_than_len", TimestampPrecision::micro, kTs, 96, 1514, 1'700'000'000, 123'456},
    {"nano_truncated_jumbo", TimestampPrecision::nano, kTs, 128, 9018, 1'700'000'000, 123'456'789},
    {"empty_packet", TimestampPrecision::micro, kTs, 0, 60, 1'700'000'000, 123'456},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Pcap, PcapRecord, ::testing::ValuesIn(kRecords),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Whole files under different buffer sizes, including records larger than the buffer.

struct FileCase {
    const char* name;
    FileWriterOptions options;
    std::vector<std::size_t> sizes;  // caplen of each record, in order
};

class PcapFile : public ::testing::TestWithParam<FileCase> {};

TEST_P(PcapFile, WholeFileMatchesAndLibpcapReadsIt) {
    const FileCase& c = GetParam();
    TempDir dir;
    const std::string path = dir.file("f.pcap");
    std::vector<Record> records;
    for (std::size_t i = 0; i < c.sizes.size(); ++i)
        records.push_back({kTs + static_cast<std::int64_t>(i) * 1'001'001, payload(c.sizes[i], i),
                           static_cast<std::uint32_t>(c.sizes[i] + (i % 3))});
    PcapWriter w = PcapWriter::create(path, c.options);
    write_all(w, records);
    EXPECT_EQ(w.records(), records.size());
    w.close();

    const Bytes expected = expected_file(c.options, records);
    EXPECT_EQ(w.bytes_written(), expected.size());
    const Bytes b = read_all(path);
    ASSERT_EQ(b.size(), expected.size());
    EXPECT_TRUE(b == expected) << "file differs from the expected bytes";

    const std::vector<Record> back = read_with_libpcap(path, c.options.precision);
    ASSERT_EQ(back.size(), records.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
        const std::int64_t ts = c.options.precision == TimestampPrecision::nano
                                    ? records[i].ts_ns
                                    : records[i].ts_ns / 1000 * 1000;
        EXPECT_EQ(back[i].ts_ns, ts) << "record " << i;
        EXPECT_EQ(back[i].data, records[i].data) << "record " << i;
        EXPECT_EQ(back[i].wire_len, records[i].wire_len) << "record " << i;
    }
}

std::vector<std::size_t> repeat(std::size_t n, std::size_t size) { return std::vector(n, size); }

// clang-format off
const FileCase kFiles[] = {
    {"default_buffer_many_small", {}, repeat(500, 60)},
    // buffer_size 1 is rounded up to one 4 KiB page; a 10000-byte record must still fit.
    {"tiny_buffer_record_larger_than_buffer", {.buffer_size = 1}, {10000}},
    {"tiny_buffer_mixed_sizes", {.buffer_size = 1}, {100, 10000, 5, 4080, 4081, 70000, 0, 1500}},
    {"tiny_buffer_exact_fill", {.buffer_size = 4096}, {4096 - 24 - 16, 4096 - 16, 4096 - 16, 1}},
    {"tiny_buffer_many_records_cross_flushes", {.buffer_size = 4096}, repeat(300, 1000)},
    {"nano_tiny_buffer",
     {.link_type = LinkType::linux_sll2, .precision = TimestampPrecision::nano, .buffer_size = 1},
     {20, 9000, 20}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Pcap, PcapFile, ::testing::ValuesIn(kFiles),
                         [](const auto& info) { return std::string(info.param.name); });

// A view keeps the ring's seconds and nanoseconds as they are, and a time in ns splits into
// them rounding down (before 1970 too); either way ts_ns() gives the ns back, past 2106 as well.
TEST(PacketTime, SplitsNanosecondsRoundingDown) {
    EXPECT_EQ(PacketTime::from_ns(1'700'000'000'123'456'789).sec, 1'700'000'000);
    EXPECT_EQ(PacketTime::from_ns(1'700'000'000'123'456'789).nsec, 123'456'789u);
    EXPECT_EQ(PacketTime::from_ns(-1).sec, -1);
    EXPECT_EQ(PacketTime::from_ns(-1).nsec, 999'999'999u);
    EXPECT_EQ(PacketTime::from_ns(0).ns(), 0);
    const Bytes data = payload(10, 1);
    for (const std::int64_t ns : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{-5'000'000'001},
                                  std::int64_t{5'000'000'000'123'456'789}, INT64_MAX, INT64_MIN}) {
        EXPECT_EQ(view(data, ns).ts_ns(), ns) << ns;
    }
    const PacketView ring(reinterpret_cast<const std::byte*>(data.data()), 10, 10,
                          PacketTime{4'000'000'000, 999'999'999}, 0, 0, 0, 0, 0, 0);
    EXPECT_EQ(ring.time().sec, 4'000'000'000);
    EXPECT_EQ(ring.time().nsec, 999'999'999u);
    EXPECT_EQ(ring.ts_ns(), 4'000'000'000'999'999'999);
}

// The record header takes the seconds (low 32 bits, as libpcap's) and the fraction as they are.
TEST(PcapWriter, RecordTimeIsTheViewsSecondsAndFraction) {
    const Bytes data = payload(10, 1);
    const PacketView p(reinterpret_cast<const std::byte*>(data.data()), 10, 10,
                       PacketTime{1'700'000'001, 987'654'321}, 0, 0, 0, 0, 0, 0);
    for (const TimestampPrecision precision :
         {TimestampPrecision::micro, TimestampPrecision::nano}) {
        TempDir dir;
        PcapWriter w = PcapWriter::create(dir.file("t.pcap"), {.precision = precision});
        w.write(p);
        w.close();
        const Bytes file = read_all(dir.file("t.pcap"));
        EXPECT_EQ(u32_at(file, 24), 1'700'000'001u);
        EXPECT_EQ(u32_at(file, 28),
                  precision == TimestampPrecision::nano ? 987'654'321u : 987'654u);
    }
}

TEST(PcapWriter, BuffersUntilFlush) {
    TempDir dir;
    const std::string path = dir.file("b.pcap");
    PcapWriter w = PcapWriter::create(path, {});
    const Bytes data = payload(100, 1);
    w.write(view(data, kTs));
    w.write(view(data, kTs + 1000));
    EXPECT_EQ(w.records(), 2u);
    EXPECT_EQ(fs::file_size(path), 0u) << "a 1 MiB buffer should hold two records";
    EXPECT_EQ(w.bytes_written(), 0u);

    w.flush();
    EXPECT_EQ(fs::file_size(path), 24u + 2 * 116u);
    EXPECT_EQ(w.bytes_written(), 24u + 2 * 116u);

    w.write(view(data, kTs + 2000));
    EXPECT_EQ(w.records(), 3u);
    EXPECT_EQ(fs::file_size(path), 24u + 2 * 116u);
    w.close();
    EXPECT_EQ(fs::file_size(path), 24u + 3 * 116u);
    EXPECT_EQ(read_all(path),
              expected_file({}, {{kTs, data, 0}, {kTs + 1000, data, 0}, {kTs + 2000, data, 0}}));
    EXPECT_NO_THROW(w.close());  // closing twice is harmless
}

// What write_all() walks: anything with for_each(f), as a Batch has.
struct Views {
    std::vector<PacketView> views;
    template <class F>
    void for_each(F&& f) {
        for (const PacketView& v : views) f(v);
    }
};

// write_all() writes the bytes write() writes: every length that write_all() copies a different
// way (0, 1..15, 16..31, 32..64, larger), through a 4 KiB buffer that fills up on the way.
TEST(PcapWriter, WriteAllWritesWhatWriteWritesThroughAFillingBuffer) {
    TempDir dir;
    std::vector<Record> records;
    for (std::size_t len = 0; len <= 130; ++len)
        records.push_back({kTs + std::int64_t(len) * 1001, payload(len, std::uint8_t(len)),
                           static_cast<std::uint32_t>(len + 4)});
    records.push_back({kTs + 1, payload(3000, 9), 0});  // bigger than what is left of the buffer
    for (const TimestampPrecision precision :
         {TimestampPrecision::micro, TimestampPrecision::nano}) {
        const FileWriterOptions o{.precision = precision, .buffer_size = 4096};
        const std::string path = dir.file("all.pcap");
        PcapWriter w = PcapWriter::create(path, o);
        Views batch;
        for (const Record& r : records) batch.views.push_back(view(r.data, r.ts_ns, r.wire_len));
        w.write_all(batch);
        w.write_all(batch);  // on from where the first call stopped
        EXPECT_EQ(w.records(), 2 * records.size());
        EXPECT_GT(w.bytes_written(), 0u) << "the 4 KiB buffer was never written out";
        w.close();
        std::vector<Record> twice = records;
        twice.insert(twice.end(), records.begin(), records.end());
        EXPECT_EQ(read_all(path), expected_file(o, twice));
    }
}

// A write that fails in the middle of write_all() throws, and records() counts the packets put
// into the buffer before the one that did not fit.
TEST(PcapWriterErrors, WriteAllThrowsTheFailedWriteAndCountsThePacketsBeforeIt) {
    if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full not writable";
    PcapWriter w = PcapWriter::create("/dev/full", {.buffer_size = 4096});
    const Bytes data = payload(1000, 2);
    Views batch;
    for (int i = 0; i < 10; ++i) batch.views.push_back(view(data, kTs + i));
    try {
        w.write_all(batch);
        ADD_FAILURE() << "write_all() never flushed a full 4 KiB buffer";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), ENOSPC);
    }
    EXPECT_EQ(w.records(), 4u) << "4 records of 1016 bytes and the file header fill 4 KiB";
}

// Records already in the file's format: bytes of runs of records, as they lie in an input file.
Bytes records_only(const std::vector<Record>& records) {
    const Bytes file = expected_file({}, records);
    return Bytes(file.begin() + PcapWriter::kFileHeader, file.end());
}

std::span<const std::byte> as_span(const Bytes& b) {
    return std::as_bytes(std::span(b.data(), b.size()));
}

TEST(PcapWriter, WriteRecordsKeepsOrderWithBufferedRecords) {
    TempDir dir;
    const std::string path = dir.file("runs.pcap");
    std::vector<Record> all;
    for (int i = 0; i < 3000; ++i) all.push_back({kTs + i * 1000, payload(60 + i % 90, i), 0});
    // Runs of 1 to 4 records (more than kMaxQueued of them) with single records written in
    // between; the run bytes stay untouched until close(), as write_records() asks.
    std::vector<Bytes> runs;
    runs.reserve(all.size());
    PcapWriter w = PcapWriter::create(path, {.buffer_size = 4096});
    std::size_t i = 0, expected_size = PcapWriter::kFileHeader;
    for (int k = 0; i < all.size(); ++k) {
        if (k % 5 == 4) {
            w.write(view(all[i].data, all[i].ts_ns));
            expected_size += 16 + all[i++].data.size();
            continue;
        }
        const std::size_t n = std::min<std::size_t>(1 + k % 4, all.size() - i);
        runs.push_back(records_only({all.begin() + i, all.begin() + i + n}));
        w.write_records(as_span(runs.back()), n);
        i += n;
        expected_size += runs.back().size();
    }
    EXPECT_EQ(w.records(), all.size());
    EXPECT_EQ(w.file_size(), expected_size);
    w.close();
    EXPECT_TRUE(read_all(path) == expected_file({}, all)) << "records out of order or changed";
    EXPECT_EQ(read_with_libpcap(path, TimestampPrecision::micro).size(), all.size());
}

TEST(PcapWriter, DestructorFlushes) {
    TempDir dir;
    const std::string path = dir.file("d.pcap");
    const Bytes data = payload(33, 3);
    {
        PcapWriter w = PcapWriter::create(path, {.snaplen = 1234});
        w.write(view(data, kTs, 99));
    }
    EXPECT_EQ(read_all(path), expected_file({.snaplen = 1234}, {{kTs, data, 99}}));
}

TEST(PcapWriter, MovedWriterKeepsWriting) {
    TempDir dir;
    const std::string path = dir.file("m.pcap");
    const Bytes data = payload(50, 4);
    PcapWriter a = PcapWriter::create(path, {});
    a.write(view(data, kTs));
    PcapWriter b = std::move(a);
    b.write(view(data, kTs + 5));
    EXPECT_EQ(b.records(), 2u);
    b.close();
    EXPECT_EQ(read_all(path), expected_file({}, {{kTs, data, 0}, {kTs + 5, data, 0}}));
}

TEST(PcapWriter, CreateTruncatesExistingFile) {
    TempDir dir;
    const std::string path = dir.file("t.pcap");
    std::ofstream(path) << std::string(10000, 'x');
    PcapWriter w = PcapWriter::create(path, {});
    w.close();
    EXPECT_EQ(fs::file_size(path), 24u);
}

std::size_t open_fds() {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{}));
}

TEST(PcapWriter, CloseClosesTheFileItCreated) {
    TempDir dir;
    const std::string path = dir.file("c.pcap");
    const std::size_t before = open_fds();
    PcapWriter w = PcapWriter::create(path, {});
    EXPECT_EQ(open_fds(), before + 1);
    w.close();
    EXPECT_EQ(open_fds(), before) << "close() left the file open";
    { PcapWriter v = PcapWriter::create(path, {}); }
    EXPECT_EQ(open_fds(), before) << "the destructor left the file open";
}

TEST(PcapWriter, OnFdLeavesTheFdOpen) {
    TempDir dir;
    const std::string path = dir.file("fd.pcap");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    const Bytes data = payload(10, 9);
    {
        PcapWriter w = PcapWriter::on_fd(fd, {.precision = TimestampPrecision::nano});
        w.write(view(data, kTs));
        w.close();
    }
    EXPECT_NE(::fcntl(fd, F_GETFD), -1) << "the writer closed an fd it does not own";
    ::close(fd);
    EXPECT_EQ(read_all(path),
              expected_file({.precision = TimestampPrecision::nano}, {{kTs, data, 0}}));
}

TEST(PcapWriter, DashWritesToStandardOutput) {
    TempDir dir;
    const std::string path = dir.file("stdout.pcap");
    const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(file, 0);
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    ASSERT_GE(saved, 0);
    ASSERT_EQ(::dup2(file, STDOUT_FILENO), STDOUT_FILENO);
    const Bytes data = payload(20, 5);
    bool threw = false;
    try {
        PcapWriter w = PcapWriter::create("-", {});
        w.write(view(data, kTs));
        w.close();
    } catch (...) {
        threw = true;
    }
    const bool stdout_open = ::fcntl(STDOUT_FILENO, F_GETFD) != -1;
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    ::close(file);
    EXPECT_FALSE(threw);
    EXPECT_TRUE(stdout_open) << "the writer closed standard output";
    EXPECT_EQ(read_all(path), expected_file({}, {{kTs, data, 0}}));
}

// ---------------------------------------------------------------------------------------------
// Failures.

TEST(PcapWriterErrors, CreateInMissingDirectoryNamesThePath) {
    TempDir dir;
    const std::string path = dir.file("no/such/dir/x.pcap");
    try {
        PcapWriter::create(path, {});
        FAIL() << "create succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), ENOENT);
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
}

// /dev/full: every write fails with ENOSPC, as on a full disk.
TEST(PcapWriterErrors, DiskFullOnFdThrowsEnospc) {
    const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (fd < 0) GTEST_SKIP() << "/dev/full: " << std::strerror(errno);
    {
        PcapWriter w = PcapWriter::on_fd(fd, {});
        const Bytes data = payload(64, 1);
        w.write(view(data, kTs));  // buffered: nothing written yet
        try {
            w.flush();
            ADD_FAILURE() << "flush to /dev/full succeeded";
        } catch (const Error& e) {
            EXPECT_EQ(e.code().value(), ENOSPC);
            EXPECT_NE(std::string(e.what()).find("fd " + std::to_string(fd)), std::string::npos)
                << e.what();
            EXPECT_NE(e.hint().find("disk full"), std::string::npos) << e.hint();
        }
        EXPECT_EQ(w.bytes_written(), 0u);
        // The record was dropped, but the file header never made it: close() tries it again.
        try {
            w.close();
            ADD_FAILURE() << "close to /dev/full succeeded";
        } catch (const Error& e) {
            EXPECT_EQ(e.code().value(), ENOSPC);
        }
        EXPECT_NO_THROW(w.close());
    }
    EXPECT_NE(::fcntl(fd, F_GETFD), -1);
    ::close(fd);
}

TEST(PcapWriterErrors, DiskFullOnCreateThrowsFromCloseOnce) {
    if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full not writable";
    const std::size_t before = open_fds();
    PcapWriter w = PcapWriter::create("/dev/full", {});
    const Bytes data = payload(64, 1);
    w.write(view(data, kTs));
    try {
        w.close();
        ADD_FAILURE() << "close on /dev/full succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), ENOSPC);
        EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos) << e.what();
    }
    EXPECT_EQ(open_fds(), before) << "a failed close() left the file open";
    EXPECT_NO_THROW(w.close());
    // The destructor runs at the end of the scope and must not throw or crash.
}

TEST(PcapWriterErrors, DiskFullWhenWriteFillsTheBuffer) {
    if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full not writable";
    PcapWriter w = PcapWriter::create("/dev/full", {.buffer_size = 4096});
    const Bytes data = payload(1000, 2);
    int thrown = 0;
    for (int i = 0; i < 10; ++i) {
        try {
            w.write(view(data, kTs + i));
        } catch (const Error& e) {
            EXPECT_EQ(e.code().value(), ENOSPC);
            ++thrown;
            break;
        }
    }
    EXPECT_EQ(thrown, 1) << "write() never flushed a full 4 KiB buffer";
}

TEST(PcapWriterErrors, DestructorSwallowsDiskFull) {
    if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full not writable";
    EXPECT_NO_THROW({
        PcapWriter w = PcapWriter::create("/dev/full", {});
        const Bytes data = payload(64, 1);
        w.write(view(data, kTs));
    });
}

// RLIMIT_FSIZE makes a regular file "fill up" part-way through a write() without privileges:
// the kernel writes up to the limit, then fails with EFBIG (SIGXFSZ is ignored here).
class FileSizeLimit {
  public:
    explicit FileSizeLimit(rlim_t bytes) {
        old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &old_);
        rlimit r = old_;
        r.rlim_cur = bytes;
        ok_ = ::setrlimit(RLIMIT_FSIZE, &r) == 0;
    }
    ~FileSizeLimit() { lift(); }
    void lift() {
        if (lifted_) return;
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
        lifted_ = true;
    }
    bool ok() const { return ok_; }

  private:
    rlimit old_{};
    void (*old_handler_)(int) = SIG_DFL;
    bool ok_ = false;
    bool lifted_ = false;
};

// flush() under a file size limit of `bytes` fails with EFBIG, saying the file was cut back.
void expect_flush_cut_at_limit(PcapWriter& w, rlim_t bytes) {
    FileSizeLimit limit(bytes);
    ASSERT_TRUE(limit.ok());
    try {
        w.flush();
        ADD_FAILURE() << "flush past RLIMIT_FSIZE succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EFBIG);
        EXPECT_NE(e.hint().find("last whole record"), std::string::npos) << e.hint();
    }
}

TEST(PcapWriterErrors, PartialWriteCutsFileToLastWholeRecord) {
    TempDir dir;
    const std::string path = dir.file("full.pcap");
    // 30 records of 100 bytes (116 with header) = 3504 bytes with the file header, one buffer.
    std::vector<Record> records;
    for (int i = 0; i < 30; ++i) records.push_back({kTs + i * 1000, payload(100, i), 0});
    PcapWriter w = PcapWriter::create(path, {.buffer_size = 4096});
    write_all(w, records);
    EXPECT_EQ(fs::file_size(path), 0u);
    // 24 + 17 * 116 = 1996 <= 2000 < 24 + 18 * 116
    expect_flush_cut_at_limit(w, 2000);
    const std::uint64_t keep = 24 + 17 * 116;
    EXPECT_EQ(fs::file_size(path), keep);
    EXPECT_EQ(w.bytes_written(), keep);
    const std::vector<Record> first17(records.begin(), records.begin() + 17);
    EXPECT_EQ(read_all(path), expected_file({}, first17));
    const std::vector<Record> back = read_with_libpcap(path, TimestampPrecision::micro);
    EXPECT_EQ(back.size(), 17u);

    // Room again (the disk was cleaned up): later records follow the last whole one directly.
    const Record more{kTs + 99'000, payload(40, 99), 0};
    w.write(view(more.data, more.ts_ns));
    w.close();
    std::vector<Record> expected = first17;
    expected.push_back(more);
    EXPECT_EQ(w.bytes_written(), keep + 16 + 40);
    EXPECT_EQ(fs::file_size(path), keep + 16 + 40);
    EXPECT_TRUE(read_all(path) == expected_file({}, expected))
        << "the file is not the 17 kept records followed by the new one";
    EXPECT_EQ(read_with_libpcap(path, TimestampPrecision::micro).size(), 18u);
}

TEST(PcapWriterErrors, PartialWriteOfRunsCutsFileToLastWholeRecord) {
    TempDir dir;
    const std::string path = dir.file("runs-full.pcap");
    // Two runs of 20 records of 100 bytes (116 with header); the limit falls inside record 8 of
    // the second run: 24 + 27 * 116 = 3156 <= 3200 < 24 + 28 * 116.
    std::vector<Record> records;
    for (int i = 0; i < 40; ++i) records.push_back({kTs + i * 1000, payload(100, i), 0});
    const Bytes first = records_only({records.begin(), records.begin() + 20});
    const Bytes second = records_only({records.begin() + 20, records.end()});
    PcapWriter w = PcapWriter::create(path, {});
    w.flush();  // the file header
    w.write_records(as_span(first), 20);
    w.write_records(as_span(second), 20);
    expect_flush_cut_at_limit(w, 3200);
    const std::uint64_t keep = 24 + 27 * 116;
    EXPECT_EQ(fs::file_size(path), keep);
    EXPECT_EQ(w.bytes_written(), keep);
    EXPECT_EQ(w.file_size(), keep) << "the failed runs are still counted as waiting";
    const std::vector<Record> kept(records.begin(), records.begin() + 27);
    EXPECT_TRUE(read_all(path) == expected_file({}, kept));

    // Room again: the next run follows the last whole record directly.
    const Bytes last = records_only({records[39]});
    w.write_records(as_span(last), 1);
    w.close();
    std::vector<Record> expected = kept;
    expected.push_back(records[39]);
    EXPECT_TRUE(read_all(path) == expected_file({}, expected));
}

// RunWriter: the same records through the writer's thread, in batches and with back-pressure
// (many more bytes than kMaxBatches batches hold).
TEST(RunWriter, WritesEveryRunInOrder) {
    TempDir dir;
    const std::string path = dir.file("bg.pcap");
    std::vector<Record> all;
    for (int i = 0; i < 40'000; ++i) all.push_back({kTs + i * 1000, payload(60 + i % 1400, i), 0});
    const Bytes input = records_only(all);  // 29 MiB: ~29 batches
    PcapWriter w = PcapWriter::create(path, {});
    w.flush();
    {
        RunWriter bg(w);
        // Runs of 1..7 records cut from the input, as -r hands them over.
        std::size_t pos = 0, i = 0;
        for (int k = 0; i < all.size(); ++k) {
            const std::size_t n = std::min<std::size_t>(1 + k % 7, all.size() - i);
            std::size_t size = 0;
            for (std::size_t j = i; j < i + n; ++j) size += 16 + all[j].data.size();
            ASSERT_TRUE(bg.add({std::as_bytes(std::span(input.data() + pos, size)), n}));
            pos += size;
            i += n;
        }
        bg.finish();
    }
    EXPECT_EQ(w.records(), all.size());
    w.close();
    EXPECT_TRUE(read_all(path) == expected_file({}, all)) << "records out of order or changed";
}

TEST(RunWriter, WriteErrorStopsItAndFinishThrowsIt) {
    TempDir dir;
    const std::string path = dir.file("bg-full.pcap");
    std::vector<Record> all;
    // 11 MiB, more than the batches waiting can hold: add() must meet the failure.
    for (int i = 0; i < 100'000; ++i) all.push_back({kTs + i * 1000, payload(100, i), 0});
    const Bytes input = records_only(all);
    PcapWriter w = PcapWriter::create(path, {});
    w.flush();
    FileSizeLimit limit(24 + 5000 * 116 + 50);
    ASSERT_TRUE(limit.ok());
    int err = 0;
    std::size_t added = 0;
    RunWriter bg(w);
    try {
        for (; added < all.size(); ++added)
            if (!bg.add({std::as_bytes(std::span(input.data() + added * 116, 116)), 1})) break;
        bg.finish();
        ADD_FAILURE() << "no error past RLIMIT_FSIZE";
    } catch (const Error& e) {
        err = e.code().value();
    }
    limit.lift();
    EXPECT_EQ(err, EFBIG);
    EXPECT_LT(added, all.size()) << "add() did not report the failed write";
    EXPECT_NO_THROW(bg.finish()) << "the error is thrown once";
    const std::vector<Record> kept(all.begin(), all.begin() + 5000);
    EXPECT_EQ(fs::file_size(path), 24u + 5000 * 116);
    EXPECT_TRUE(read_all(path) == expected_file({}, kept));
}

TEST(PcapWriterErrors, PartialFileHeaderIsCutToEmpty) {
    TempDir dir;
    const std::string path = dir.file("hdr.pcap");
    PcapWriter w = PcapWriter::create(path, {});
    const Bytes data = payload(100, 1);
    w.write(view(data, kTs));
    {
        FileSizeLimit limit(10);  // not even the 24-byte file header fits
        ASSERT_TRUE(limit.ok());
        EXPECT_THROW(w.flush(), Error);
    }
    EXPECT_EQ(fs::file_size(path), 0u) << "a cut file header was left behind";
    EXPECT_EQ(w.bytes_written(), 0u);

    // Room again: the file written from here on still starts with its header.
    const Bytes more = payload(30, 2);
    w.write(view(more, kTs + 1));
    w.close();
    EXPECT_TRUE(read_all(path) == expected_file({}, {{kTs + 1, more, 0}}))
        << "the file does not start with the header followed by the new record";
    EXPECT_EQ(read_with_libpcap(path, TimestampPrecision::micro).size(), 1u);
}

}  // namespace
}  // namespace ringcap
