// PcapReader: files written by PcapWriter and hand-crafted ones (both magics, both byte orders)
// read back exactly; records larger than the buffer and records crossing buffer refills; pipes
// and fifos; and every kind of damage, which must throw with the file, the offset and the cause
// only after every whole record before it has been returned. FileParts: a file read in parts on
// several threads gives every record once, in order, even when guesses go wrong.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/pcap_writer.hpp>

#include "file/file_parts.hpp"
#include "temp_files.hpp"

namespace ringcap {
namespace {

namespace fs = std::filesystem;

using test::Bytes;
using test::payload;
using test::read_all;
using test::TempDir;
using test::view;

void write_file(const std::string& path, const Bytes& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

struct Record {
    std::int64_t ts_ns = 0;
    Bytes data;
    std::uint32_t wire_len = 0;
};

Record got(const PacketView& p) {
    const auto* d = reinterpret_cast<const std::uint8_t*>(p.data());
    return {p.ts_ns(), Bytes(d, d + p.caplen()), p.wire_len()};
}

// Reads to the clean end; fails the test on an error.
std::vector<Record> read_all_records(PcapReader& r) {
    std::vector<Record> out;
    while (auto p = r.next()) out.push_back(got(*p));
    return out;
}

void write_pcap(const std::string& path, const FileWriterOptions& o,
                const std::vector<Record>& records) {
    PcapWriter w = PcapWriter::create(path, o);
    for (const Record& r : records) w.write(view(r.data, r.ts_ns, r.wire_len));
    w.close();
}

std::int64_t stored_ts(std::int64_t ts_ns, TimestampPrecision p) {
    return p == TimestampPrecision::nano ? ts_ns : ts_ns / 1000 * 1000;
}

void expect_same(const std::vector<Record>& back, const std::vector<Record>& sent,
                 TimestampPrecision precision) {
    ASSERT_EQ(back.size(), sent.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
        EXPECT_EQ(back[i].ts_ns, stored_ts(sent[i].ts_ns, precision)) << "record " << i;
        EXPECT_TRUE(back[i].data == sent[i].data) << "record " << i << " bytes differ";
        const std::uint32_t wire =
            sent[i].wire_len ? sent[i].wire_len : static_cast<std::uint32_t>(sent[i].data.size());
        EXPECT_EQ(back[i].wire_len, wire) << "record " << i;
    }
}

// Hand-made files, in either byte order.
struct RawRecord {
    std::uint32_t ts_sec;
    std::uint32_t ts_frac;
    std::uint32_t caplen;
    std::uint32_t len;
    Bytes data;  // caplen bytes, or fewer to cut the file short
};

class RawFile {
  public:
    RawFile(std::uint32_t magic, bool swap, std::uint32_t snaplen, std::uint32_t link_type)
        : swap_(swap) {
        put32(magic);
        put16(2);
        put16(4);
        put32(0);
        put32(0);
        put32(snaplen);
        put32(link_type);
    }
    // Returns the offset of the record.
    std::size_t add(const RawRecord& r) {
        const std::size_t off = bytes.size();
        put32(r.ts_sec);
        put32(r.ts_frac);
        put32(r.caplen);
        put32(r.len);
        bytes.insert(bytes.end(), r.data.begin(), r.data.end());
        return off;
    }
    Bytes bytes;

  private:
    void put32(std::uint32_t v) {
        if (swap_) v = __builtin_bswap32(v);
        const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
        bytes.insert(bytes.end(), p, p + 4);
    }
    void put16(std::uint16_t v) {
        if (swap_) v = __builtin_bswap16(v);
        const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
        bytes.insert(bytes.end(), p, p + 2);
    }
    bool swap_;
};

RawRecord raw(std::uint32_t sec, std::uint32_t frac, std::size_t caplen, unsigned seed,
              std::uint32_t len = 0) {
    return {sec, frac, static_cast<std::uint32_t>(caplen),
            len ? len : static_cast<std::uint32_t>(caplen), payload(caplen, seed)};
}

// Runs `f`, which must throw ringcap::Error with `err`, and checks the message holds each part.
void expect_error(const std::function<void()>& f, int err,
                  std::initializer_list<std::string> parts) {
    try {
        f();
        ADD_FAILURE() << "no exception; expected errno " << err;
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), err) << e.what();
        const std::string what = e.what();
        for (const std::string& part : parts)
            EXPECT_NE(what.find(part), std::string::npos)
                << "message '" << what << "' lacks '" << part << "'";
    }
}

std::size_t open_fds() {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{}));
}

constexpr std::int64_t kTs = 1'700'000'000'123'456'789;

// ---------------------------------------------------------------------------------------------
// Round trips through PcapWriter.

