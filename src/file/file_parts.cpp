// The later parts of a mapped pcap file, each read on a thread of its own (see file_parts.hpp).
#include "file/file_parts.hpp"

#include <new>
#include <optional>
#include <stop_token>
#include <thread>

#include <ringcap/error.hpp>

namespace ringcap {

struct FileParts::Part {
    static constexpr std::size_t kMaxRuns = 1u << 20;  // memory: 24 MiB; then it stops early

    std::uint64_t start = 0;
    std::uint64_t stop = 0;            // the next part's start, or the end of the file
    std::uint64_t end = 0;             // where it stopped: at or past stop unless cut short
    std::optional<PcapReader> reader;  // its own mapping, which the runs point into
    std::vector<RecordRun> runs;
    std::uint64_t records = 0, matched = 0;
    // Why the part was not read: damage (or no memory). The caller then reads the part again
    // itself, and meets and reports the damage as a plain read does.
    std::optional<Error> failed;
    std::jthread thread;

    bool read() const noexcept { return !failed; }

    void read_from(const std::string& path, const Filter* filter, StopToken stop_token,
                   std::stop_token parts_done) {
        try {
            reader.emplace(PcapReader::open(path));
            PcapReader& r = *reader;
            r.seek(start, 0);
            r.stop_at(stop);
            RecordRun run;
            while (!stop_token.stop_requested() && !parts_done.stop_requested() &&
                   runs.size() < kMaxRuns) {
                const std::optional<PacketView> p = r.next();
                if (!p) break;
                if (filter && !filter->matches(*p)) continue;
                if (!run.add(*p)) {
                    runs.push_back(run);
                    run.clear();
                    run.add(*p);
                }
                ++matched;
            }
            if (run.records != 0) runs.push_back(run);
            end = r.offset();
            records = r.records();
        } catch (const Error& e) {
            failed = e;
        } catch (const std::bad_alloc&) {
            failed = Error(ENOMEM, "reading part of a file at offset " + std::to_string(start));
        }
        if (failed) runs = {};
    }
};

FileParts::FileParts(const PcapReader& first, std::size_t count, const Filter* filter,
                     StopToken stop)
    : stop_(stop) {
    const std::uint64_t size = first.mapped_size();
    for (std::size_t k = 0; k < count; ++k) {
        auto part = std::make_unique<Part>();
        // No likely boundary near the guess: an empty part at the end, which proves nothing.
        part->start = first.likely_record_at(size * (k + 1) / (count + 1)).value_or(size);
        parts_.push_back(std::move(part));
    }
    for (std::size_t k = 0; k < count; ++k) {
        Part& part = *parts_[k];
        part.stop = k + 1 < count ? parts_[k + 1]->start : size;
        part.thread =
            std::jthread([&part, path = first.path(), filter, stop](std::stop_token parts_done) {
                part.read_from(path, filter, stop, parts_done);
            });
    }
}

FileParts::~FileParts() {
    for (auto& part : parts_) part->thread.request_stop();  // then each jthread joins
}

std::uint64_t FileParts::first_end() const noexcept {
    return parts_.empty() ? ~std::uint64_t{0} : parts_.front()->start;
}

FileParts::Resume FileParts::follow(std::uint64_t offset, std::uint64_t records,
                                    const std::function<void(const RecordRun&)>& sink) {
    Resume at{.offset = offset, .records = records, .matched = 0};
    std::size_t k = 0;
    for (; k < parts_.size(); ++k) {
        Part& part = *parts_[k];
        part.thread.join();
        if (stop_.stop_requested() || !part.read() || part.start != at.offset)
            break;  // stopped, or not proved
        for (const RecordRun& r : part.runs) sink(r);
        at.matched += part.matched;
        ++at.proved;
        at.records += part.records;
        at.offset = part.end;
        if (part.end != part.stop) break;  // cut short: the caller reads the rest
    }
    for (auto& part : parts_) part->thread.request_stop();  // the rest is not needed
    return at;
}

}  // namespace ringcap
