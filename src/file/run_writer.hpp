#pragma once
// PRIVATE (RecordCopy's): RunWriter writes runs of whole records to a PcapWriter on a thread of
// its own, so that writing one part of a file overlaps reading the next (ringcap -r FILE -w OUT,
// when the input's records pass through unchanged). The runs are bytes that stay valid, such as
// a mapped input file.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/pcap_writer.hpp>

namespace ringcap {

// A run of consecutive pcap records of an input, as they lie in its mapping or read buffer:
// what PcapWriter::write_records() and RunWriter::add() take in one call.
struct RecordRun {
    static constexpr std::size_t kMaxRun = 256u << 10;  // handed on while still in the caches
    std::span<const std::byte> bytes;
    std::uint64_t records = 0;

    // Adds the packet's record (a PacketView of a pcap PcapReader, which has the 16-byte record
    // header in front of its data); false, adding nothing, when
    // it does not follow on or the run is full: hand the run on, clear() it, and add again.
    bool add(const PacketView& p) noexcept {
        const std::byte* record = p.data() - PcapWriter::kRecordHeader;
        if (records == 0)
            bytes = {record, 0};
        else if (record != bytes.data() + bytes.size() || bytes.size() >= kMaxRun)
            return false;
        bytes = {bytes.data(), bytes.size() + PcapWriter::kRecordHeader + p.caplen()};
        ++records;
        return true;
    }
    void clear() noexcept { *this = {}; }
};

class RunWriter {
  public:
    // From here until finish() the writer belongs to the thread: the caller must not touch it.
    explicit RunWriter(PcapWriter& file);
    RunWriter(const RunWriter&) = delete;
    RunWriter& operator=(const RunWriter&) = delete;
    // Ends the thread after what it holds is written; the runs not handed over yet are not
    // written, and a write error stays unreported (call finish() to learn it).
    ~RunWriter();

    // Queues a run of whole records, in the file's format; the bytes must stay as they
    // are until finish(). Waits while kMaxBatches batches are waiting (back-pressure). Returns
    // false once a write has failed: stop, and call finish() to learn why.
    bool add(const RecordRun& run);
    // Writes everything queued, flushes the file and ends the thread; throws the first write
    // error (the file then ends with the last whole record, as PcapWriter promises).
    void finish();

    static constexpr std::size_t kBatchBytes = 1u << 20;  // a batch is handed over at this size
    static constexpr std::size_t kMaxBatches = 4;

  private:
    void hand_over();  // the batch being filled goes to the thread
    void stop();       // ends the thread once the batches handed over are written
    void work();       // the thread

    PcapWriter& file_;
    std::vector<RecordRun> filling_;  // the batch being filled, caller's side
    std::size_t filling_bytes_ = 0;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::vector<RecordRun>> batches_;  // handed over, in order
    std::vector<std::vector<RecordRun>>
        spare_;  // written batches, for reuse (no allocation per batch)
    bool closing_ = false;
    std::atomic<bool> failed_ = false;
    std::optional<Error> error_;  // the first write error, for finish()
    std::thread thread_;
};

}  // namespace ringcap
