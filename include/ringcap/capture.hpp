#pragma once
// Capture: one AF_PACKET socket with a memory-mapped RX ring (TPACKET_V3 blocks or V2 frames).
//
//   auto cap = ringcap::Capture::open({.interface = "veth0", .filter = "tcp port 80"});
//   while (running)
//       if (auto batch = cap.next_batch(100ms))
//           batch->for_each([](const ringcap::PacketView& p) { consume(p); });
//   // each batch goes back to the kernel at the end of its scope; range-for over *batch works
//   // too (batch.hpp says why for_each is the faster loop)
//
// fd() is pollable (POLLIN when a block/frame is ready) for epoll/libevent loops; next_batch(0ms)
// then never blocks. The library never prints: what happened at setup is in info().
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ringcap/batch.hpp>
#include <ringcap/geometry.hpp>
#include <ringcap/options.hpp>
#include <ringcap/stats.hpp>

namespace ringcap {

struct CaptureInfo {
    std::string interface;
    int ifindex = 0;  // 0 for "any"
    LinkType link_type = LinkType::ethernet;
    std::uint32_t snaplen = kDefaultSnaplen;
    RingLayout layout{};
    // Always false now. The ring's pages are the kernel's: mmap() maps every one of them at once
    // and they are never swapped or faulted, so MAP_LOCKED, once asked for, only cost start-up
    // time (~1 ms per 64 MiB).
    bool memory_locked = false;
    std::optional<std::uint16_t> fanout_group;  // the PACKET_FANOUT group joined, if any
    std::vector<std::string> notes;  // decisions made on the user's behalf (fallbacks, shrinking)
    // The kernel refused the filter program (e.g. libpcap's `protochain` code jumps backwards):
    // the kernel now keeps snaplen bytes of every packet, and the caller must run the filter on
    // each one (Filter::compile(filter, link_type, snaplen).matches(p)), as libpcap does then.
    bool filter_in_user_space = false;
};

class Capture {
  public:
    // Opens, configures and maps; throws ringcap::Error naming the failed step.
    static Capture open(const CaptureOptions& options);

    Capture(Capture&&) noexcept;
    Capture& operator=(Capture&&) noexcept;
    ~Capture();

    // The next ready block (V3) or run of ready frames (V2). Polls only when the ring is empty,
    // for at most `timeout`; nullopt on timeout or when a signal interrupted the wait. Under load
    // a wait may start with a sleep instead of poll(), so that one wake-up serves many packets
    // (never with a timeout of 0): V2, 20 us after a batch of 8 frames or more; V3 with a block
    // timeout of 10 ms or more, 4x the time the last block took to fill when it was full (at most
    // a quarter of the block timeout; none when that is shorter than one block's fill).
    // Throws ringcap::Error only when the socket failed (e.g. the interface went away).
    std::optional<Batch> next_batch(std::chrono::milliseconds timeout);

    // Ending without losing what the ring holds. Once the caller has stopped asking for new
    // packets (a signal, a deadline), drain() hands over every packet the kernel has already put
    // in the ring, a batch per call, including those in the V3 block it is still filling: that
    // block comes when its retire timer expires, so drain() waits for it, at most
    // delivery_bound() and only when it holds packets. nullopt once there is nothing left (or
    // the wait is over); packets that arrive meanwhile may come too. Call next_batch() no more.
    std::optional<Batch> drain();

    // How long after it arrived a packet may still be handed over: V3, the block timeout plus
    // the slack of the kernel's timer; V2, the timer slack alone (frames come as filled).
    std::chrono::nanoseconds delivery_bound() const noexcept;

    // The ring's counters since open (PACKET_STATISTICS; each kernel read resets the kernel's,
    // so they are read and added up here).
    CaptureStats stats();

    // How full the ring is, 0..1: the share of its blocks (V3) or frames (V2) the kernel has
    // filled and user space not yet given back. A look at the status words, no syscall; safe
    // from any thread (for a status line or a sampler beside the capture loop).
    double ring_fill() const noexcept;

    int fd() const noexcept;
    const CaptureInfo& info() const noexcept;

  private:
    struct Impl;
    explicit Capture(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

// tcpdump -D: interfaces with index and state.
struct InterfaceEntry {
    int index = 0;
    std::string name;
    bool up = false;
    bool running = false;
    bool loopback = false;
};
std::vector<InterfaceEntry> list_interfaces();

}  // namespace ringcap
