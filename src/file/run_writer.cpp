#include <utility>

#include <ringcap/run_writer.hpp>

namespace ringcap {

RunWriter::RunWriter(PcapWriter& file) : file_(file) {
    filling_.reserve(PcapWriter::kMaxQueued);
    thread_ = std::thread(&RunWriter::work, this);
}

RunWriter::~RunWriter() {
    try {
        finish();
    } catch (...) {
        // The error was the caller's to ask for; the file is valid either way.
    }
}

bool RunWriter::add(const RecordRun& run) {
    filling_.push_back(run);
    filling_bytes_ += run.bytes.size();
    if (filling_bytes_ >= kBatchBytes || filling_.size() == PcapWriter::kMaxQueued) hand_over();
    return !failed_;
}

void RunWriter::hand_over() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return batches_.size() < kMaxBatches || failed_; });
    if (!failed_) {
        batches_.push_back(std::move(filling_));
        filling_ = {};
        if (!spare_.empty()) {
            filling_ = std::move(spare_.back());
            spare_.pop_back();
        }
        changed_.notify_all();
    }
    filling_.clear();
    filling_bytes_ = 0;
}

void RunWriter::finish() {
    if (thread_.joinable()) {
        if (!filling_.empty()) hand_over();
        {
            std::lock_guard lock(mutex_);
            closing_ = true;
        }
        changed_.notify_all();
        thread_.join();
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void RunWriter::work() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [this] { return !batches_.empty() || closing_; });
        if (batches_.empty()) return;  // closing, and everything is written
        std::vector<RecordRun> batch = std::move(batches_.front());
        batches_.pop_front();
        changed_.notify_all();  // room for the next batch
        lock.unlock();
        try {
            for (const RecordRun& r : batch) file_.write_records(r.bytes, r.records);
            file_.flush();
        } catch (...) {
            lock.lock();
            error_ = std::current_exception();
            failed_ = true;
            batches_.clear();
            changed_.notify_all();
            return;
        }
        batch.clear();
        lock.lock();
        spare_.push_back(std::move(batch));
    }
}

}  // namespace ringcap
