// FileWriter and the file behind it: buffered writes, runs written with writev(), and a file cut
// back to its last whole record when a write fails.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <ringcap/error.hpp>
#include <ringcap/file_writer.hpp>

#include "file/format.hpp"
#include "file/output_file.hpp"
#include "sys/clock.hpp"
#include "sys/file.hpp"

namespace ringcap {

FileFormat format_for_name(const std::string& path) noexcept {
    return path.size() > 7 && path.compare(path.size() - 7, 7, ".pcapng") == 0 ? FileFormat::pcapng
                                                                               : FileFormat::pcap;
}

namespace detail {
namespace {

constexpr std::size_t kAlign = 4096;
constexpr std::size_t kMaxQueued = 1024;  // IOV_MAX: PcapWriter::kMaxQueued

void free_aligned(std::byte* p) { std::free(p); }

std::unique_ptr<std::byte[], void (*)(std::byte*)> aligned_buffer(std::size_t size) {
    std::unique_ptr<std::byte[], void (*)(std::byte*)> b{
        static_cast<std::byte*>(std::aligned_alloc(kAlign, size)), free_aligned};
    if (!b) throw Error(ENOMEM, "capture file buffer of " + std::to_string(size) + " bytes");
    return b;
}

// Largest prefix of `data` (which starts with a record, or a pcapng block) made of whole ones.
std::size_t whole_records(const std::byte* data, std::size_t written,
                          OutputFile::Framing framing) noexcept {
    const bool ng = framing == OutputFile::Framing::pcapng_blocks;
    constexpr std::size_t kPcapRecordHeader = 16;
    std::size_t pos = 0;
    while (pos + (ng ? 8 : kPcapRecordHeader) <= written) {
        std::uint32_t n;
        std::memcpy(&n, data + pos + (ng ? 4 : 8), 4);
        const std::size_t size = ng ? n : kPcapRecordHeader + n;
        if (size == 0 || pos + size > written) break;
        pos += size;
    }
    return pos;
}

// Packet records (pcap records, pcapng Enhanced Packet Blocks) among the whole records of `data`.
std::uint64_t packet_records(const std::byte* data, std::size_t size,
                             OutputFile::Framing framing) noexcept {
    const bool ng = framing == OutputFile::Framing::pcapng_blocks;
    std::uint64_t n = 0;
    for (std::size_t pos = 0; pos + (ng ? 8 : 16) <= size;) {
        std::uint32_t type, len;
        std::memcpy(&type, data + pos, 4);
        std::memcpy(&len, data + pos + (ng ? 4 : 8), 4);
        const std::size_t record = ng ? len : 16 + std::size_t{len};
        if (record == 0 || pos + record > size) break;
        n += !ng || type == format::kEnhancedPacketBlock;
        pos += record;
    }
    return n;
}

}  // namespace

OutputFile::OutputFile(sys::Fd fd, std::string name, Framing framing,
                       const FileWriterOptions& options)
    : fd_(std::move(fd)),
      name_(std::move(name)),
      framing_(framing),
      flush_each_batch_(options.flush_each_batch) {
    capacity = std::max((options.buffer_size + kAlign - 1) / kAlign * kAlign, kAlign);
    storage_ = aligned_buffer(capacity);
    data = storage_.get();
    // Once, here: no allocation when runs are queued (on RunWriter's thread, too).
    if (framing == Framing::pcap_records) queued_.reserve(kMaxQueued);
}

std::unique_ptr<OutputFile> OutputFile::create(const std::string& path, Framing framing,
                                               const FileWriterOptions& options) {
    if (path == "-") return on_fd(sys::kStdout, framing, options);
    std::unique_ptr<OutputFile> f(new OutputFile(sys::create_file(path), path, framing, options));
    f->can_truncate_ = true;
    return f;
}

std::unique_ptr<OutputFile> OutputFile::on_fd(int fd, Framing framing,
                                              const FileWriterOptions& options) {
    std::unique_ptr<OutputFile> f(new OutputFile(
        sys::duplicate(fd), fd == sys::kStdout ? "standard output" : "fd " + std::to_string(fd),
        framing, options));
    f->can_truncate_ = sys::regular_file_size(f->fd_.get()).has_value();
    if (f->can_truncate_) f->committed_ = sys::file_offset(f->fd_.get()).value_or(0);
    return f;
}

OutputFile::~OutputFile() {
    try {
        close();
    } catch (const Error&) {
        // Counted in write_errors_ by fail_write(); the file ends with its last whole record.
    }
}

void OutputFile::start_header(std::span<const std::byte> header) {
    std::memcpy(data, header.data(), header.size());
    used = header_size_ = header.size();
    header_pending_ = true;
}

void OutputFile::append(std::span<const std::byte> block, bool joins_header) {
    if (block.size() > capacity - used) make_room(block.size());
    // Part of the file header only if nothing but the header is buffered still.
    const bool in_header = joins_header && header_pending_ && used == header_size_;
    std::memcpy(data + used, block.data(), block.size());
    used += block.size();
    if (in_header) header_size_ = used;
}

void OutputFile::make_room(std::size_t need) {
    flush();
    if (need <= capacity) return;
    std::size_t cap = capacity;
    while (cap < need) cap *= 2;
    storage_ = aligned_buffer(cap);
    data = storage_.get();
    capacity = cap;
}

void OutputFile::flush() {
    if (!fd_) return;
    if (!queued_.empty()) write_queued();
    if (used == 0) return;
    write_out(data, used, header_pending_ ? header_size_ : 0);
    used = 0;
    header_pending_ = false;
}

void OutputFile::queue_run(std::span<const std::byte> records, std::uint64_t count) {
    if (!fd_) throw Error(EBADF, "write to '" + name_ + "'", "the file is closed");
    if (used != 0) flush();  // what is buffered goes first
    if (queued_.size() == kMaxQueued) write_queued();
    queued_.push_back({const_cast<std::byte*>(records.data()), records.size()});
    queued_bytes_ += records.size();
    this->records += count;
    // Written while the runs are likely still in the CPU's caches from being read.
    if (queued_bytes_ >= capacity) write_queued();
}

// Writes the queued runs with writev(); on failure cuts the file back to the last whole record
// and throws, with the queue emptied.
void OutputFile::write_queued() {
    std::size_t first = 0;  // first run not wholly written
    std::size_t done = 0;   // bytes of it written
    std::size_t left = queued_bytes_;
    std::int64_t t = sys::monotonic_ns();
    while (first < queued_.size()) {
        iovec& run = queued_[first];
        const sys::IoResult r = sys::write_vector(fd_.get(), &run, queued_.size() - first);
        const std::int64_t now = sys::monotonic_ns();
        blocked_ns_ += static_cast<std::uint64_t>(now - t);
        t = now;
        if (r.error == 0 && r.bytes > 0) {
            committed_ += r.bytes;
            left -= r.bytes;
            if (left != 0) ++short_writes_;
            std::size_t n = r.bytes;
            while (first < queued_.size() && n >= queued_[first].iov_len) {
                n -= queued_[first].iov_len;
                ++first;
                done = 0;
            }
            if (n != 0) {  // part of a run: the rest next time
                iovec& rest = queued_[first];
                rest.iov_base = static_cast<std::byte*>(rest.iov_base) + n;
                rest.iov_len -= n;
                done += n;
            }
            continue;
        }
        const std::byte* run_start = static_cast<const std::byte*>(run.iov_base) - done;
        queued_.clear();
        queued_bytes_ = 0;
        committed_ -= done;
        fail_write(r.error != 0 ? r.error : EIO, whole_records(run_start, done, framing_), done);
    }
    queued_.clear();
    queued_bytes_ = 0;
}

// Writes size bytes, which hold whole records from offset records_from on (before it: the file
// header). On failure cuts the file back to the last whole record and throws; the buffer is then
// left as fail_write() says.
void OutputFile::write_out(const std::byte* bytes, std::size_t size, std::size_t records_from) {
    std::size_t done = 0;
    std::int64_t t = sys::monotonic_ns();
    while (done < size) {
        const sys::IoResult r = sys::write_some(fd_.get(), bytes + done, size - done);
        const std::int64_t now = sys::monotonic_ns();
        blocked_ns_ += static_cast<std::uint64_t>(now - t);
        t = now;
        if (r.error == 0 && r.bytes > 0) {
            done += r.bytes;
            if (done < size) ++short_writes_;
            continue;
        }
        const std::size_t keep =
            done < records_from
                ? 0
                : records_from + whole_records(bytes + records_from, done - records_from, framing_);
        const std::size_t cut = std::max(keep, records_from);
        lost_records_ += packet_records(bytes + cut, size - cut, framing_);
        fail_write(r.error != 0 ? r.error : EIO, keep, done);
    }
    committed_ += size;
}

// After a failed write of which `written` bytes reached the file: cuts the file back to
// committed_ + keep bytes (whole records) so it stays valid, and throws.
void OutputFile::fail_write(int err, std::size_t keep, std::size_t written) {
    ++write_errors_;
    std::string hint;
    bool cut = false;
    if (can_truncate_ && sys::truncate_file(fd_.get(), committed_ + keep) == 0) {
        committed_ += keep;
        // ftruncate() leaves the offset after the cut part; the next write must not leave
        // a hole of zeros between the last whole record and the next one.
        cut = sys::seek_to(fd_.get(), committed_) == 0;
        hint = "the file is valid and ends with the last whole record written";
    }
    if (err == ENOSPC) hint = "disk full; " + hint;
    // A file header that never made it to the file stays first in the buffer (it is still
    // there), so records written later do not start a file without one.
    const bool keep_header = header_pending_ && keep == 0 && (cut || written == 0);
    used = keep_header ? header_size_ : 0;
    header_pending_ = keep_header;
    throw Error(err, "write to '" + name_ + "'", hint);
}

void OutputFile::close() {
    if (!fd_) return;
    // Closed also when the last flush throws: the file is valid up to its last whole record.
    struct CloseAtEnd {
        sys::Fd& fd;
        ~CloseAtEnd() { fd.reset(); }
    } close_at_end{fd_};
    flush();
    if (const int err = fd_.close(); err != 0) throw Error(err, "close '" + name_ + "'");
}

}  // namespace detail

using detail::output_file;

void FileWriter::flush() {
    if (buf_) output_file(*buf_).flush();
}

void FileWriter::close() {
    if (buf_) output_file(*buf_).close();
}

void FileWriter::end_batch() {
    if (buf_ && output_file(*buf_).flush_each_batch()) output_file(*buf_).flush();
}

void FileWriter::make_room(std::size_t need) { output_file(*buf_).make_room(need); }

std::uint64_t FileWriter::bytes_written() const noexcept {
    return buf_ ? output_file(*buf_).committed() : 0;
}
std::uint64_t FileWriter::file_size() const noexcept {
    return buf_ ? output_file(*buf_).file_size() : 0;
}
std::uint64_t FileWriter::records_lost() const noexcept {
    return buf_ ? output_file(*buf_).lost_records() : 0;
}
std::uint64_t FileWriter::write_errors() const noexcept {
    return buf_ ? output_file(*buf_).write_errors() : 0;
}
std::uint64_t FileWriter::short_writes() const noexcept {
    return buf_ ? output_file(*buf_).short_writes() : 0;
}
std::uint64_t FileWriter::blocked_ns() const noexcept {
    return buf_ ? output_file(*buf_).blocked_ns() : 0;
}

}  // namespace ringcap
