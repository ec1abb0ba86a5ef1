#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

#include <ringcap/error.hpp>
#include <ringcap/pcap_reader.hpp>

#include "file/format.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"

namespace ringcap {
namespace {

using namespace format;
constexpr std::size_t kGrowStep = 64u << 10;
constexpr std::size_t kPrefetchDistance = 8192;

std::uint32_t load32(const std::byte* p, bool swapped) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

std::uint16_t load16(const std::byte* p, bool swapped) noexcept {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return swapped ? __builtin_bswap16(v) : v;
}

// An interface's timestamp units to ns since the epoch: (ts * mul / div) or (ts * 1e9) >> shift,
// plus if_tsoffset seconds.
struct TsScale {
    std::uint64_t mul = 1000, div = 1;
    int shift = -1;  // >= 0: binary resolution 2^-shift
    std::int64_t offset_ns = 0;

    static TsScale from(std::uint8_t tsresol) noexcept {
        TsScale t;
        if (tsresol & 0x80) {
            t.shift = std::min(tsresol & 0x7f, 63);
            return t;
        }
        std::uint64_t p = 1;
        const int v = std::min<int>(tsresol, 19);
        for (int i = 0; i < std::abs(9 - v); ++i) p *= 10;
        t.mul = v <= 9 ? p : 1;
        t.div = v <= 9 ? 1 : p;
        return t;
    }
    std::int64_t ns(std::uint64_t ts) const noexcept {
        const unsigned __int128 wide =
            shift >= 0 ? (static_cast<unsigned __int128>(ts) * 1'000'000'000u) >> shift
                       : static_cast<unsigned __int128>(ts) * mul / div;
        // Hostile values wrap (defined for unsigned) instead of overflowing.
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(wide) +
                                         static_cast<std::uint64_t>(offset_ns));
    }
};

// Calls f(code, value, length) for each option in [p, p + n), stopping at opt_endofopt or at the
// first option that runs past the end (options are advisory: a bad one is ignored, not fatal).
template <class F>
void for_each_option(const std::byte* p, std::size_t n, bool swapped, F f) {
    std::size_t pos = 0;
    while (pos + 4 <= n) {
        const std::uint16_t code = load16(p + pos, swapped), len = load16(p + pos + 2, swapped);
        if (code == kOptEnd || pos + 4 + len > n) return;
        f(code, p + pos + 4, len);
        pos += 4 + pad4(len);
    }
}

std::string hex_bytes(const std::byte* p, std::size_t n) {
    std::string out;
    char b[4];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>(p[i]));
        if (i) out += ' ';
        out += b;
    }
    return out;
}

}  // namespace

struct PcapReader::State {
    sys::Fd owned;  // empty for standard input, which the reader does not close
    int fd = -1;
    std::string path;  // as opened ("-": standard input)
    std::string name;  // "'path'" or "standard input", for messages
    std::unique_ptr<std::byte[]> buf;
    sys::Mapping map;                 // a regular file is mapped whole: no read() copy per record
    const std::byte* base = nullptr;  // buf or the mapping
    std::size_t capacity = 0;
    std::size_t pos = 0;         // first unconsumed byte
    std::size_t end = 0;         // one past the last byte read
    std::size_t prefetched = 0;  // offset up to which the stream has been prefetched
    bool eof = false;
    bool swapped = false;
    std::int64_t frac_unit = 1000;  // ns per unit of the timestamp fraction
    std::uint32_t max_caplen = 0;
    std::uint64_t stop = ~std::uint64_t{0};  // pcap: next() ends at this offset (stop_at())
    // pcapng
    bool pcapng = false;
    std::size_t section_first = 0;  // index of this section's first interface in interfaces_
    std::vector<TsScale> scales;    // per interface, parallel to interfaces_

    static std::unique_ptr<State> open(const std::string& path, ReadMode mode);

    std::size_t available() const noexcept { return end - pos; }

