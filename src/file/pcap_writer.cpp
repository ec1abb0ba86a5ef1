#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include <ringcap/error.hpp>
#include <ringcap/pcap.hpp>

namespace ringcap {
namespace {

constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
constexpr std::size_t kAlign = 4096;

void free_aligned(std::byte* p) { std::free(p); }

}  // namespace

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
    capacity_ = (options.buffer_size + kAlign - 1) / kAlign * kAlign;
    if (capacity_ < kAlign) capacity_ = kAlign;
    buf_ = {static_cast<std::byte*>(std::aligned_alloc(kAlign, capacity_)), free_aligned};
    if (!buf_) throw Error(ENOMEM, "pcap writer buffer of " + std::to_string(capacity_) + " bytes");
    const std::uint32_t header[6] = {nano_ ? kMagicNano : kMagicMicro,
                                     2u | (4u << 16),  // version 2.4, in host order like the magic
                                     0,
                                     0,
                                     options.snaplen,
                                     static_cast<std::uint32_t>(options.link_type)};
    std::memcpy(buf_.get(), header, sizeof header);
    used_ = kFileHeader;
    header_pending_ = true;
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
        header_pending_ = o.header_pending_;
        path_ = std::move(o.path_);
        buf_ = std::move(o.buf_);
        capacity_ = std::exchange(o.capacity_, 0);
        used_ = std::exchange(o.used_, 0);
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

// Largest prefix of `data` (which starts with a record) made of whole records.
std::size_t whole_records(const std::byte* data, std::size_t written) noexcept {
    std::size_t pos = 0;
    while (pos + PcapWriter::kRecordHeader <= written) {
        std::uint32_t caplen;
        std::memcpy(&caplen, data + pos + 8, 4);
        if (pos + PcapWriter::kRecordHeader + caplen > written) break;
        pos += PcapWriter::kRecordHeader + caplen;
    }
    return pos;
}

}  // namespace

// Largest prefix of the buffer made of whole records (and the file header, if it is in there).
std::size_t PcapWriter::whole_records_within(std::size_t written) const noexcept {
    const std::size_t header = header_pending_ ? kFileHeader : 0;
    if (written < header) return 0;
    return header + whole_records(buf_.get() + header, written - header);
}

void PcapWriter::flush() {
    if (fd_ < 0 || used_ == 0) return;
    write_out(buf_.get(), used_, header_pending_ ? kFileHeader : 0);
    used_ = 0;
    header_pending_ = false;
}

void PcapWriter::write_records(std::span<const std::byte> records, std::uint64_t count) {
    if (records.size() < kDirectRun) {
        if (records.size() > capacity_ - used_) make_room(records.size());
        std::memcpy(buf_.get() + used_, records.data(), records.size());
        used_ += records.size();
        records_ += count;
        return;
    }
    flush();
    if (fd_ < 0) throw Error(EBADF, "write to '" + path_ + "'", "the file is closed");
    write_out(records.data(), records.size(), 0);
    records_ += count;
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
        const int err = n == 0 ? EIO : errno;
        // Cut the file back to the last whole record so it stays valid.
        const std::size_t keep =
            done < records_from ? 0 : records_from + whole_records(data + records_from, done - records_from);
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
        const bool keep_header = header_pending_ && keep == 0 && (cut || done == 0);
        used_ = keep_header ? kFileHeader : 0;
        header_pending_ = keep_header;
        throw Error(err, "write to '" + path_ + "'", hint);
    }
    committed_ += size;
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
