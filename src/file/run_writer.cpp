#include "file/run_writer.hpp"

#include <utility>

namespace ringcap {

RunWriter::RunWriter(PcapWriter& file) : file_(file) {
    filling_.reserve(PcapWriter::kMaxQueued);
    thread_ = std::thread(&RunWriter::work, this);
}

RunWriter::~RunWriter() { stop(); }

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

void RunWriter::stop() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        closing_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void RunWriter::finish() {
    if (thread_.joinable() && !filling_.empty()) hand_over();
    stop();
    if (error_) {
        const Error e = std::move(*error_);
        error_.reset();
        throw e;
    }
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
        } catch (const Error& e) {  // the file ends with its last whole record
            lock.lock();
            error_ = e;
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
