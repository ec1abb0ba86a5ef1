#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <utility>

#include <ringcap/error.hpp>
#include <ringcap/rotating_writer.hpp>

#include "sys/clock.hpp"

namespace ringcap {
namespace {

constexpr std::int64_t kNs = 1'000'000'000;

std::size_t digits(std::uint64_t n) {
    std::size_t d = 1;
    while (n >= 10) n /= 10, ++d;
    return d;
}

// ".name.part" beside "dir/name": same directory, so rename() is atomic.
std::string temp_name_for(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    const std::size_t base = slash == std::string::npos ? 0 : slash + 1;
    return path.substr(0, base) + "." + path.substr(base) + ".part";
}

}  // namespace

RotatingWriter::RotatingWriter(std::string pattern, PcapWriterOptions file,
                               RotationOptions rotation)
    : pattern_(std::move(pattern)),
      file_(file),
      rotation_(std::move(rotation)),
      // Room for the statistics block written at close stays free: -C is the whole file.
      size_limit_(rotation_.max_bytes == 0 ? UINT64_MAX
                  : rotation_.before_close && file_.format == FileFormat::pcapng
                      ? rotation_.max_bytes - PcapWriter::kStatisticsBlock
                      : rotation_.max_bytes),
      period_ns_(rotation_.period.count() * kNs) {
    if (rotation_.period.count() < 0)
        throw Error(EINVAL, "rotation period " + std::to_string(rotation_.period.count()) + " s");
    if (rotation_.ring_files != 0 && rotation_.max_bytes == 0 && period_ns_ == 0)
        throw Error(EINVAL, "a ring of files (-W) needs a size (-C) or a period (-G) to rotate on");
    if (rotation_.rotates() && pattern_ == "-")
        throw Error(EINVAL, "standard output cannot rotate (-C, -G, -W need a file name)");
    if (rotation_.max_bytes != 0 && rotation_.max_bytes < 512)
        throw Error(EINVAL, "file size limit of " + std::to_string(rotation_.max_bytes) +
                                " bytes leaves no room for packets");
}

RotatingWriter::~RotatingWriter() {
    try {
        close();
    } catch (...) {
        // The file was renamed into place anyway; there is nobody left to tell.
    }
}

std::string RotatingWriter::name_for(std::int64_t period_start_s, std::uint64_t index) const {
    std::string base = pattern_;
    if (period_ns_ != 0) {
        const std::time_t t = period_start_s;
        const std::tm tm = sys::local_time(t);
        char buf[4096];
        const std::size_t n = std::strftime(buf, sizeof buf, pattern_.c_str(), &tm);
        if (n > 0) base.assign(buf, n);
    }
    const bool sized = rotation_.max_bytes != 0;
    const std::uint32_t ring = rotation_.ring_files;
    // tcpdump's numbering: with -C the first file keeps the name and the next ones get 1, 2,
    // ...; with -W every file gets its number in the ring, zero-padded to the ring's width.
    if (ring != 0 && period_ns_ == 0) {
        const std::string num = std::to_string(index % ring);
        return base + std::string(digits(ring - 1) - num.size(), '0') + num;
    }
    if (sized && index != 0) return base + std::to_string(index);
    return base;
}

void RotatingWriter::open(std::int64_t ts_ns) {
    // A late packet of a period whose file is finished goes to the next file, never reopens
    // (and so truncates) a finished one.
    ts_ns = std::max(ts_ns, finished_until_);
    if (period_ns_ != 0) {
        const std::int64_t start = ts_ns >= 0 ? ts_ns / period_ns_ * period_ns_ : 0;
        period_start_ = start / kNs;
        period_end_ = start + period_ns_;
    }
    final_name_ = name_for(period_start_, index_);
    if (rotation_.rotates()) temp_name_ = temp_name_for(final_name_);
    writer_ = PcapWriter::create(rotation_.rotates() ? temp_name_ : final_name_, file_);
    for (const Interface& i : more_interfaces_)
        writer_->add_interface(i.link, i.snaplen, i.name, i.description);
}

std::uint32_t RotatingWriter::add_interface(LinkType link, std::uint32_t snaplen,
                                            const std::string& name,
                                            const std::string& description) {
    more_interfaces_.push_back({link, snaplen, name, description});
    return writer_ ? writer_->add_interface(link, snaplen, name, description)
                   : static_cast<std::uint32_t>(more_interfaces_.size());
}

void RotatingWriter::rotate_for(const PacketView& p) {
    if (writer_) {
        const bool new_period = p.ts_ns() >= period_end_;
        // A record larger than the size limit on its own gets a file of its own.
        if (!new_period && writer_->records() == 0) return;
        finish();
        if (new_period) finished_until_ = period_end_;
        index_ = new_period ? 0 : index_ + 1;
    }
    open(p.ts_ns());
}

void RotatingWriter::finish() {
    if (!writer_) return;
    std::optional<Error> failed;
    try {
        if (rotation_.before_close) rotation_.before_close(*writer_);
        writer_->close();
    } catch (const Error& e) {
        failed = e;  // the file is valid up to its last whole record: still put it in place
    }
    writer_.reset();
    if (!rotation_.rotates()) {
        if (failed) throw *failed;
        return;
    }
    if (::rename(temp_name_.c_str(), final_name_.c_str()) == -1)
        throw Error(errno, "rename '" + temp_name_ + "' to '" + final_name_ + "'",
                    "the finished file stays under its temporary name");
    ++finished_;
    if (rotation_.ring_files != 0) {
        std::erase(kept_, final_name_);  // replaced in place by the rename
        kept_.push_back(final_name_);
        while (kept_.size() > rotation_.ring_files) {
            ::unlink(kept_.front().c_str());
            kept_.pop_front();
        }
    }
    if (rotation_.on_finished) rotation_.on_finished(final_name_);
    if (failed) throw *failed;
}

void RotatingWriter::tick(std::chrono::system_clock::time_point now) {
    if (!writer_ || period_ns_ == 0) return;
    const std::int64_t now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    if (now_ns < period_end_) return;
    finish();
    finished_until_ = period_end_;
    index_ = 0;
}

void RotatingWriter::open_now(std::chrono::system_clock::time_point now) {
    if (writer_) return;
    open(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
}

void RotatingWriter::close() { finish(); }

}  // namespace ringcap