class PcapReaderRoundTrip : public ::testing::TestWithParam<TimestampPrecision> {};

TEST_P(PcapReaderRoundTrip, ReadsBackWhatPcapWriterWrote) {
    const TimestampPrecision precision = GetParam();
    TempDir dir;
    const std::string path = dir.file("rt.pcap");
    const std::vector<Record> sent = {
        {kTs, payload(60, 1), 0},
        {kTs + 1, payload(1514, 2), 0},
        {kTs + 999'999'999, payload(96, 3), 1514},         // cut by the snaplen
        {0, payload(14, 4), 0},                            // the epoch
        {kTs + 5'000'000'000, payload(0, 5), 60},          // no bytes at all
        {4'000'000'000'999'999'999, payload(9000, 6), 0},  // after 2038: ts_sec is unsigned
    };
    const FileWriterOptions o{
        .link_type = LinkType::linux_sll2, .snaplen = 65535, .precision = precision};
    write_pcap(path, o, sent);

    PcapReader r = PcapReader::open(path);
    EXPECT_EQ(r.info().link_type, 276u);
    EXPECT_EQ(r.info().snaplen, 65535u);
    EXPECT_EQ(r.info().precision, precision);
    EXPECT_FALSE(r.info().swapped);
    EXPECT_EQ(r.records(), 0u);
    EXPECT_EQ(r.offset(), 24u);

    std::vector<Record> back;
    std::uint64_t offset = 24;
    for (std::size_t i = 0; i < sent.size(); ++i) {
        const std::optional<PacketView> p = r.next();
        ASSERT_TRUE(p) << "record " << i;
        EXPECT_EQ(p->ifindex(), 0);
        EXPECT_EQ(p->pkttype(), kPacketTypeUnknown);  // pcap does not say
        EXPECT_EQ(p->status(), 0u);
        EXPECT_EQ(p->caplen(), sent[i].data.size());
        back.push_back(got(*p));
        offset += 16 + sent[i].data.size();
        EXPECT_EQ(r.records(), i + 1);
        EXPECT_EQ(r.offset(), offset);
    }
    EXPECT_FALSE(r.next());
    EXPECT_FALSE(r.next()) << "the end of the file stays the end";
    EXPECT_EQ(r.records(), sent.size());
    EXPECT_EQ(r.offset(), fs::file_size(path));
    expect_same(back, sent, precision);
}

TEST_P(PcapReaderRoundTrip, HeaderOnlyFileHasNoRecords) {
    TempDir dir;
    const std::string path = dir.file("empty.pcap");
    write_pcap(path, {.precision = GetParam()}, {});
    PcapReader r = PcapReader::open(path);
    EXPECT_EQ(r.info().link_type, 1u);
    EXPECT_EQ(r.info().snaplen, kDefaultSnaplen);
    EXPECT_EQ(r.info().precision, GetParam());
    EXPECT_FALSE(r.next());
    EXPECT_EQ(r.records(), 0u);
    EXPECT_EQ(r.offset(), 24u);
}

INSTANTIATE_TEST_SUITE_P(Pcap, PcapReaderRoundTrip,
                         ::testing::Values(TimestampPrecision::micro, TimestampPrecision::nano),
                         [](const auto& info) {
                             return info.param == TimestampPrecision::nano ? "nano" : "micro";
                         });

// ---------------------------------------------------------------------------------------------
// Hand-crafted files: all four magics.

struct MagicCase {
    const char* name;
    std::uint32_t magic;
    bool swap;  // write every field in the other byte order
    TimestampPrecision precision;
};

class PcapReaderMagic : public ::testing::TestWithParam<MagicCase> {};

TEST_P(PcapReaderMagic, DecodesHeaderAndRecords) {
    const MagicCase& c = GetParam();
    const bool nano = c.precision == TimestampPrecision::nano;
    TempDir dir;
    const std::string path = dir.file("m.pcap");
    RawFile f(c.magic, c.swap, 0x00012345, 0x00000071);
    f.add(raw(1'700'000'000, nano ? 123'456'789 : 123'456, 60, 1));
    f.add(raw(0xfffffffe, nano ? 999'999'999 : 999'999, 1000, 2, 0x01020304));
    f.add(raw(7, 0, 0, 3, 64));
    f.add(raw(8, 1, 200, 4, 100));  // caplen > len: accepted, as libpcap does
    write_file(path, f.bytes);

    PcapReader r = PcapReader::open(path);
    EXPECT_EQ(r.info().link_type, 0x71u);
    EXPECT_EQ(r.info().snaplen, 0x12345u);
    EXPECT_EQ(r.info().precision, c.precision);
    EXPECT_EQ(r.info().swapped, c.swap);

    const std::vector<Record> back = read_all_records(r);
    ASSERT_EQ(back.size(), 4u);
    const std::int64_t unit = nano ? 1 : 1000;
    EXPECT_EQ(back[0].ts_ns, 1'700'000'000'000'000'000 + (nano ? 123'456'789 : 123'456) * unit);
    EXPECT_EQ(back[0].data, payload(60, 1));
    EXPECT_EQ(back[0].wire_len, 60u);
    EXPECT_EQ(back[1].ts_ns,
              std::int64_t{0xfffffffe} * 1'000'000'000 + (nano ? 999'999'999 : 999'999) * unit);
    EXPECT_EQ(back[1].data, payload(1000, 2));
    EXPECT_EQ(back[1].wire_len, 0x01020304u);
    EXPECT_EQ(back[2].ts_ns, 7'000'000'000);
    EXPECT_TRUE(back[2].data.empty());
    EXPECT_EQ(back[2].wire_len, 64u);
    EXPECT_EQ(back[3].ts_ns, 8'000'000'000 + unit);
    EXPECT_EQ(back[3].data, payload(200, 4));
    EXPECT_EQ(back[3].wire_len, 100u);
    EXPECT_EQ(r.offset(), f.bytes.size());
}

// clang-format off
const MagicCase kMagics[] = {
    {"micro_native", 0xa1b2c3d4, false, TimestampPrecision::micro},
    {"nano_native", 0xa1b23c4d, false, TimestampPrecision::nano},
    {"micro_swapped", 0xa1b2c3d4, true, TimestampPrecision::micro},
    {"nano_swapped", 0xa1b23c4d, true, TimestampPrecision::nano},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Pcap, PcapReaderMagic, ::testing::ValuesIn(kMagics),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Buffering: large records, many records crossing refills.

TEST(PcapReader, RecordsLargerThanTheBufferUpToTheLimit) {
    TempDir dir;
    const std::string path = dir.file("big.pcap");
    // With a huge snaplen the limit is 16 MiB.
    const std::vector<Record> sent = {
        {kTs, payload(100, 1), 0},
        {kTs + 1000, payload((1u << 20) + 1, 2), 0},  // just over the 1 MiB buffer
        {kTs + 2000, payload(60, 3), 0},
        {kTs + 3000, payload(3u << 20, 4), 0},
        {kTs + 4000, payload(PcapReader::kMaxCaplen, 5), 0},  // exactly the limit
        {kTs + 5000, payload(1514, 6), 0},
        {kTs + 6000, payload((1u << 20) - 16, 7), 0},  // record exactly 1 MiB with its header
    };
    write_pcap(path, {.snaplen = 0xffffffff}, sent);
    PcapReader r = PcapReader::open(path);
    EXPECT_EQ(r.info().snaplen, 0xffffffffu);
    expect_same(read_all_records(r), sent, TimestampPrecision::micro);
    EXPECT_EQ(r.offset(), fs::file_size(path));
}

TEST(PcapReader, SnaplenRaisesTheLimitAbove256KiB) {
    TempDir dir;
    const std::string path = dir.file("snap.pcap");
    const std::vector<Record> sent = {{kTs, payload(2u << 20, 1), 0}, {kTs, payload(10, 2), 0}};
    write_pcap(path, {.snaplen = 2u << 20}, sent);
    PcapReader r = PcapReader::open(path);
    expect_same(read_all_records(r), sent, TimestampPrecision::micro);
}

TEST(PcapReader, SmallSnaplenStillAllows256KiB) {
    // Like libpcap: a caplen above the file's snaplen but within the sane maximum is a packet.
    TempDir dir;
    const std::string path = dir.file("small.pcap");
    const std::vector<Record> sent = {{kTs, payload(262144, 1), 0}, {kTs, payload(10, 2), 0}};
    write_pcap(path, {.snaplen = 96}, sent);
    PcapReader r = PcapReader::open(path);
    expect_same(read_all_records(r), sent, TimestampPrecision::micro);
}

TEST(PcapReader, ManyRecordsCrossingBufferRefillsComeBackInOrder) {
    TempDir dir;
    const std::string path = dir.file("many.pcap");
    std::mt19937 rng(12345);
    std::uniform_int_distribution<std::size_t> size(60, 9000);
    std::vector<Record> sent;
    std::size_t total = 24;
    while (total < (5u << 20)) {
        const std::size_t n = size(rng);
        sent.push_back({kTs + static_cast<std::int64_t>(sent.size()) * 1'234'567,
                        payload(n, static_cast<unsigned>(sent.size())),
                        static_cast<std::uint32_t>(n + sent.size() % 5)});
        total += 16 + n;
    }
    write_pcap(path, {.precision = TimestampPrecision::nano}, sent);
    ASSERT_EQ(fs::file_size(path), total);

    PcapReader r = PcapReader::open(path);
    std::vector<Record> back;
    std::uint64_t offset = 24;
    while (auto p = r.next()) {
        back.push_back(got(*p));
        offset += 16 + p->caplen();
        ASSERT_EQ(r.offset(), offset);
    }
    EXPECT_EQ(r.records(), sent.size());
    expect_same(back, sent, TimestampPrecision::nano);
}

TEST(PcapReader, MovedReaderKeepsReading) {
    TempDir dir;
    const std::string path = dir.file("mv.pcap");
    const std::vector<Record> sent = {{kTs, payload(10, 1), 0}, {kTs + 1000, payload(20, 2), 0}};
    write_pcap(path, {}, sent);
    PcapReader a = PcapReader::open(path);
    ASSERT_TRUE(a.next());
    PcapReader b = std::move(a);
    EXPECT_EQ(b.records(), 1u);
    const std::optional<PacketView> p = b.next();
    ASSERT_TRUE(p);
    EXPECT_EQ(got(*p).data, payload(20, 2));
    EXPECT_FALSE(b.next());
    expect_error([&] { (void)a.next(); }, EBADF, {"moved-from"});

    PcapReader c = PcapReader::open(path);
    c = std::move(b);
    EXPECT_EQ(c.records(), 2u);
    EXPECT_FALSE(c.next());
}

TEST(PcapReader, ClosesTheFileItOpened) {
    TempDir dir;
    const std::string path = dir.file("c.pcap");
    write_pcap(path, {}, {{kTs, payload(10, 1), 0}});
    const std::size_t before = open_fds();
    {
        PcapReader r = PcapReader::open(path);
        EXPECT_EQ(open_fds(), before + 1);
        EXPECT_TRUE(r.next());
    }
    EXPECT_EQ(open_fds(), before) << "the destructor left the file open";
    expect_error([&] { PcapReader::open(dir.file("missing.pcap")); }, ENOENT, {"missing.pcap"});
    EXPECT_EQ(open_fds(), before);
    std::ofstream(dir.file("text")) << "plain text, not a capture";
    expect_error([&] { PcapReader::open(dir.file("text")); }, EINVAL,
                 {"not a pcap or pcapng file"});
    EXPECT_EQ(open_fds(), before) << "a failed open left the file open";
}

// ---------------------------------------------------------------------------------------------
// Pipes and fifos: short reads, and records handed out as soon as they are whole.

// Writes `bytes` to `fd` in chunks of `chunk`, then closes it. EPIPE (reader gone) ends it.
void feed(int fd, const Bytes& bytes, std::size_t chunk) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, std::min(chunk, bytes.size() - done));
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (!(n == -1 && errno == EINTR)) {
            break;
        }
    }
    ::close(fd);
}

// Points standard input at another fd for the lifetime of the object.
class StdinRedirect {
  public:
    explicit StdinRedirect(int fd) : saved_(::dup(STDIN_FILENO)) {
        if (saved_ == -1 || ::dup2(fd, STDIN_FILENO) == -1)
            throw std::runtime_error("stdin redirect failed");
    }
    ~StdinRedirect() {
        ::dup2(saved_, STDIN_FILENO);
        ::close(saved_);
    }

  private:
    int saved_;
};

std::vector<Record> mixed_records(std::size_t n) {
    std::vector<Record> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back({kTs + static_cast<std::int64_t>(i) * 1000,
                       payload(60 + (i * 977) % 9000, static_cast<unsigned>(i)), 0});
    return out;
}

// What -r uses to read a big file in parts: a guessed boundary, then a reader of one range.
TEST(PcapReader, PartsOfAFileReadFromGuessedBoundaries) {
    TempDir dir;
    const std::string path = dir.file("parts.pcap");
    const std::vector<Record> sent = mixed_records(40);
    write_pcap(path, {}, sent);
    std::vector<std::uint64_t> boundaries = {24};
    for (const Record& r : sent) boundaries.push_back(boundaries.back() + 16 + r.data.size());

    PcapReader r = PcapReader::open(path);
    EXPECT_EQ(r.mapped_size(), boundaries.back());
    // From a boundary, that boundary. From inside a record, some later offset: a guess, which
    // these payloads fool (the bytes of record 10 hold four header-like runs), hence the proof
    // -r asks for before it uses a part.
    EXPECT_EQ(r.likely_record_at(boundaries[10]), boundaries[10]);
    const std::optional<std::uint64_t> guess = r.likely_record_at(boundaries[10] + 1);
    ASSERT_TRUE(guess);
    EXPECT_GT(*guess, boundaries[10]);
    EXPECT_EQ(r.likely_record_at(boundaries[38]), std::nullopt) << "fewer than four records left";

    r.seek(boundaries[10], 10);
    r.stop_at(boundaries[20]);
    const std::vector<Record> range = read_all_records(r);
    expect_same(range, {sent.begin() + 10, sent.begin() + 20}, TimestampPrecision::micro);
    EXPECT_EQ(r.records(), 20u);
    EXPECT_EQ(r.offset(), boundaries[20]);
    r.stop_at(~std::uint64_t{0});
    EXPECT_EQ(read_all_records(r).size(), 20u);

    PcapReader streamed = PcapReader::open(path, ReadMode::stream);
    EXPECT_EQ(streamed.mapped_size(), 0u);
    EXPECT_EQ(streamed.likely_record_at(boundaries[10]), std::nullopt);
    EXPECT_THROW(streamed.seek(boundaries[10], 10), Error);
}

// Reads to the reader's (stop_at) end; each record's bytes, header first, appended to `out`.
// Returns how many passed `filter`.
std::uint64_t append_records(PcapReader& r, Bytes& out, const Filter* filter) {
    std::uint64_t matched = 0;
    while (auto p = r.next()) {
        if (filter && !filter->matches(*p)) continue;
        const auto* record = reinterpret_cast<const std::uint8_t*>(p->data()) - 16;
        out.insert(out.end(), record, record + 16 + p->caplen());
        ++matched;
    }
    return matched;
}

// What -r does with a big file: the first part here, the others on FileParts' threads, then on
// from where the proved parts end. Every matching record comes out once, in file order.
// Returns whether every part was proved (the caller had nothing left to read).
bool expect_parts_read_like_one_reader(const std::string& path, std::size_t count,
                                       const Filter* filter, bool every_guess_holds) {
    PcapReader one = PcapReader::open(path);
    Bytes want;
    const std::uint64_t want_matched = append_records(one, want, filter);

    PcapReader r = PcapReader::open(path);
    FileParts parts(r, count, filter, StopToken{});
    r.stop_at(parts.first_end());
    Bytes out;
    std::uint64_t matched = append_records(r, out, filter);
    EXPECT_LT(r.offset(), r.mapped_size()) << "the first part is the whole file";
    const FileParts::Resume at = parts.follow(r.offset(), r.records(), [&](const RecordRun& run) {
        const auto* b = reinterpret_cast<const std::uint8_t*>(run.bytes.data());
        out.insert(out.end(), b, b + run.bytes.size());
    });
    const bool all_proved = at.offset == r.mapped_size();
    if (every_guess_holds) {
        EXPECT_TRUE(all_proved) << "a part was not proved";
        EXPECT_EQ(at.records, one.records());
    }
    matched += at.matched;
    r.stop_at(~std::uint64_t{0});
    r.seek(at.offset, at.records);
    matched += append_records(r, out, filter);
    EXPECT_EQ(r.records(), one.records());
    EXPECT_EQ(matched, want_matched);
    EXPECT_TRUE(out == want) << out.size() << " bytes, want " << want.size();
    return all_proved;
}

TEST(FileParts, EveryRecordOnceInOrderFromProvedParts) {
    TempDir dir;
    const std::string path = dir.file("parts.pcap");
    // Payload bytes that never look like a record header (0xeeeeeeee is no length): every
    // guessed boundary is a true one.
    std::vector<Record> sent;
    for (std::size_t i = 0; i < 3000; ++i)
        sent.push_back(
            {kTs + static_cast<std::int64_t>(i) * 1000, Bytes(60 + (i * 977) % 1455, 0xee), 0});
    write_pcap(path, {}, sent);
    for (std::size_t count : {1, 3, 7}) {
        SCOPED_TRACE(count);
        expect_parts_read_like_one_reader(path, count, nullptr, true);
        const Filter big = Filter::compile("len > 1000", LinkType::ethernet, kDefaultSnaplen);
        expect_parts_read_like_one_reader(path, count, &big, true);
    }
}

TEST(FileParts, WrongGuessesAreReadByTheCallerInstead) {
    TempDir dir;
    const std::string path = dir.file("fooled.pcap");
    // Every payload is a chain of fake 32-byte records (a sane header and 16 bytes), so a guess
    // that lands inside a packet finds a false boundary there; the first record is 100 bytes
    // long so that no guess lands on a true boundary by the file's arithmetic alone.
    Bytes fake(32, 0);
    const std::uint32_t fake_header[4] = {1'700'000'000, 5, 16, 16};
    std::memcpy(fake.data(), fake_header, sizeof fake_header);
    std::vector<Record> sent;
    for (std::size_t i = 0; i < 500; ++i) {
        Bytes data;
        for (std::size_t k = 0; k < (i == 0 ? 3 : i % 7 == 0 ? 19 : 31); ++k)
            data.insert(data.end(), fake.begin(), fake.end());
        if (i == 0) data.resize(100);
        sent.push_back({kTs + static_cast<std::int64_t>(i) * 1000, data, 0});
    }
    write_pcap(path, {}, sent);
    std::size_t fooled = 0;
    for (std::size_t count : {1, 2, 3, 5, 7}) {
        SCOPED_TRACE(count);
        if (!expect_parts_read_like_one_reader(path, count, nullptr, false)) ++fooled;
    }
    EXPECT_GT(fooled, 0u) << "no guess went wrong: the test shows nothing";
}

TEST(PcapReader, RewindReadsTheSameRecordsAgain) {
    TempDir dir;
    const std::string path = dir.file("loop.pcap");
    const std::vector<Record> sent = mixed_records(50);
    write_pcap(path, {}, sent);
    PcapReader r = PcapReader::open(path);
    ASSERT_TRUE(r.next());
    ASSERT_TRUE(r.next());  // part-way through ...
    ASSERT_TRUE(r.rewind());
    EXPECT_EQ(r.records(), 0u);
    EXPECT_EQ(r.offset(), 24u);
    for (int pass = 0; pass < 3; ++pass) {  // ... and at the end, twice
        expect_same(read_all_records(r), sent, TimestampPrecision::micro);
        EXPECT_EQ(r.records(), sent.size());
        ASSERT_TRUE(r.rewind());
    }
    // A stream cannot go back: rewind() says so and the reader carries on where it was.
    PcapReader streamed = PcapReader::open(path, ReadMode::stream);
    ASSERT_TRUE(streamed.next());
    EXPECT_FALSE(streamed.rewind());
    EXPECT_EQ(streamed.records(), 1u);
    EXPECT_EQ(read_all_records(streamed).size(), sent.size() - 1);
}

TEST(PcapReader, ReadsStandardInputFromAPipe) {
    std::signal(SIGPIPE, SIG_IGN);
    TempDir dir;
    const std::string path = dir.file("src.pcap");
    const std::vector<Record> sent = mixed_records(600);  // ~2.7 MB, several buffer refills
    write_pcap(path, {.precision = TimestampPrecision::nano}, sent);
    const Bytes bytes = read_all(path);

    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::vector<Record> back;
    std::string error;
    PcapFileInfo info;
    std::thread writer(feed, p[1], std::cref(bytes), 4093);  // odd chunks: records cut anywhere
    {
        StdinRedirect redirect(p[0]);
        ::close(p[0]);
        try {
            PcapReader r = PcapReader::open("-");
            info = r.info();
            back = read_all_records(r);
        } catch (const std::exception& e) {
            error = e.what();
        }
        EXPECT_NE(::fcntl(STDIN_FILENO, F_GETFD), -1) << "the reader closed standard input";
    }  // the pipe's read end closes here, so a stuck writer gets EPIPE
    writer.join();
    ASSERT_EQ(error, "");
    EXPECT_EQ(info.precision, TimestampPrecision::nano);
    expect_same(back, sent, TimestampPrecision::nano);
}

TEST(PcapReader, HandsOutEachRecordAsSoonAsItIsWhole) {
    // A live pipe (tcpdump -w - | ...): next() must not wait for the buffer to fill.
    TempDir dir;
    const std::string path = dir.file("src.pcap");
    const std::vector<Record> sent = mixed_records(3);
    write_pcap(path, {}, sent);
    const Bytes bytes = read_all(path);
    const std::size_t r1 = 24 + 16 + sent[0].data.size();
    const std::size_t r2 = r1 + 16 + sent[1].data.size();

    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    ASSERT_GT(::fcntl(p[1], F_GETPIPE_SZ), static_cast<int>(bytes.size()));
    ASSERT_EQ(::write(p[1], bytes.data(), r1), static_cast<ssize_t>(r1));
    StdinRedirect redirect(p[0]);
    ::close(p[0]);
    PcapReader r = PcapReader::open("-");
    ASSERT_TRUE(r.next());
    // The second record arrives in two pieces, its header cut in the middle.
    ASSERT_EQ(::write(p[1], bytes.data() + r1, 8), 8);
    ASSERT_EQ(::write(p[1], bytes.data() + r1 + 8, r2 - r1 - 8), static_cast<ssize_t>(r2 - r1 - 8));
    std::optional<PacketView> second = r.next();
    ASSERT_TRUE(second);
    EXPECT_EQ(got(*second).data, sent[1].data);
    ASSERT_EQ(::write(p[1], bytes.data() + r2, bytes.size() - r2),
              static_cast<ssize_t>(bytes.size() - r2));
    ::close(p[1]);
    std::optional<PacketView> third = r.next();
    ASSERT_TRUE(third);
    EXPECT_EQ(got(*third).data, sent[2].data);
    EXPECT_FALSE(r.next());
    EXPECT_EQ(r.records(), 3u);
}

TEST(PcapReader, ReadsAFifo) {
    std::signal(SIGPIPE, SIG_IGN);
    TempDir dir;
    const std::string path = dir.file("src.pcap");
    const std::vector<Record> sent = mixed_records(400);
    write_pcap(path, {}, sent);
    const Bytes bytes = read_all(path);
    const std::string fifo = dir.file("fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);

    std::thread writer([&] {
        const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // waits for the reader
        if (fd >= 0) feed(fd, bytes, 65536 + 7);
    });
    std::vector<Record> back;
    std::string error;
    try {
        PcapReader r = PcapReader::open(fifo);
        back = read_all_records(r);
    } catch (const std::exception& e) {
        error = e.what();
    }
    writer.join();
    ASSERT_EQ(error, "");
    expect_same(back, sent, TimestampPrecision::micro);
}

// ---------------------------------------------------------------------------------------------
// Damage: open() refuses what is not a pcap file; next() delivers every whole record, then throws.

TEST(PcapReader, MissingFileIsENOENTWithThePath) {
    TempDir dir;
    const std::string path = dir.file("no-such.pcap");
    expect_error([&] { PcapReader::open(path); }, ENOENT, {"cannot open", path});
}

TEST(PcapReader, EmptyFile) {
    TempDir dir;
    const std::string path = dir.file("empty");
    write_file(path, {});
    expect_error([&] { PcapReader::open(path); }, EINVAL, {path, "empty", "0 bytes"});
}

TEST(PcapReader, TenByteFileIsATruncatedHeader) {
    TempDir dir;
    const std::string path = dir.file("ten");
    Bytes b = RawFile(0xa1b2c3d4, false, 65535, 1).bytes;
    b.resize(10);
    write_file(path, b);
    expect_error([&] { PcapReader::open(path); }, EINVAL,
                 {path, "truncated pcap file header", "10 of 24 bytes"});
}

TEST(PcapReader, ThreeByteFileIsATruncatedHeader) {
    TempDir dir;
    const std::string path = dir.file("three");
    write_file(path, {0xd4, 0xc3, 0xb2});
    expect_error([&] { PcapReader::open(path); }, EINVAL,
                 {path, "truncated pcap file header", "3 of 24 bytes"});
}

TEST(PcapReader, TextFileIsNotAPcapFile) {
    TempDir dir;
    const std::string path = dir.file("notes.txt");
    std::ofstream(path) << "hello, this is a text file and certainly not a capture\n";
    expect_error([&] { PcapReader::open(path); }, EINVAL,
                 {path, "not a pcap or pcapng file", "68 65 6c 6c"});
    // Too short for a header, but the magic already says it is not pcap.
    std::ofstream(path, std::ios::trunc) << "hello\n";
    expect_error([&] { PcapReader::open(path); }, EINVAL, {path, "not a pcap or pcapng file"});
}

// A file of three whole records followed by `tail` (the damaged part).
struct Damaged {
    Bytes bytes;
    std::size_t bad_offset;
    std::vector<Record> whole;
};

Damaged three_records_then(bool swap, const std::function<void(RawFile&)>& tail) {
    RawFile f(0xa1b2c3d4, swap, 65535, 1);
    Damaged d;
    const std::size_t sizes[3] = {100, 1514, 60};
    for (unsigned i = 0; i < 3; ++i) {
        f.add(raw(1000 + i, 500, sizes[i], i));
        d.whole.push_back({(1000 + i) * 1'000'000'000LL + 500'000, payload(sizes[i], i), 0});
    }
    d.bad_offset = f.bytes.size();
    tail(f);
    d.bytes = f.bytes;
    return d;
}

// Reads every whole record, then expects the error; calling again throws the same error.
void expect_damage(const Damaged& d, std::initializer_list<std::string> parts) {
    TempDir dir;
    const std::string path = dir.file("bad.pcap");
    write_file(path, d.bytes);
    PcapReader r = PcapReader::open(path);
    std::vector<Record> back;
    for (std::size_t i = 0; i < d.whole.size(); ++i) {
        std::optional<PacketView> p = r.next();
        ASSERT_TRUE(p) << "record " << i;
        back.push_back(got(*p));
    }
    expect_same(back, d.whole, TimestampPrecision::micro);
    std::vector<std::string> all = {path, "record at offset " + std::to_string(d.bad_offset)};
    all.insert(all.end(), parts);
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            (void)r.next();
            ADD_FAILURE() << "no exception at offset " << d.bad_offset;
        } catch (const Error& e) {
            EXPECT_EQ(e.code().value(), EINVAL) << e.what();
            const std::string what = e.what();
            for (const std::string& part : all)
                EXPECT_NE(what.find(part), std::string::npos)
                    << "message '" << what << "' lacks '" << part << "'";
        }
        EXPECT_EQ(r.records(), d.whole.size());
        EXPECT_EQ(r.offset(), d.bad_offset);
    }
}

class PcapReaderDamage : public ::testing::TestWithParam<bool> {};  // swapped file?

TEST_P(PcapReaderDamage, TruncatedLastRecord) {
    expect_damage(three_records_then(GetParam(),
                                     [](RawFile& f) {
                                         RawRecord r = raw(2000, 0, 1514, 9);
                                         r.data.resize(200);
                                         f.add(r);
                                     }),
                  {"header says 1514 bytes, 200 present"});
}

TEST_P(PcapReaderDamage, TruncatedRecordHeader) {
    expect_damage(three_records_then(GetParam(),
                                     [](RawFile& f) {
                                         f.add(raw(2000, 0, 60, 9));
                                         f.bytes.resize(f.bytes.size() - 60 - 9);  // 7 bytes left
                                     }),
                  {"truncated record header", "7 of 16 bytes"});
}

TEST_P(PcapReaderDamage, AbsurdCaplen) {
    expect_damage(three_records_then(GetParam(),
                                     [](RawFile& f) {
                                         RawRecord r = raw(2000, 0, 100, 9);
                                         r.caplen = 0xffffffff;
                                         f.add(r);
                                     }),
                  {"caplen 4294967295", "absurd"});
}

TEST_P(PcapReaderDamage, CaplenJustOverTheLimit) {
    // snaplen 65535: the limit is 262144.
    expect_damage(
        three_records_then(GetParam(), [](RawFile& f) { f.add(raw(2000, 0, 262145, 9)); }),
        {"caplen 262145", "262144"});
}

INSTANTIATE_TEST_SUITE_P(Pcap, PcapReaderDamage, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "swapped" : "native"; });

// Damage after whole records that went through the buffer several times (~2.9 MiB of them):
// the offset must count every byte that was consumed across the refills.
Damaged many_records_then(const std::function<void(RawFile&)>& tail) {
    RawFile f(0xa1b2c3d4, false, 16u << 20, 1);
    Damaged d;
    for (unsigned i = 0; i < 40; ++i) {
        const std::size_t n = 50000 + i * 1111;
        f.add(raw(10, i, n, i));
        d.whole.push_back({10'000'000'000LL + i * 1000LL, payload(n, i), 0});
    }
    d.bad_offset = f.bytes.size();
    tail(f);
    d.bytes = f.bytes;
    return d;
}

TEST(PcapReader, TruncatedBigRecordAfterRefills) {
    // A 3 MiB record (bigger than the buffer) cut at 2.5 MiB.
    expect_damage(many_records_then([](RawFile& f) {
                      RawRecord big = raw(11, 0, 3u << 20, 99);
                      big.data.resize(5u << 19);
                      f.add(big);
                  }),
                  {"header says 3145728 bytes, 2621440 present"});
}

TEST(PcapReader, AbsurdCaplenAfterRefills) {
    expect_damage(many_records_then([](RawFile& f) {
                      f.bytes.insert(f.bytes.end(), 3u << 20, 0xee);  // reads as caplen 0xeeeeeeee
                  }),
                  {"caplen 4008636142", "absurd"});
}

TEST(PcapReader, CaplenOverSixteenMiBIsAbsurdWhateverTheSnaplen) {
    RawFile f(0xa1b2c3d4, false, 0xffffffff, 1);
    f.add(raw(1, 0, 10, 1));
    const std::size_t bad = f.add({1, 0, PcapReader::kMaxCaplen + 1, 100, {}});
    TempDir dir;
    const std::string path = dir.file("huge.pcap");
    write_file(path, f.bytes);
    PcapReader r = PcapReader::open(path);
    ASSERT_TRUE(r.next());
    expect_error([&] { (void)r.next(); }, EINVAL,
                 {"record at offset " + std::to_string(bad), "caplen 16777217", "absurd"});
}

}  // namespace
}  // namespace ringcap
