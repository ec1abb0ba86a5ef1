#pragma once
// Sink: where packets go, a chunk at a time. The capture-file writers (PcapWriter, PcapngWriter,
// RotatingWriter), the command line's printer, a user's function (CallbackSink) and a counter
// (CountingSink) all take packets the same way, so a capture loop, a file copy (copy.hpp) or a
// merge of several captures feeds any of them alike.
//
// The cost is one virtual call per chunk of packets, never per packet: SinkFeeder
// (sink_feeder.hpp) collects them.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include <ringcap/packet.hpp>
#include <ringcap/pcap_reader.hpp>

namespace ringcap {

class PcapWriter;
class RecordCopy;
class SinkFeeder;
struct PacketOwner;

class Sink {
  public:
    Sink() = default;
    virtual ~Sink() = default;

    // Packets in order. The views are valid during the call only (they borrow a ring batch or
    // a reader's buffer). Throws ringcap::Error when the packets cannot be kept (a write error).
    virtual void write(std::span<const PacketView> packets) = 0;
    // Packets with the process that owns each (owners[i] is packets[i]'s, nullptr when none is
    // known; the same length), as process attribution hands them on (annotate.hpp). A sink that
    // can show owners overrides it (pcapng: a comment and the process id option; printed lines:
    // a column); the others keep the packets alone. Owners are valid during the call only.
    virtual void write_owned(std::span<const PacketView> packets,
                             std::span<const PacketOwner* const> owners) {
        static_cast<void>(owners);
        write(packets);
    }

    // One more interface of the source, numbered 1, 2, ... in the order of the calls (interface
    // 0 is the one the sink was made for). A source with several interfaces (a pcapng file)
    // declares them before their first packet; from the first declaration on, a packet's
    // ifindex() is the number of its interface. A live capture declares none: its ifindex() is
    // the kernel's and every packet is on interface 0. Returns false when this sink cannot hold
    // packets of that interface (a pcap file holds one link type): their source must not write
    // them.
    virtual bool add_interface(const FileInterface& interface) {
        static_cast<void>(interface);
        return true;
    }

    // The source has handed over a batch: a sink that writes per batch (a packet-buffered file,
    // printed lines) writes now.
    virtual void end_batch() {}
    // Now and then, with or without packets: deadlines such as the end of a rotation period.
    virtual void tick(std::chrono::system_clock::time_point now) { static_cast<void>(now); }
    // Writes out what is held and finishes. Throws ringcap::Error on a failed final write (a
    // file then ends with its last whole record). Calling it again does nothing.
    virtual void close() {}

  protected:
    Sink(const Sink&) = default;
    Sink(Sink&&) noexcept = default;
    Sink& operator=(const Sink&) = default;
    Sink& operator=(Sink&&) noexcept = default;

  private:
    friend class RecordCopy;
    friend class SinkFeeder;
    // The pcap file this sink puts every packet into, as a record, with nothing else done (no
    // rotation, no printing): RecordCopy then hands it runs of an input's records as they lie
    // in the input's mapping, without taking them apart, and SinkFeeder writes each packet
    // straight into it. nullptr for every other sink (and while such a file is not open yet).
    virtual PcapWriter* record_file() noexcept { return nullptr; }
};

// Packets to a function of the user's, a chunk per call.
class CallbackSink final : public Sink {
  public:
    using Function = std::function<void(std::span<const PacketView>)>;
    explicit CallbackSink(Function function) : function_(std::move(function)) {}
    void write(std::span<const PacketView> packets) override { function_(packets); }

  private:
    Function function_;
};

// Counts packets and their captured bytes, and keeps nothing.
class CountingSink final : public Sink {
  public:
    void write(std::span<const PacketView> packets) override {
        packets_ += packets.size();
        for (const PacketView& p : packets) bytes_ += p.caplen();
    }
    std::uint64_t packets() const noexcept { return packets_; }
    std::uint64_t bytes() const noexcept { return bytes_; }

  private:
    std::uint64_t packets_ = 0;
    std::uint64_t bytes_ = 0;
};

}  // namespace ringcap
