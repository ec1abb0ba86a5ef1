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
    bool memory_locked = false;                 // MAP_LOCKED took; otherwise a plain mapping
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
    // for at most `timeout`; nullopt on timeout or when a signal interrupted the wait. V2: after
    // a batch of 8 frames or more, the next wait starts with a 20 us sleep instead of poll()
    // (one wake-up then serves many packets under load); never with a timeout of 0.
    // Throws ringcap::Error only when the socket failed (e.g. the interface went away).
    std::optional<Batch> next_batch(std::chrono::milliseconds timeout);

    // The ring's counters since open (PACKET_STATISTICS; each kernel read resets the kernel's,
    // so they are read and added up here).
    CaptureStats stats();

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
