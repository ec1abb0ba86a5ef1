#pragma once
// A capture file that rotates, as tcpdump's -C/-G/-W/-z, made coherent:
//   - a file never grows past max_bytes (tcpdump's -C lets it pass by one packet), unless one
//     record alone is larger;
//   - periods are aligned to the wall clock (-G 60 rotates on each minute, not 60 s after start)
//     and a packet goes to the file of the period its timestamp falls in, so -r with -G splits
//     a file by time (a packet later than its period's file goes to the next file); the name is
//     strftime(pattern) of the period's start, in local time;
//   - ring_files keeps the newest N files, with or without -G (tcpdump -G -W exits instead);
//   - a file is written under a hidden temporary name in the same directory and renamed into
//     place when complete: a reader never sees a half-written file under its final name.
// Without any rotation option the writer is a plain PcapWriter or PcapngWriter on the name as
// given (no temp name, "-" for standard output), as tcpdump -w.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/pcapng_writer.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/stats.hpp>

namespace ringcap {

struct RotationOptions {
    std::uint64_t max_bytes = 0;     // -C; 0 = no size limit
    std::chrono::seconds period{0};  // -G; 0 = no time rotation
    std::uint32_t ring_files = 0;    // -W; 0 = keep every file
    // Called with each finished file's final name (-z): after it was renamed into place.
    std::function<void(const std::string&)> on_finished;
    // pcapng: called just before a file is closed, e.g. to write statistics into it.
    std::function<void(PcapngWriter&)> before_close;

    bool rotates() const noexcept {
        return max_bytes != 0 || period.count() != 0 || ring_files != 0;
    }
};

class RotatingWriter final : public Sink {
  public:
    // Opens nothing yet: the first file is created by the first packet (its timestamp picks
    // the period), or by open_now(). Throws ringcap::Error(EINVAL) for options that make no
    // sense (-W without -C or -G, a pattern of "-" with rotation).
    RotatingWriter(std::string pattern, FileFormat format, FileWriterOptions file,
                   RotationOptions rotation);
    RotatingWriter(RotatingWriter&&) noexcept = default;
    // Finishes the open file; an error then is counted (failed_closes()), never thrown.
    ~RotatingWriter() override;

    // Sink: each packet into the file its time and size say, rotating as needed.
    void write(std::span<const PacketView> packets) override;
    // One packet with epb_dropcount (pcapng; a pcap file has no place for it and gets the plain
    // record), rotating first if it would not fit.
    void write_with_drops(const PacketView& packet, std::uint64_t drops);
    // Sink: pcapng keeps each packet's owner (PcapngWriter::write_owned), counted in the sizes
    // -C compares; pcap has no room for them and writes the packets alone.
    void write_owned(std::span<const PacketView> packets,
                     std::span<const PacketOwner* const> owners) override;
    // Sink: pcapng declares the interface in this file and in every file after it (true); pcap
    // says whether it has the files' link type.
    bool add_interface(const FileInterface& interface) override;
    void end_batch() override;
    // With -G, finishes the open file once the wall clock has passed the end of its period,
    // so idle periods do not keep a file open. Call it now and then (the CLI: every batch).
    void tick(std::chrono::system_clock::time_point now) override;
    // Flushes, closes and renames the open file into place. Throws on a write error (the file
    // is then renamed into place anyway: it is valid up to its last whole record).
    void close() override;

    // Creates the first file now if none is open (a capture with no packets still leaves one).
    void open_now(std::chrono::system_clock::time_point now);

    FileFormat format() const noexcept { return format_; }
    std::uint64_t files_finished() const noexcept { return finished_; }
    // Files whose finishing failed in the destructor, where nobody could be told.
    std::uint64_t failed_closes() const noexcept { return failed_closes_; }
    const std::string& current_name() const noexcept { return final_name_; }
    // The failures and waits of every file written so far, the open one included.
    WriterCounters writer_counters() const noexcept;

  private:
    template <class W>
    void write_to(std::optional<W>& file, std::span<const PacketView> packets,
                  std::span<const PacketOwner* const> owners = {});
    template <class W>
    bool due(const std::optional<W>& file, const PacketView& p) const noexcept {
        return !file || p.ts_ns() >= period_end_ ||
               file->file_size() + W::record_size(p) > size_limit_;
    }
    PcapWriter* record_file() noexcept override;
    bool is_open() const noexcept { return pcap_ || pcapng_; }
    std::uint64_t records_in_file() const noexcept;
    void rotate_for(const PacketView& p);
    void open(std::int64_t ts_ns);
    std::optional<Error> finish();
    std::string name_for(std::int64_t period_start_s, std::uint64_t index) const;

    std::string pattern_;
    FileFormat format_;
    FileWriterOptions file_;
    RotationOptions rotation_;
    std::uint64_t size_limit_;  // max_bytes, or no limit
    std::int64_t period_ns_;    // 0 = no periods

    // The open file: one of the two, as format_ says.
    std::optional<PcapWriter> pcap_;
    std::optional<PcapngWriter> pcapng_;
    std::string final_name_, temp_name_;
    std::int64_t period_start_ = 0;            // s since the epoch, of the open file's period
    std::int64_t period_end_ = INT64_MAX;      // ns; a packet at or after it starts a new file
    std::int64_t finished_until_ = INT64_MIN;  // ns; periods before it have their file finished
    std::uint64_t index_ = 0;                  // files in this period (or in all, without -G)
    std::uint64_t finished_ = 0;
    std::uint64_t failed_closes_ = 0;
    WriterCounters finished_counters_;       // of the files already finished
    std::deque<std::string> kept_;           // finished files, oldest first (with ring_files)
    std::vector<FileInterface> interfaces_;  // declared by the source, for every new file
};

}  // namespace ringcap
