// RecordCopy: a capture file into a sink (see copy.hpp).
#include <ringcap/copy.hpp>

#include <algorithm>
#include <optional>
#include <thread>

#include <ringcap/filter.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/sink_feeder.hpp>

#include "file/file_filters.hpp"
#include "file/file_parts.hpp"
#include "file/run_writer.hpp"

namespace ringcap {
namespace {

constexpr std::uint64_t kBatch = 4096;  // records between end_batch() calls and stop checks

std::size_t cpus_for(std::size_t threads) {
    if (threads != 0) return threads;
    return std::min(std::max(std::thread::hardware_concurrency(), 1u), 8u);
}

// Runs of records passing straight through to a pcap file. From a mapped input they are written
// on a thread of their own (`writer`), and a big input is read in parts (`parts`): the writer
// holds runs that point into the parts' mappings, so the parts are declared first and outlive it.
struct PassThrough {
    explicit PassThrough(PcapWriter& f) : file(f) {}
    PcapWriter& file;
    std::optional<FileParts> parts;
    std::optional<RunWriter> writer;
};

}  // namespace

// One run() of a RecordCopy: the reading loop and where its records go.
class RecordCopy::Run {
  public:
    Run(PcapReader& reader, FileFilters& filters, const CopyOptions& options, Sink& sink,
        PcapWriter* file, StopToken stop);

    void copy();    // throws what ends the copy early
    void finish();  // writes what is pending; throws a write error
    std::uint64_t matched() const noexcept { return matched_; }
    std::size_t parts() const noexcept { return parts_; }

  private:
    void start_threads();
    void read_on();
    // A matching record: into the run being collected, or (as a view) to the sink.
    void take(const PacketView& p) {
        if (pass_) return add_to_run(p);
        if (reader_.interfaces().size() != declared_) [[unlikely]]
            declare_interfaces();
        if (any_refused_ && refused_[static_cast<std::size_t>(p.ifindex())]) [[unlikely]]
            refuse(p);
        feed_.push(p);
    }
    void add_to_run(const PacketView& p);
    void declare_interfaces();
    [[noreturn]] void refuse(const PacketView& p);
    void keep_pending();
    void end_batch();
    void hand_on(const RecordRun& run);
    void write_run();
    bool count_reached() const noexcept {
        return options_.count != 0 && matched_ >= options_.count;
    }