    // Makes at least `need` unconsumed bytes available, unless the input ends first. Moves the
    // unconsumed tail to the front of the buffer and grows the buffer only when one record does
    // not fit in it (need is bounded by kRecordHeader + max_caplen).
    void fill(std::size_t need) {
        if (available() >= need || eof) return;
        if (pos > 0) {
            std::memmove(buf.get(), base + pos, available());
            end -= pos;
            pos = 0;
            prefetched = 0;
        }
        if (need > capacity) grow(need);
        while (end < need && !eof) {
            const sys::IoResult r = sys::read_some(fd, buf.get() + end, capacity - end);
            if (r.error != 0) throw Error(r.error, "read " + name);
            end += r.bytes;
            eof = r.bytes == 0;
        }
    }

    void grow(std::size_t need) {
        const std::size_t cap = (need + kGrowStep - 1) / kGrowStep * kGrowStep;
        std::unique_ptr<std::byte[]> bigger(new (std::nothrow) std::byte[cap]);
        if (!bigger)
            throw Error(ENOMEM,
                        "pcap reader buffer of " + std::to_string(cap) + " bytes for " + name);
        std::memcpy(bigger.get(), base + pos, available());
        end -= pos;
        pos = 0;
        prefetched = 0;
        buf = std::move(bigger);
        base = buf.get();
        capacity = cap;
    }

    [[noreturn]] void damaged(std::uint64_t offset, std::uint64_t records,
                              const std::string& what) const {
        throw Error(EINVAL,
                    name + (pcapng ? ": block at offset " : ": record at offset ") +
                        std::to_string(offset) + ": " + what,
                    "the file is damaged or was cut short; the " + std::to_string(records) +
                        " records before offset " + std::to_string(offset) + " were read");
    }
};

// The input: standard input or the file, mapped whole (map, a regular file) or read through a
// buffer.
std::unique_ptr<PcapReader::State> PcapReader::State::open(const std::string& path, ReadMode mode) {
    auto s = std::make_unique<State>();
    s->path = path;
    if (path == "-") {
        s->fd = sys::kStdin;
        s->name = "standard input";
    } else {
        s->owned = sys::open_for_reading(path);
        s->fd = s->owned.get();
        s->name = "'" + path + "'";
    }
    const std::optional<std::uint64_t> size =
        mode == ReadMode::map && s->owned ? sys::regular_file_size(s->fd) : std::nullopt;
    if (size && *size > 0) {
        // The whole file is the buffer; fill() has nothing left to read.
        s->map = sys::Mapping::map_readonly(s->fd, static_cast<std::size_t>(*size));
        s->base = s->map.bytes().data();
        s->end = s->capacity = static_cast<std::size_t>(*size);
        s->eof = true;
    } else {
        s->buf.reset(new (std::nothrow) std::byte[kBufferSize]);
        if (!s->buf)
            throw Error(ENOMEM, "pcap reader buffer of " + std::to_string(kBufferSize) + " bytes");
        s->base = s->buf.get();
        s->capacity = kBufferSize;
    }
    return s;
}

