#include <fcntl.h>
#include <linux/if_packet.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <fstream>

#include <cstdlib>
#include <cstring>
#include <utility>

#include <ringcap/error.hpp>
#include <ringcap/pcap_writer.hpp>

#include "file/format.hpp"
#include "sys/clock.hpp"

namespace ringcap {
namespace {

using namespace format;
constexpr std::size_t kAlign = 4096;

void free_aligned(std::byte* p) { std::free(p); }

// epb_flags from the packet type: direction and reception type. Only called for a known
// direction (PcapWriter::has_direction()).
std::uint32_t epb_flags(std::uint8_t pkttype) noexcept {
    switch (pkttype) {
        case PACKET_HOST:
            return kEpbInbound | kEpbUnicast;
        case PACKET_MULTICAST:
            return kEpbInbound | kEpbMulticast;
        case PACKET_BROADCAST:
            return kEpbInbound | kEpbBroadcast;
        case PACKET_OTHERHOST:
            return kEpbInbound | kEpbPromiscuous;
        default:
            return kEpbOutbound;
    }
}

// Builds one block in host byte order (the section's byte-order magic says which).
class Block {
  public:
    explicit Block(std::uint32_t type) { u32(type), u32(0); }
    Block& u16(std::uint16_t v) { return raw(&v, 2); }
    Block& u32(std::uint32_t v) { return raw(&v, 4); }
    Block& u64(std::uint64_t v) { return raw(&v, 8); }
    Block& option(std::uint16_t code, const void* value, std::size_t len) {
        u16(code), u16(static_cast<std::uint16_t>(len));
        raw(value, len);
        while (bytes_.size() % 4) bytes_.push_back(std::byte{0});
        return *this;
    }
    Block& text(std::uint16_t code, const std::string& value) {
        return value.empty()
                   ? *this
                   : option(code, value.data(), std::min<std::size_t>(value.size(), 65000));
    }
    std::vector<std::byte> finish() {
        const std::uint32_t len = static_cast<std::uint32_t>(bytes_.size() + 4);
        std::memcpy(bytes_.data() + 4, &len, 4);
        u32(len);
        return std::move(bytes_);
    }

  private:
    Block& raw(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        bytes_.insert(bytes_.end(), b, b + n);
        return *this;
    }
    std::vector<std::byte> bytes_;
};

std::string first_line_with(const char* path, const char* key) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key, 0) == 0) {
            const std::size_t colon = line.find(':');
            return colon == std::string::npos
                       ? line
                       : line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    return {};
}

std::vector<std::byte> section_header() {
    utsname u{};
    ::uname(&u);
    const std::string os = std::string(u.sysname) + " " + u.release;
    std::string hardware = first_line_with("/proc/cpuinfo", "model name");
    if (hardware.empty()) hardware = u.machine;
    Block b(kSectionHeaderBlock);
    b.u32(0x1a2b3c4d).u16(1).u16(0).u64(~std::uint64_t{0});  // section length: not given
    b.text(kShbHardware, hardware).text(kShbOs, os).text(kShbUserappl, "ringcap " RINGCAP_VERSION);
    b.option(kOptEnd, nullptr, 0);
    return b.finish();
}

std::uint64_t now_ns() { return static_cast<std::uint64_t>(sys::realtime_ns()); }

}  // namespace

FileFormat format_for_name(const std::string& path) noexcept {
    return path.size() > 7 && path.compare(path.size() - 7, 7, ".pcapng") == 0 ? FileFormat::pcapng
                                                                               : FileFormat::pcap;
}

PcapWriter PcapWriter::create(const std::string& path, const PcapWriterOptions& options) {
    if (path == "-") return on_fd(STDOUT_FILENO, options);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) throw Error(errno, "cannot create '" + path + "'");
    PcapWriter w;
    w.fd_ = fd;
    w.owns_fd_ = true;
    w.can_truncate_ = true;
    w.path_ = path;
    w.start(options);
    return w;
}

PcapWriter PcapWriter::on_fd(int fd, const PcapWriterOptions& options) {
    PcapWriter w;
    w.fd_ = fd;
    w.path_ = fd == STDOUT_FILENO ? "standard output" : "fd " + std::to_string(fd);
    struct stat st {};
    w.can_truncate_ = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    w.committed_ = w.can_truncate_ ? static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_CUR)) : 0;
    w.start(options);
    return w;
}

