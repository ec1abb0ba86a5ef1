// PRIVATE (RecordCopy's): reading a big mapped pcap file on several threads, in order (ringcap -r
// BIG.pcap -w OUT).
//
// The caller reads the first part with its own reader; FileParts reads the later parts, each on
// a thread of its own, from a guessed record boundary (PcapReader::likely_record_at()) up to the
// next part's start, keeping the runs of records that pass the filter as they lie in its mapping.
// A part's records count only when the part before it, itself proved, ended exactly at its
// start: a walk from a true boundary meets only true boundaries. From the first part that is not
// proved (a wrong guess, damage, a stop) the caller reads on by itself, so damage is met and
// reported exactly as a plain read would.
//
//   PcapReader reader = PcapReader::open(path);
//   FileParts parts(reader, 3, filter, stop);              // 3 more parts, on 3 threads
//   reader.stop_at(parts.first_end());
//   ... read `reader` to its (early) end, writing its runs ...
//   const FileParts::Resume r = parts.follow(reader.offset(), reader.records(), write_run);
//   reader.stop_at(~std::uint64_t{0});
//   reader.seek(r.offset, r.records);
//   ... read on to the real end ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ringcap/filter.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/types.hpp>

#include "file/run_writer.hpp"

namespace ringcap {

class FileParts {
  public:
    // Below this size a file is read by one thread: starting threads and mapping the file again
    // costs more than it saves.
    static constexpr std::uint64_t kWorthFrom = 64u << 20;

    // `count` parts after the first, from guessed boundaries of `first`'s mapped pcap file
    // (mapped again from first.path() for each part), read on their own threads through
    // `filter` (nullptr: every record) until done, asked to stop, or `stop` is requested.
    FileParts(const PcapReader& first, std::size_t count, const Filter* filter, StopToken stop);
    FileParts(const FileParts&) = delete;
    FileParts& operator=(const FileParts&) = delete;
    // Stops and joins the threads. The runs handed on point into the parts' mappings: they stay
    // valid until here.
    ~FileParts();

    // Where the first part ends: the caller's reader stops there.
    std::uint64_t first_end() const noexcept;

    struct Resume {
        std::uint64_t offset = 0;   // where the caller reads on
        std::uint64_t records = 0;  // records before that offset
        std::uint64_t matched = 0;  // records the proved parts found passing the filter
        std::size_t proved = 0;     // parts whose runs were handed on
    };
    // After the caller has read the first part, up to `offset` with `records` records before it:
    // hands the runs of each proved part, in file order, to `sink`, asks the parts no longer
    // needed to stop, and says where the caller reads on.
    Resume follow(std::uint64_t offset, std::uint64_t records,
                  const std::function<void(const RecordRun&)>& sink);

  private:
    struct Part;
    StopToken stop_;
    std::vector<std::unique_ptr<Part>> parts_;
};

}  // namespace ringcap