PcapReader PcapReader::open(const std::string& path, ReadMode mode) {
    std::unique_ptr<State> s = State::open(path, mode);
    s->fill(kFileHeader);
    const std::size_t have = s->available();
    const std::byte* h = s->base;
    if (have == 0)
        throw Error(EINVAL, s->name + " is empty (0 bytes), not a pcap file",
                    "a pcap file starts with a 24-byte file header");
    if (have >= 4) {
        const std::uint32_t magic = load32(h, false);
        if (magic == kSectionHeaderBlock) {
            PcapReader r;
            s->pcapng = true;
            r.info_.format = FileFormat::pcapng;
            r.info_.precision = TimestampPrecision::nano;
            r.state_ = std::move(s);
            r.read_section_header();
            r.next_pcapng(/*metadata_only=*/true);  // the first interfaces, for info()
            if (!r.interfaces_.empty()) {
                r.info_.link_type = r.interfaces_[0].link_type;
                r.info_.snaplen = r.interfaces_[0].snaplen;
            }
            r.info_.swapped = r.state_->swapped;
            return r;
        }
        if (magic == kPcapMagicMicro || magic == kPcapMagicNano) {
            s->swapped = false;
        } else if (magic == __builtin_bswap32(kPcapMagicMicro) ||
                   magic == __builtin_bswap32(kPcapMagicNano)) {
            s->swapped = true;
        } else {
            throw Error(EINVAL,
                        s->name + " is not a pcap or pcapng file: its magic (first 4 bytes) is " +
                            hex_bytes(h, 4),
                        "a pcap file starts with a1 b2 c3 d4 or a1 b2 3c 4d, in either byte "
                        "order; a pcapng file with 0a 0d 0d 0a");
        }
    }
    if (have < kFileHeader)
        throw Error(EINVAL, s->name + ": truncated pcap file header, " + std::to_string(have) +
                                " of " + std::to_string(kFileHeader) + " bytes present");

    PcapReader r;
    const std::uint32_t magic = load32(h, s->swapped);
    r.info_.precision =
        magic == kPcapMagicNano ? TimestampPrecision::nano : TimestampPrecision::micro;
    r.info_.snaplen = load32(h + 16, s->swapped);
    r.info_.link_type = load32(h + 20, s->swapped);
    r.info_.swapped = s->swapped;
    r.interfaces_.push_back(
        {.link_type = r.info_.link_type,
         .snaplen = r.info_.snaplen,
         .tsresol = std::uint8_t(r.info_.precision == TimestampPrecision::nano ? 9 : 6)});
    s->frac_unit = r.info_.precision == TimestampPrecision::nano ? 1 : 1000;
    s->max_caplen = std::min(std::max(r.info_.snaplen, kMaxSaneSnaplen), kMaxCaplen);
    s->pos = kFileHeader;
    r.offset_ = kFileHeader;
    r.state_ = std::move(s);
    return r;
}

bool PcapReader::rewind() {
    if (!state_ || !is_mapped()) return false;
    State& s = *state_;
    records_ = 0;
    s.prefetched = 0;
    if (!s.pcapng) {
        s.pos = offset_ = kFileHeader;
        return true;
    }
    // pcapng: the interfaces are described again as the blocks are read again.
    s.pos = offset_ = 0;
    interfaces_.clear();
    s.scales.clear();
    read_section_header();
    next_pcapng(/*metadata_only=*/true);
    return true;
}

std::optional<std::uint64_t> PcapReader::likely_record_at(std::uint64_t offset) const {
    if (!state_ || !is_mapped() || state_->pcapng) return std::nullopt;
    const State& s = *state_;
    const auto records_from = [&s](std::size_t at) {
        std::uint32_t prev_sec = 0;
        for (int i = 0; i < 4; ++i) {
            if (at + kRecordHeader > s.end) return false;
            const std::byte* h = s.base + at;
            const std::uint32_t sec = load32(h, s.swapped), caplen = load32(h + 8, s.swapped);
            if (caplen == 0 || caplen > s.max_caplen || caplen > s.end - at - kRecordHeader ||
                load32(h + 4, s.swapped) >= 1'000'000'000 / s.frac_unit ||
                load32(h + 12, s.swapped) < caplen ||
                (i != 0 && (sec < prev_sec || sec - prev_sec > 86400)))
                return false;
            prev_sec = sec;
            at += kRecordHeader + caplen;
        }
        return true;
    };
    const std::size_t from = std::max<std::uint64_t>(offset, kFileHeader);
    const std::size_t until = std::min<std::uint64_t>(s.end, from + kGuessScan);
    for (std::size_t at = from; at < until; ++at)
        if (records_from(at)) return at;
    return std::nullopt;
}

void PcapReader::seek(std::uint64_t offset, std::uint64_t records) {
    if (!state_ || !is_mapped() || state_->pcapng || offset < kFileHeader || offset > state_->end)
        throw Error(EINVAL, "PcapReader::seek(" + std::to_string(offset) +
                                ") needs a mapped pcap file and an offset within it");
    state_->pos = offset_ = offset;
    state_->prefetched = 0;
    records_ = records;
}