void PcapWriter::start(const PcapWriterOptions& options) {
    nano_ = options.precision == TimestampPrecision::nano;
    ng_ = options.format == FileFormat::pcapng;
    capacity_ = (options.buffer_size + kAlign - 1) / kAlign * kAlign;
    if (capacity_ < kAlign) capacity_ = kAlign;
    buf_ = {static_cast<std::byte*>(std::aligned_alloc(kAlign, capacity_)), free_aligned};
    if (!buf_) throw Error(ENOMEM, "pcap writer buffer of " + std::to_string(capacity_) + " bytes");
    header_pending_ = true;
    if (ng_) {
        const std::vector<std::byte> shb = section_header();
        std::memcpy(buf_.get(), shb.data(), shb.size());
        used_ = shb.size();
        put_interface(options.link_type, options.snaplen, options.interface_name,
                      options.interface_description);
        header_size_ = used_;
        return;
    }
    const std::uint32_t header[6] = {nano_ ? kPcapMagicNano : kPcapMagicMicro,
                                     2u | (4u << 16),  // version 2.4, in host order like the magic
                                     0,
                                     0,
                                     options.snaplen,
                                     static_cast<std::uint32_t>(options.link_type)};
    std::memcpy(buf_.get(), header, sizeof header);
    used_ = header_size_ = kFileHeader;
}

void PcapWriter::put_interface(LinkType link, std::uint32_t snaplen, const std::string& name,
                               const std::string& description) {
    Block b(kInterfaceBlock);
    const std::uint8_t nanoseconds = 9;
    b.u16(static_cast<std::uint16_t>(link)).u16(0).u32(snaplen);
    b.text(kIfName, name).text(kIfDescription, description).option(kIfTsresol, &nanoseconds, 1);
    b.option(kOptEnd, nullptr, 0);
    const std::vector<std::byte> idb = b.finish();
    if (idb.size() > capacity_ - used_) make_room(idb.size());
    // Declared before anything else was buffered: part of the file header, which a failed
    // first write keeps for the next attempt (packets on this interface would need it).
    const bool in_header = header_pending_ && used_ == header_size_;
    std::memcpy(buf_.get() + used_, idb.data(), idb.size());
    used_ += idb.size();
    if (in_header) header_size_ = used_;
    ++interfaces_;
}

std::uint32_t PcapWriter::add_interface(LinkType link, std::uint32_t snaplen,
                                        const std::string& name, const std::string& description) {
    if (!ng_) throw Error(EINVAL, "a pcap file has one interface", "write pcapng for more");
    put_interface(link, snaplen, name, description);
    return interfaces_ - 1;
}

void PcapWriter::put_enhanced(const PacketView& p, std::uint32_t interface,
                              std::string_view comment) noexcept {
    std::byte* d = buf_.get() + used_;
    const std::size_t data = pad4(p.caplen());
    const std::size_t note = comment.empty() ? 0 : 4 + pad4(comment.size());
    const std::uint32_t len = static_cast<std::uint32_t>(record_size(p) + note);
    const std::uint64_t ts = static_cast<std::uint64_t>(p.ts_ns());
    const std::uint32_t head[7] = {kEnhancedPacketBlock,
                                   len,
                                   interface,
                                   static_cast<std::uint32_t>(ts >> 32),
                                   static_cast<std::uint32_t>(ts),
                                   p.caplen(),
                                   p.wire_len()};
    std::memcpy(d, head, sizeof head);
    std::memcpy(d + 28, p.data(), p.caplen());
    std::memset(d + 28 + p.caplen(), 0, data - p.caplen());
    std::byte* o = d + 28 + data;
    if (has_direction(p)) {  // no epb_flags at all when the direction is not known
        const std::uint32_t flags_opt[2] = {kEpbFlags | 4u << 16, epb_flags(p.pkttype())};
        std::memcpy(o, flags_opt, kEpbFlagsOption);
        o += kEpbFlagsOption;
    }
    if (note) {
        const std::uint32_t opt = kOptComment | static_cast<std::uint32_t>(comment.size()) << 16;
        std::memcpy(o, &opt, 4);
        std::memcpy(o + 4, comment.data(), comment.size());
        std::memset(o + 4 + comment.size(), 0, note - 4 - comment.size());
        o += note;
    }
    const std::uint32_t tail[2] = {kOptEnd, len};  // opt_endofopt (code 0, length 0), length
    std::memcpy(o, tail, 8);
    used_ += len;
    ++records_;
}

