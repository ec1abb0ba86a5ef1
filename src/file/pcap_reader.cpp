// PcapReader: opening, pcap records, reading in parts (pcapng blocks: pcapng_reader.cpp).
#include "file/reader_state.hpp"

#include <utility>

namespace ringcap {

using namespace reading;

namespace {
constexpr std::size_t kPrefetchDistance = 8192;
}  // namespace

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
    // The header's LinkType field is the link type in its low 26 bits; the bits above it may say
    // whether the packets end with an FCS and how long it is (0x40000001: Ethernet, with a
    // 4-byte FCS). libpcap reads the low bits as the link type, and so does ringcap.
    r.info_.link_type = load32(h + 20, s->swapped) & kLinkTypeMask;
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

}  // namespace ringcap