    PcapReader& reader_;
    FileFilters& filters_;
    const CopyOptions& options_;
    Sink& sink_;
    StopToken stop_;
    bool mapped_;
    std::optional<PassThrough> pass_;
    RecordRun run_;  // pass-through: the run being collected
    SinkFeeder feed_;
    std::uint64_t matched_ = 0;
    std::size_t parts_ = 1;
    std::size_t declared_ = 1;   // interfaces the sink knows: 0 is its own
    std::vector<bool> refused_;  // by interface: the sink cannot hold its packets
    bool any_refused_ = false;
};

RecordCopy::Run::Run(PcapReader& reader, FileFilters& filters, const CopyOptions& options,
                     Sink& sink, PcapWriter* file, StopToken stop)
    : reader_(reader),
      filters_(filters),
      options_(options),
      sink_(sink),
      stop_(stop),
      mapped_(reader.is_mapped()),
      feed_(sink) {
    const PcapFileInfo& info = reader.info();
    if (!file || info.format != FileFormat::pcap || info.swapped ||
        info.precision != file->precision())
        return;
    pass_.emplace(*file);
}

// From a mapped file the runs are written on a thread of their own, and a big file is read in
// parts (from the read buffer of a pipe they are written before it is refilled).
void RecordCopy::Run::start_threads() {
    if (!pass_ || !mapped_) return;
    pass_->file.flush();  // the file header, before the thread owns the file
    const std::size_t cpus = cpus_for(options_.threads);
    if (options_.count == 0 && cpus > 1 && reader_.mapped_size() >= FileParts::kWorthFrom)
        pass_->parts.emplace(reader_, cpus - 1, filters_.of(0), stop_);
    pass_->writer.emplace(pass_->file);
}

// A big mapped file in parts: this thread reads the first, FileParts the others; the parts
// proved to follow on are written in order, and from the first that is not this thread reads
// on by itself.
void RecordCopy::Run::copy() {
    start_threads();
    if (pass_ && pass_->parts) reader_.stop_at(pass_->parts->first_end());
    read_on();
    if (!pass_ || !pass_->parts) return;
    write_run();
    const FileParts::Resume r = pass_->parts->follow(
        reader_.offset(), reader_.records(), [this](const RecordRun& run) { hand_on(run); });
    matched_ += r.matched;
    parts_ += r.proved;
    reader_.stop_at(~std::uint64_t{0});
    reader_.seek(r.offset, r.records);
    read_on();
}

// Until the end (or the reader's stop_at()), the count or a stop request.
void RecordCopy::Run::read_on() {
    for (bool more = true; more && !stop_.stop_requested() && !count_reached();) {
        for (std::uint64_t i = 0; i < kBatch; ++i) {
            if (!mapped_ && !reader_.next_is_buffered()) keep_pending();
            const std::optional<PacketView> p = reader_.next();
            if (!p) {
                more = false;
                break;
            }
            if (!filters_.empty() && !filters_.matches(reader_, *p)) continue;
            take(*p);
            if (++matched_ == options_.count) break;
        }
        end_batch();
    }
}

void RecordCopy::Run::add_to_run(const PacketView& p) {
    if (!run_.add(p)) {
        write_run();
        run_.add(p);
    }
}

// The interfaces the reader has met since the last packet, to the sink, after the packets
// before them (a pcapng file written from them keeps the input's order of blocks).
void RecordCopy::Run::declare_interfaces() {
    feed_.drain();
    const std::vector<FileInterface>& interfaces = reader_.interfaces();
    while (declared_ < interfaces.size()) {
        const bool taken = sink_.add_interface(interfaces[declared_]);
        refused_.resize(declared_ + 1);
        refused_[declared_++] = !taken;
        any_refused_ |= !taken;
    }
}

// A packet the sink cannot hold (a pcap file and a second link type): what came before it is
// written, then the copy ends.
void RecordCopy::Run::refuse(const PacketView& p) {
    feed_.drain();
    const auto link = [](std::uint32_t raw) { return link_type_name(static_cast<LinkType>(raw)); };
    const std::size_t at = static_cast<std::size_t>(p.ifindex());
    throw Error(EINVAL,
                "packet " + std::to_string(reader_.records()) + " is on interface " +
                    std::to_string(at) + " of link type " +
                    link(reader_.interfaces()[at].link_type) + ", but the pcap output holds " +
                    link(reader_.info().link_type),
                "a pcap file has one link type; filter on one interface's packets or write "
                "pcapng");
}

// The next read refills the reader's buffer, which the packets taken so far point into.
void RecordCopy::Run::keep_pending() {
    if (!pass_) return feed_.drain();
    write_run();
    pass_->file.flush();
}

void RecordCopy::Run::end_batch() {
    feed_.drain();
    write_run();
    if (!pass_ || !pass_->writer) sink_.end_batch();  // (-U) else the thread writes each batch
}

void RecordCopy::Run::hand_on(const RecordRun& run) {
    if (!pass_->writer)
        pass_->file.write_records(run.bytes, run.records);
    else if (!pass_->writer->add(run))
        pass_->writer->finish();  // throws the write error
}

void RecordCopy::Run::write_run() {
    if (run_.records == 0) return;
    const RecordRun run = run_;
    run_.clear();
    hand_on(run);
}

void RecordCopy::Run::finish() {
    reader_.stop_at(~std::uint64_t{0});  // also when the first part ended in an error
    feed_.drain();
    write_run();
    if (pass_ && pass_->writer) pass_->writer->finish();
}

RecordCopy::RecordCopy(PcapReader& reader, CopyOptions options)
    : reader_(reader),
      options_(std::move(options)),
      filters_(std::make_unique<FileFilters>(options_.filter, reader.info().swapped)) {
    filters_->update(reader.interfaces());  // a bad expression fails here, before any output
}

RecordCopy::~RecordCopy() = default;

CopyResult RecordCopy::run(Sink& sink, StopToken stop) {
    Run copy(reader_, *filters_, options_, sink, sink.record_file(), stop);
    CopyResult result;
    try {
        copy.copy();
    } catch (const Error& e) {  // damage in the file, or a failed write: what came before stays
        result.errors.push_back(e);
    }
    try {
        copy.finish();
    } catch (const Error& e) {
        result.errors.push_back(e);
    }
    result.read = reader_.records();
    result.matched = copy.matched();
    result.parts = copy.parts();
    return result;
}

CopyResult copy_records(PcapReader& reader, Sink& sink, const CopyOptions& options,
                        StopToken stop) {
    return RecordCopy(reader, options).run(sink, stop);
}

}  // namespace ringcap