void PcapReader::stop_at(std::uint64_t offset) noexcept {
    if (state_) state_->stop = offset;
}

const std::string& PcapReader::path() const noexcept {
    static const std::string none;
    return state_ ? state_->path : none;
}

std::uint64_t PcapReader::mapped_size() const noexcept {
    return state_ ? state_->map.bytes().size() : 0;
}

bool PcapReader::is_mapped() const noexcept { return state_ && !state_->map.bytes().empty(); }

bool PcapReader::next_is_buffered() const noexcept {
    const State& s = *state_;
    if (s.eof) return true;  // nothing left to read: the rest is in memory
    // pcapng: next() may step over any number of other blocks first; only the end is certain.
    if (s.pcapng || s.available() < kRecordHeader) return false;
    return s.available() >= kRecordHeader + load32(s.base + s.pos + 8, s.swapped);
}

PcapReader::PcapReader(PcapReader&&) noexcept = default;
PcapReader& PcapReader::operator=(PcapReader&&) noexcept = default;
PcapReader::~PcapReader() = default;

std::optional<PacketView> PcapReader::next() {
    if (!state_) throw Error(EBADF, "PcapReader::next() on a moved-from reader");
    State& s = *state_;
    if (s.pcapng) return next_pcapng(false);
    if (offset_ >= s.stop) return std::nullopt;
    if (s.available() < kRecordHeader) {
        s.fill(kRecordHeader);
        const std::size_t have = s.available();
        if (have == 0) return std::nullopt;
        if (have < kRecordHeader)
            s.damaged(offset_, records_,
                      "truncated record header, " + std::to_string(have) + " of " +
                          std::to_string(kRecordHeader) + " bytes present");
    }
    // Records are read in order but only their headers are touched, one cache line here and
    // there: each would be a miss to memory. Prefetching the stream ahead turns those into
    // overlapped loads (record headers were ~90% of the time of -r -w /dev/null without it).
    if (s.prefetched < s.pos + kPrefetchDistance) {
        const std::size_t until = std::min(s.pos + kPrefetchDistance, s.end);
        for (s.prefetched = std::max(s.prefetched, s.pos); s.prefetched < until; s.prefetched += 64)
            __builtin_prefetch(s.base + s.prefetched);
    }
    const std::byte* h = s.base + s.pos;
    const std::uint32_t ts_sec = load32(h, s.swapped);
    const std::uint32_t ts_frac = load32(h + 4, s.swapped);
    const std::uint32_t caplen = load32(h + 8, s.swapped);
    const std::uint32_t wire_len = load32(h + 12, s.swapped);
    if (caplen > s.max_caplen)
        s.damaged(offset_, records_,
                  "caplen " + std::to_string(caplen) + " is absurd (limit " +
                      std::to_string(s.max_caplen) + " bytes with snaplen " +
                      std::to_string(info_.snaplen) + ")");
    const std::size_t need = kRecordHeader + caplen;
    if (s.available() < need) {
        s.fill(need);
        if (s.available() < need)
            s.damaged(offset_, records_,
                      "header says " + std::to_string(caplen) + " bytes, " +
                          std::to_string(s.available() - kRecordHeader) + " present");
    }
    const std::byte* data = s.base + s.pos + kRecordHeader;
    const std::int64_t ts_ns = static_cast<std::int64_t>(ts_sec) * 1'000'000'000 +
                               static_cast<std::int64_t>(ts_frac) * s.frac_unit;
    s.pos += need;
    offset_ += need;
    ++records_;
    return PacketView(data, caplen, wire_len, ts_ns, /*ifindex=*/0, kPacketTypeUnknown,
                      /*status=*/0, /*vlan_tci=*/0, /*vlan_tpid=*/0, /*rxhash=*/0);
}

