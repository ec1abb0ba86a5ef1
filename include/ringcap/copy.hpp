#pragma once
// Copying the records of a capture file into a sink, through a filter (ringcap -r): what tcpdump
// -r FILE [-w OUT] [-c N] EXPR does, as fast as the machine allows.
//
//   PcapReader in = PcapReader::open("big.pcap");
//   RecordCopy copy(in, {.filter = "udp"});   // a bad expression throws here
//   PcapWriter out = PcapWriter::create("udp.pcap", {.link_type = ...});
//   const CopyResult r = copy.run(out, stop);
//   out.close();
//
// The filter is compiled for each interface of the file by its link type and snaplen (a pcapng
// file may mix them). The sink is told of the file's interfaces after the first as the reader
// meets them (Sink::add_interface()); its interface 0 is the file's first.
//
// When the sink is a pcap file the records go into as they are (a PcapWriter, or a
// RotatingWriter that does not rotate, of a pcap input in host byte order and the same timestamp
// precision), runs of consecutive matching records pass straight through: handed to the writer
// as they lie in the input's mapping and written with writev(), on a thread of their own that
// overlaps writing with reading. A mapped input of FileParts::kWorthFrom (64 MiB) or more is then
// also read in parts on several CPUs; the parts after the first start at guessed record
// boundaries and count only once proved (the part before ended exactly there), so the output is
// the same as one thread's.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/types.hpp>

namespace ringcap {

class FileFilters;

struct CopyOptions {
    std::string filter;       // tcpdump expression; empty: every record
    std::uint64_t count = 0;  // stop after this many matching records (tcpdump -c); 0: no limit
    // CPUs a big mapped pcap file passing through is read on: 0 = every CPU, up to 8; 1 = this
    // thread alone.
    std::size_t threads = 0;
};

struct CopyResult {
    std::uint64_t read = 0;     // records read from the file
    std::uint64_t matched = 0;  // records that passed the filter, all written to the sink
    // Parts of the file whose records were read on threads of their own and used, plus the
    // first (1: the file was read by one thread).
    std::size_t parts = 1;
    // What ended the copy early, in the order met: damage in the file (every record before it
    // was copied), a failed write (the output ends with its last whole record), a pcap sink
    // given a packet of a second link type. Empty when the copy reached the end (or the count,
    // or a stop request).
    std::vector<Error> errors;
};

class RecordCopy {
  public:
    // Compiles the filter for the interfaces `reader` has described so far (the rest as the
    // reader meets them). Throws ringcap::Error(EINVAL) for a bad expression: before anything
    // is written anywhere. The reader must outlive the copy.
    RecordCopy(PcapReader& reader, CopyOptions options);
    RecordCopy(const RecordCopy&) = delete;
    RecordCopy& operator=(const RecordCopy&) = delete;
    ~RecordCopy();

    // Reads on to the end of the file, options.count matching records, or a stop request
    // (looked at every few thousand records), and hands every matching record to `sink` (in
    // chunks, with end_batch() after each few thousand). Errors met on the way end the copy and
    // are returned in the result, after what came before them is written; the sink is left
    // open (close() it). Other exceptions (bad_alloc) are thrown.
    CopyResult run(Sink& sink, StopToken stop = {});

  private:
    class Run;
    PcapReader& reader_;
    CopyOptions options_;
    std::unique_ptr<FileFilters> filters_;
};

// RecordCopy(reader, options).run(sink, stop): for a caller that has nothing to do between
// compiling the filter and copying.
CopyResult copy_records(PcapReader& reader, Sink& sink, const CopyOptions& options,
                        StopToken stop = {});

}  // namespace ringcap
