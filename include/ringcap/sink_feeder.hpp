#pragma once
// SinkFeeder: packets handed over one at a time (iterating a ring Batch, reading a file) go to a
// Sink in chunks, one virtual call per chunk of up to kChunk packets, never per packet:
//
//   SinkFeeder feed(sink);                    // a fixed array of views, no allocation
//   batch.for_each([&](const PacketView& p) { feed.push(p); });
//   feed.drain();                             // before the batch is released
//   sink.end_batch();
//
// A sink that only puts each packet into one pcap file (a PcapWriter, or a RotatingWriter that
// does not rotate) takes no chunks: push() writes the record into the file's buffer at once, with
// no copy of the view and no call. That is the common `-w FILE` capture.
#include <array>
#include <cstddef>

#include <ringcap/packet.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/sink.hpp>

namespace ringcap {

// What has been pushed must stay valid until drain(): drain before the batch is released (or
// the reader's buffer is refilled). Nothing may be pushed after the sink is closed.
class SinkFeeder {
  public:
    static constexpr std::size_t kChunk = 256;

    explicit SinkFeeder(Sink& sink) noexcept : sink_(&sink), file_(sink.record_file()) {}
    SinkFeeder(const SinkFeeder&) = delete;
    SinkFeeder& operator=(const SinkFeeder&) = delete;

    void push(const PacketView& p) {
        if (file_ != nullptr) return file_->write(p);
        views_[size_] = p;
        if (++size_ == kChunk) drain();
    }
    // Writes what is pushed; afterwards nothing is pending, also when the sink threw. Also looks
    // again whether the sink has a file to write into directly (one opened at the first packet).
    void drain() {
        if (size_ != 0) {
            const std::size_t n = size_;
            size_ = 0;
            sink_->write({views_.data(), n});
        }
        file_ = sink_->record_file();
    }
    std::size_t pending() const noexcept { return size_; }
    Sink& sink() const noexcept { return *sink_; }
    // The pcap file push() writes into directly (nullptr when it collects chunks): a loop over a
    // batch may write into it itself, with nothing pending here.
    PcapWriter* file() const noexcept { return size_ == 0 ? file_ : nullptr; }

  private:
    Sink* sink_;
    PcapWriter* file_;  // the sink's record_file(): packets go straight in
    std::size_t size_ = 0;
    std::array<PacketView, kChunk> views_;
};

}  // namespace ringcap
