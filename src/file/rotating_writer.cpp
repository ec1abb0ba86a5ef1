#include <ringcap/rotating_writer.hpp>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <type_traits>
#include <utility>

#include "sys/clock.hpp"
#include "sys/file.hpp"

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

std::int64_t ns_since_epoch(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

RotatingWriter::RotatingWriter(std::string pattern, FileFormat format, FileWriterOptions file,
                               RotationOptions rotation)
    : pattern_(std::move(pattern)),
      format_(format),
      file_(std::move(file)),
      rotation_(std::move(rotation)),
      // Room for the statistics block written at close stays free: -C is the whole file.
      size_limit_(rotation_.max_bytes == 0 ? UINT64_MAX
                  : rotation_.before_close && format_ == FileFormat::pcapng
                      ? rotation_.max_bytes - PcapngWriter::kStatisticsBlock
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
    if (finish()) ++failed_closes_;  // renamed into place anyway; there is nobody left to tell
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
    const std::string& name = rotation_.rotates() ? temp_name_ : final_name_;
    if (format_ == FileFormat::pcap) {
        pcap_.emplace(PcapWriter::create(name, file_));
        return;
    }
    pcapng_.emplace(PcapngWriter::create(name, file_));
    for (const FileInterface& i : interfaces_) pcapng_->add_interface(i);
}

bool RotatingWriter::add_interface(const FileInterface& interface) {
    if (format_ == FileFormat::pcap)
        return static_cast<LinkType>(interface.link_type) == file_.link_type;
    interfaces_.push_back(interface);
    if (pcapng_) pcapng_->add_interface(interface);
    return true;
}

template <class W>
void RotatingWriter::write_to(std::optional<W>& file, std::span<const PacketView> packets,
                              std::span<const PacketOwner* const> owners) {
    const auto put = [&](std::size_t from, std::size_t n) {
        if constexpr (std::is_same_v<W, PcapngWriter>)
            if (!owners.empty())
                return file->write_owned(packets.subspan(from, n), owners.subspan(from, n));
        file->write(packets.subspan(from, n));
    };
    if (file && !rotation_.rotates()) return put(0, packets.size());
    // Runs of packets that go to the same file, each written at once.
    std::size_t from = 0;
    std::uint64_t size = file ? file->file_size() : 0;
    for (std::size_t i = 0; i < packets.size(); ++i) {
        const PacketView& p = packets[i];
        std::size_t record = W::record_size(p);
        if constexpr (std::is_same_v<W, PcapngWriter>)
            if (!owners.empty()) record += PcapngWriter::owner_size(owners[i]);
        if (!file || p.ts_ns() >= period_end_ || size + record > size_limit_) {
            if (file && i > from) put(from, i - from);
            rotate_for(p);
            from = i;
            size = file->file_size();
        }
        size += record;
    }
    put(from, packets.size() - from);
}

void RotatingWriter::write(std::span<const PacketView> packets) {
    if (packets.empty()) return;
    if (format_ == FileFormat::pcap)
        write_to(pcap_, packets);
    else
        write_to(pcapng_, packets);
}

void RotatingWriter::write_with_drops(const PacketView& packet, std::uint64_t drops) {
    if (format_ == FileFormat::pcap) return write({&packet, 1});
    if (!pcapng_ ||
        (rotation_.rotates() && (packet.ts_ns() >= period_end_ ||
                                 pcapng_->file_size() + PcapngWriter::record_size(packet) +
                                         PcapngWriter::kEpbDropcountOption >
                                     size_limit_)))
        rotate_for(packet);
    pcapng_->write_with_drops(packet, drops);
}

void RotatingWriter::write_owned(std::span<const PacketView> packets,
                                 std::span<const PacketOwner* const> owners) {
    if (packets.empty()) return;
    if (format_ == FileFormat::pcap)
        write_to(pcap_, packets);
    else
        write_to(pcapng_, packets, owners);
}

std::uint64_t RotatingWriter::records_in_file() const noexcept {
    return pcap_ ? pcap_->records() : pcapng_ ? pcapng_->records() : 0;
}

void RotatingWriter::rotate_for(const PacketView& p) {
    if (is_open()) {
        const bool new_period = p.ts_ns() >= period_end_;
        // A record larger than the size limit on its own gets a file of its own.
        if (!new_period && records_in_file() == 0) return;
        if (std::optional<Error> failed = finish()) throw *failed;
        if (new_period) finished_until_ = period_end_;
        index_ = new_period ? 0 : index_ + 1;
    }
    open(p.ts_ns());
}

// Closes the open file and puts it in place: what went wrong is returned, not thrown, so that
// the destructor can finish a file too.
namespace {

WriterCounters counters_of(const FileWriter& f) noexcept {
    return {.short_writes = f.short_writes(),
            .write_errors = f.write_errors(),
            .blocked = std::chrono::nanoseconds(f.blocked_ns()),
            .records_lost = f.records_lost(),
            .records = f.records()};
}

}  // namespace

WriterCounters RotatingWriter::writer_counters() const noexcept {
    WriterCounters c = finished_counters_;
    if (pcap_) c += counters_of(*pcap_);
    if (pcapng_) c += counters_of(*pcapng_);
    return c;
}

std::optional<Error> RotatingWriter::finish() {
    if (!is_open()) return std::nullopt;
    std::optional<Error> failed;
    try {
        if (pcapng_ && rotation_.before_close) rotation_.before_close(*pcapng_);
        pcap_ ? pcap_->close() : pcapng_->close();
    } catch (const Error& e) {
        failed = e;  // the file is valid up to its last whole record: still put it in place
    }
    finished_counters_ += pcap_ ? counters_of(*pcap_) : counters_of(*pcapng_);
    pcap_.reset();
    pcapng_.reset();
    if (!rotation_.rotates()) return failed;
    try {
        sys::rename_file(temp_name_, final_name_,
                         "the finished file stays under its temporary name");
    } catch (const Error& e) {
        return failed ? failed : e;
    }
    ++finished_;
    if (rotation_.ring_files != 0) {
        std::erase(kept_, final_name_);  // replaced in place by the rename
        kept_.push_back(final_name_);
        while (kept_.size() > rotation_.ring_files) {
            sys::remove_file(kept_.front());  // one gone already is as good
            kept_.pop_front();
        }
    }
    if (rotation_.on_finished) rotation_.on_finished(final_name_);
    return failed;
}

void RotatingWriter::end_batch() {
    if (pcap_) pcap_->end_batch();
    if (pcapng_) pcapng_->end_batch();
}

void RotatingWriter::tick(std::chrono::system_clock::time_point now) {
    if (!is_open() || period_ns_ == 0 || ns_since_epoch(now) < period_end_) return;
    if (std::optional<Error> failed = finish()) throw *failed;
    finished_until_ = period_end_;
    index_ = 0;
}

void RotatingWriter::open_now(std::chrono::system_clock::time_point now) {
    if (!is_open()) open(ns_since_epoch(now));
}

void RotatingWriter::close() {
    if (std::optional<Error> failed = finish()) throw *failed;
}

PcapWriter* RotatingWriter::record_file() noexcept {
    return rotation_.rotates() || !pcap_ ? nullptr : &*pcap_;
}

}  // namespace ringcap