// The Section Header Block at the read position: its byte-order magic sets the byte order of
// the section, and the interfaces that follow are numbered from 0 again.
void PcapReader::read_section_header() {
    State& s = *state_;
    s.fill(kBlockHeader + 8);
    if (s.available() < kBlockHeader + 8)
        s.damaged(
            offset_, records_,
            "truncated section header block, " + std::to_string(s.available()) + " bytes present");
    const std::byte* h = s.base + s.pos;
    const std::uint32_t bom = load32(h + 8, false);
    if (bom == kByteOrderMagic)
        s.swapped = false;
    else if (bom == __builtin_bswap32(kByteOrderMagic))
        s.swapped = true;
    else
        s.damaged(offset_, records_,
                  "section header byte-order magic is " + hex_bytes(h + 8, 4) +
                      ", not 1a 2b 3c 4d in either order");
    const std::uint16_t major = load16(h + 12, s.swapped);
    if (major != 1)
        s.damaged(offset_, records_,
                  "pcapng version " + std::to_string(major) + "." +
                      std::to_string(load16(h + 14, s.swapped)) + ", not 1.x");
    s.section_first = interfaces_.size();
}

void PcapReader::read_interface(const std::byte* body, std::size_t size) {
    State& s = *state_;
    if (size < 8)
        s.damaged(offset_, records_,
                  "interface description block of " + std::to_string(size + 12) + " bytes");
    FileInterface f{.link_type = load16(body, s.swapped), .snaplen = load32(body + 4, s.swapped)};
    std::int64_t offset_s = 0;
    for_each_option(body + 8, size - 8, s.swapped,
                    [&](std::uint16_t code, const std::byte* v, std::uint16_t len) {
                        const auto text = [&] {
                            std::string t(reinterpret_cast<const char*>(v), len);
                            t.erase(std::find(t.begin(), t.end(), '\0'), t.end());
                            return t;
                        };
                        if (code == kIfName) f.name = text();
                        if (code == kIfDescription) f.description = text();
                        if (code == kIfTsresol && len >= 1)
                            f.tsresol = std::to_integer<std::uint8_t>(v[0]);
                        if (code == kIfTsoffset && len == 8) {
                            std::uint64_t o;
                            std::memcpy(&o, v, 8);
                            offset_s =
                                static_cast<std::int64_t>(s.swapped ? __builtin_bswap64(o) : o);
                        }
                    });
    TsScale scale = TsScale::from(f.tsresol);
    if (__builtin_mul_overflow(offset_s, std::int64_t{1'000'000'000}, &scale.offset_ns))
        scale.offset_ns = 0;  // an absurd if_tsoffset is ignored, as a bad option is
    interfaces_.push_back(std::move(f));
    s.scales.push_back(scale);
}

// One of the three packet blocks, checked against its block and its interface.
PacketView PcapReader::packet_in_block(std::uint32_t type, const std::byte* body,
                                       std::size_t size) {
    State& s = *state_;
    const std::size_t in_section = interfaces_.size() - s.section_first;
    std::size_t fixed;  // bytes before the packet data
    std::uint32_t id = 0, caplen, wire_len;
    std::uint64_t ts = 0;
    if (type == kSimplePacketBlock) {
        fixed = 4;
        if (size < fixed) s.damaged(offset_, records_, "simple packet block too short");
        wire_len = load32(body, s.swapped);
        caplen = static_cast<std::uint32_t>(std::min<std::size_t>(wire_len, size - fixed));
        if (in_section > 0 && interfaces_[s.section_first].snaplen != 0)
            caplen = std::min(caplen, interfaces_[s.section_first].snaplen);
    } else {
        const bool enhanced = type == kEnhancedPacketBlock;
        fixed = 20;
        if (size < fixed)
            s.damaged(offset_, records_,
                      std::string(enhanced ? "enhanced" : "obsolete") +
                          " packet block too short (" + std::to_string(size + 12) + " bytes)");
        id = enhanced ? load32(body, s.swapped) : load16(body, s.swapped);
        ts = std::uint64_t{load32(body + 4, s.swapped)} << 32 | load32(body + 8, s.swapped);
        caplen = load32(body + 12, s.swapped);
        wire_len = load32(body + 16, s.swapped);
        if (caplen > size - fixed)
            s.damaged(offset_, records_,
                      "packet data (caplen " + std::to_string(caplen) + ") runs past its block (" +
                          std::to_string(size - fixed) + " bytes of room)");
    }
    if (id >= in_section)
        s.damaged(offset_, records_,
                  "packet on interface " + std::to_string(id) + ", but the section has " +
                      std::to_string(in_section) + " interface description block(s) before it");
    if (caplen > kMaxCaplen)
        s.damaged(offset_, records_, "caplen " + std::to_string(caplen) + " is absurd");
    const std::size_t index = s.section_first + id;
    std::uint8_t pkttype = kPacketTypeUnknown;
    if (type != kSimplePacketBlock) {
        const std::size_t opts = fixed + pad4(caplen);
        if (opts < size)
            for_each_option(body + opts, size - opts, s.swapped,
                            [&](std::uint16_t code, const std::byte* v, std::uint16_t len) {
                                if (code != kEpbFlags || len != 4) return;
                                switch (load32(v, s.swapped) & kEpbDirectionMask) {
                                    case kEpbInbound:
                                        pkttype = PACKET_HOST;
                                        break;
                                    case kEpbOutbound:
                                        pkttype = PACKET_OUTGOING;
                                        break;
                                    default:
                                        break;
                                }
                            });
    }
    return PacketView(body + fixed, caplen, wire_len, s.scales[index].ns(ts),
                      static_cast<int>(index), pkttype, /*status=*/0, /*vlan_tci=*/0,
                      /*vlan_tpid=*/0, /*rxhash=*/0);
}

// pcapng: blocks until the next packet. metadata_only: stop before a packet block instead,
// leaving it unread (open() uses it to learn the first interfaces).
std::optional<PacketView> PcapReader::next_pcapng(bool metadata_only) {
    State& s = *state_;
    for (;;) {
        s.fill(kBlockHeader);
        const std::size_t have = s.available();
        if (have == 0) return std::nullopt;
        if (have < kBlockHeader)
            s.damaged(offset_, records_,
                      "truncated block header, " + std::to_string(have) + " of " +
                          std::to_string(kBlockHeader) + " bytes present");
        std::uint32_t type = load32(s.base + s.pos, s.swapped);
        if (type == kSectionHeaderBlock) read_section_header();  // may change the byte order
        const bool packet = type == kEnhancedPacketBlock || type == kSimplePacketBlock ||
                            type == kObsoletePacketBlock;
        if (packet && metadata_only) return std::nullopt;
        const std::uint32_t len = load32(s.base + s.pos + 4, s.swapped);
        if (len < 12 || len % 4 != 0 || len > kMaxBlock)
            s.damaged(offset_, records_,
                      "block length " + std::to_string(len) + " is impossible (type " +
                          std::to_string(type) + "; a length is a multiple of 4, 12 to " +
                          std::to_string(kMaxBlock) + ")");
        if (type == kSectionHeaderBlock && len < kMinSectionHeader)
            s.damaged(offset_, records_,
                      "section header block of " + std::to_string(len) + " bytes (at least " +
                          std::to_string(kMinSectionHeader) + ")");
        s.fill(len);
        if (s.available() < len)
            s.damaged(offset_, records_,
                      "truncated block: its header says " + std::to_string(len) + " bytes, " +
                          std::to_string(s.available()) + " present");
        const std::byte* h = s.base + s.pos;
        const std::uint32_t trailer = load32(h + len - 4, s.swapped);
        if (trailer != len)
            s.damaged(offset_, records_,
                      "block length " + std::to_string(len) + " at its start but " +
                          std::to_string(trailer) + " at its end");
        const std::byte* body = h + kBlockHeader;
        const std::size_t size = len - 12;
        std::optional<PacketView> out;
        if (type == kInterfaceBlock) {
            read_interface(body, size);
        } else if (packet) {
            out = packet_in_block(type, body, size);
        }
        s.pos += len;
        offset_ += len;
        if (out) {
            ++records_;
            return out;
        }
    }
}

}  // namespace ringcap