void PcapWriter::write(const PacketView& packet, std::uint32_t interface,
                       std::string_view comment) {
    if (!ng_) {
        if (interface != 0 || !comment.empty())
            throw Error(EINVAL, "a pcap file has one interface and no comments",
                        "write pcapng for more");
        return write(packet);
    }
    if (interface >= interfaces_)
        throw Error(EINVAL, "interface " + std::to_string(interface) + " was not declared");
    if (comment.size() > 65000) comment = comment.substr(0, 65000);
    const std::size_t need = record_size(packet) + (comment.empty() ? 0 : 4 + pad4(comment.size()));
    if (need > capacity_ - used_) make_room(need);
    put_enhanced(packet, interface, comment);
}

void PcapWriter::write_statistics(std::uint32_t interface, std::uint64_t received,
                                  std::uint64_t dropped) {
    if (!ng_) return;
    const std::uint64_t now = now_ns();
    const std::uint32_t ts[2] = {static_cast<std::uint32_t>(now >> 32),
                                 static_cast<std::uint32_t>(now)};
    Block b(kInterfaceStatisticsBlock);
    b.u32(interface).u32(ts[0]).u32(ts[1]);
    b.option(kIsbEndtime, ts, 8).option(kIsbIfrecv, &received, 8).option(kIsbIfdrop, &dropped, 8);
    b.option(kOptEnd, nullptr, 0);
    const std::vector<std::byte> isb = b.finish();
    if (isb.size() > capacity_ - used_) make_room(isb.size());
    std::memcpy(buf_.get() + used_, isb.data(), isb.size());
    used_ += isb.size();
}

PcapWriter::PcapWriter(PcapWriter&& o) noexcept { *this = std::move(o); }

PcapWriter& PcapWriter::operator=(PcapWriter&& o) noexcept {
    if (this != &o) {
        try {
            close();
        } catch (...) {
        }
        fd_ = std::exchange(o.fd_, -1);
        owns_fd_ = std::exchange(o.owns_fd_, false);
        can_truncate_ = o.can_truncate_;
        nano_ = o.nano_;
        ng_ = o.ng_;
        header_pending_ = o.header_pending_;
        header_size_ = o.header_size_;
        interfaces_ = o.interfaces_;
        path_ = std::move(o.path_);
        buf_ = std::move(o.buf_);
        capacity_ = std::exchange(o.capacity_, 0);
        used_ = std::exchange(o.used_, 0);
        queued_ = std::move(o.queued_);
        queued_bytes_ = std::exchange(o.queued_bytes_, 0);
        committed_ = o.committed_;
        records_ = o.records_;
    }
    return *this;
}

PcapWriter::~PcapWriter() {
    try {
        close();
    } catch (...) {
        // Destructors never throw; close() already left the file valid.
    }
}

void PcapWriter::make_room(std::size_t need) {
    flush();
    if (need <= capacity_) return;
    std::size_t cap = capacity_;
    while (cap < need) cap *= 2;
    buf_ = {static_cast<std::byte*>(std::aligned_alloc(kAlign, cap)), free_aligned};
    if (!buf_) throw Error(ENOMEM, "pcap writer buffer of " + std::to_string(cap) + " bytes");
    capacity_ = cap;
}

namespace {

// Largest prefix of `data` (which starts with a record, or a pcapng block) made of whole ones.
std::size_t whole_records(const std::byte* data, std::size_t written, bool ng) noexcept {
    std::size_t pos = 0;
    while (pos + (ng ? 8 : PcapWriter::kRecordHeader) <= written) {
        std::uint32_t n;
        std::memcpy(&n, data + pos + (ng ? 4 : 8), 4);
        const std::size_t size = ng ? n : PcapWriter::kRecordHeader + n;
        if (size == 0 || pos + size > written) break;
        pos += size;
    }
    return pos;
}

}  // namespace

void PcapWriter::flush() {
    if (fd_ < 0) return;
    if (!queued_.empty()) write_queued();
    if (used_ == 0) return;
    write_out(buf_.get(), used_, header_pending_ ? header_size_ : 0);
    used_ = 0;
    header_pending_ = false;
}

