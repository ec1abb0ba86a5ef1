// RunWriter: writes runs of whole records to a PcapWriter on a thread of its own, so that writing
// one part of a file overlaps reading the next (ringcap -r FILE -w OUT, when the input's records
// pass through unchanged). The runs are bytes that stay valid, such as a mapped input file.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include <ringcap/pcap.hpp>

namespace ringcap {

class RunWriter {
  public:
    // From here until finish() the writer belongs to the thread: the caller must not touch it.
    explicit RunWriter(PcapWriter& file);
    RunWriter(const RunWriter&) = delete;
    RunWriter& operator=(const RunWriter&) = delete;
    ~RunWriter();  // finish(), ignoring its error

    // Queues a run of `records` whole records, in the file's format; the bytes must stay as they
    // are until finish(). Waits while kMaxBatches batches are waiting (back-pressure). Returns
    // false once a write has failed: stop, and call finish() to learn why.
    bool add(std::span<const std::byte> run, std::uint64_t records);
    // Writes everything queued, flushes the file and ends the thread; throws the first write
    // error (the file then ends with the last whole record, as PcapWriter promises).
    void finish();

    static constexpr std::size_t kBatchBytes = 1u << 20;  // a batch is handed over at this size
    static constexpr std::size_t kMaxBatches = 4;

  private:
    struct Run {
        std::span<const std::byte> bytes;
        std::uint64_t records;
    };
    void hand_over();  // the batch being filled goes to the thread
    void work();       // the thread

    PcapWriter& file_;
    std::vector<Run> filling_;  // the batch being filled, caller's side
    std::size_t filling_bytes_ = 0;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::vector<Run>> batches_;  // handed over, in order
    std::vector<std::vector<Run>> spare_;   // written batches, for reuse (no allocation per batch)
    bool closing_ = false;
    std::atomic<bool> failed_ = false;
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace ringcap