void PcapWriter::write_records(std::span<const std::byte> records, std::uint64_t count) {
    if (fd_ < 0) throw Error(EBADF, "write to '" + path_ + "'", "the file is closed");
    if (used_ != 0) flush();  // what is buffered goes first
    if (queued_.size() == kMaxQueued) write_queued();
    if (queued_.capacity() == 0) queued_.reserve(kMaxQueued);  // once: no allocation per run
    queued_.push_back({const_cast<std::byte*>(records.data()), records.size()});
    queued_bytes_ += records.size();
    records_ += count;
    // Written while the runs are likely still in the CPU's caches from being read.
    if (queued_bytes_ >= capacity_) write_queued();
}

// Writes the queued runs with writev(); on failure cuts the file back to the last whole record
// and throws, with the queue emptied.
void PcapWriter::write_queued() {
    std::size_t first = 0;  // first run not wholly written
    std::size_t done = 0;   // bytes of it written
    while (first < queued_.size()) {
        iovec& run = queued_[first];
        const ssize_t n = ::writev(fd_, &run, static_cast<int>(queued_.size() - first));
        if (n > 0) {
            committed_ += static_cast<std::size_t>(n);
            std::size_t left = static_cast<std::size_t>(n);
            while (first < queued_.size() && left >= queued_[first].iov_len) {
                left -= queued_[first].iov_len;
                ++first;
                done = 0;
            }
            if (left != 0) {  // part of a run: the rest next time
                iovec& rest = queued_[first];
                rest.iov_base = static_cast<std::byte*>(rest.iov_base) + left;
                rest.iov_len -= left;
                done += left;
            }
            continue;
        }
        if (n == -1 && errno == EINTR) continue;
        const int err = n == 0 ? EIO : errno;
        const std::byte* run_start = static_cast<const std::byte*>(run.iov_base) - done;
        queued_.clear();
        queued_bytes_ = 0;
        committed_ -= done;
        fail_write(err, whole_records(run_start, done, ng_), done);
    }
    queued_.clear();
    queued_bytes_ = 0;
}

// Writes size bytes, which hold whole records from offset records_from on (before it: the file
// header). On failure cuts the file back to the last whole record and throws; the buffer is then
// left as flush() documents.
void PcapWriter::write_out(const std::byte* data, std::size_t size, std::size_t records_from) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::write(fd_, data + done, size - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n == -1 && errno == EINTR) continue;
        const std::size_t keep =
            done < records_from
                ? 0
                : records_from + whole_records(data + records_from, done - records_from, ng_);
        fail_write(n == 0 ? EIO : errno, keep, done);
    }
    committed_ += size;
}

// After a failed write of which `written` bytes reached the file: cuts the file back to
// committed_ + keep bytes (whole records) so it stays valid, and throws.
void PcapWriter::fail_write(int err, std::size_t keep, std::size_t written) {
    std::string hint;
    bool cut = false;
    if (can_truncate_ && ::ftruncate(fd_, static_cast<off_t>(committed_ + keep)) == 0) {
        committed_ += keep;
        // ftruncate() leaves the offset after the cut part; the next write must not leave
        // a hole of zeros between the last whole record and the next one.
        cut = ::lseek(fd_, static_cast<off_t>(committed_), SEEK_SET) != -1;
        hint = "the file is valid and ends with the last whole record written";
    }
    if (err == ENOSPC) hint = "disk full; " + hint;
    // A file header that never made it to the file stays first in the buffer (it is still
    // there), so records written later do not start a file without one.
    const bool keep_header = header_pending_ && keep == 0 && (cut || written == 0);
    used_ = keep_header ? header_size_ : 0;
    header_pending_ = keep_header;
    throw Error(err, "write to '" + path_ + "'", hint);
}

void PcapWriter::close() {
    if (fd_ < 0) return;
    try {
        flush();
    } catch (...) {
        if (owns_fd_) ::close(fd_);
        fd_ = -1;
        throw;
    }
    const int fd = std::exchange(fd_, -1);
    if (owns_fd_ && ::close(fd) == -1) throw Error(errno, "close '" + path_ + "'");
}

}  // namespace ringcap
