#pragma once
// Test support for live captures: two network namespaces joined by a veth pair, a thread-local
// namespace switch, a raw frame sender, frame builders, and tcpdump run alongside for cross-checks.
// Everything created here has a name unique to the process and is removed again by its owner.
// Errors throw std::runtime_error; nothing here depends on GoogleTest.
#include <sys/types.h>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ringcap/capture.hpp>
#include <ringcap/packet.hpp>

namespace ringcap::test {

using namespace std::chrono_literals;

using Bytes = std::vector<std::byte>;
using Mac = std::array<std::uint8_t, 6>;

inline constexpr Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr Mac kMulticast = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};  // 224.0.0.251
inline constexpr Mac kStranger = {0x02, 0x52, 0x43, 0x00, 0x99, 0x99};   // nobody's address
inline constexpr std::uint16_t kTestEthertype = 0x88b5;                  // local experimental

// Why live tests cannot run here (not root, no `ip netns`), or nullopt when they can.
std::optional<std::string> live_tests_unavailable();

// Runs `command` through /bin/sh; returns its exit status, output (stdout+stderr) in *output.
int run(const std::string& command, std::string* output = nullptr);
// The same, throwing std::runtime_error with the output when the status is not 0.
std::string run_checked(const std::string& command);

// Moves the calling thread into a named namespace (/run/netns/NAME) and back at scope end.
// Sockets opened meanwhile (Capture::open included) stay bound to that namespace.
class NetnsGuard {
  public:
    explicit NetnsGuard(const std::string& netns);
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;
    ~NetnsGuard();

  private:
    int saved_ = -1;
};

// cap_if in cap_ns <-> peer_if in peer_ns. IPv6 is disabled in both namespaces and no address is
// configured, so the kernel sends nothing on its own: every frame on the link is one a test sent.
class VethPair {
  public:
    explicit VethPair(int mtu = 1500);
    VethPair(const VethPair&) = delete;
    VethPair& operator=(const VethPair&) = delete;
    ~VethPair();  // deletes both namespaces, which deletes the veth pair

    const std::string& cap_ns() const noexcept { return cap_ns_; }
    const std::string& peer_ns() const noexcept { return peer_ns_; }
    const std::string& cap_if() const noexcept { return cap_if_; }
    const std::string& peer_if() const noexcept { return peer_if_; }
    int cap_ifindex() const noexcept { return cap_ifindex_; }
    int peer_ifindex() const noexcept { return peer_ifindex_; }
    static constexpr Mac cap_mac = {0x02, 0x52, 0x43, 0x00, 0x00, 0x01};
    static constexpr Mac peer_mac = {0x02, 0x52, 0x43, 0x00, 0x00, 0x02};

    void set_mtu(int mtu);        // both ends
    int cap_promiscuity() const;  // the kernel's promiscuity counter of cap_if (ip -d link)

  private:
    std::string cap_ns_, peer_ns_, cap_if_, peer_if_;
    int cap_ifindex_ = 0;
    int peer_ifindex_ = 0;
};

// AF_PACKET SOCK_RAW socket made inside `netns`, bound to `ifname` with protocol 0 (it receives
// nothing); send() puts exact Ethernet frames on the wire.
class RawSender {
  public:
    RawSender(const std::string& netns, const std::string& ifname);
    RawSender(const RawSender&) = delete;
    RawSender& operator=(const RawSender&) = delete;
    ~RawSender();

    void send(std::span<const std::byte> frame);  // throws unless the whole frame went out
    void send(const std::vector<Bytes>& frames) {
        for (const Bytes& f : frames) send(f);
    }

  private:
    int fd_ = -1;
};

// ---- Frames ---------------------------------------------------------------------------------

// dst, src, ethertype, payload; padded with zeros to 60 bytes like a NIC would.
Bytes ether_frame(const Mac& dst, const Mac& src, std::uint16_t ethertype,
                  std::span<const std::byte> payload);
// A frame of exactly `length` bytes (>= 18), ethertype kTestEthertype, payload: `seq` big-endian
// then a pattern derived from seq, so that two frames never have the same bytes.
Bytes test_frame(const Mac& dst, const Mac& src, std::size_t length, std::uint32_t seq);
// IPv4/UDP and IPv4/TCP with valid checksums; the payload starts with `seq` big-endian and is
// `payload_len` (>= 4) bytes long.
Bytes udp_frame(const Mac& dst, const Mac& src, const std::string& ip_src,
                const std::string& ip_dst, std::uint16_t sport, std::uint16_t dport,
                std::uint32_t seq, std::size_t payload_len = 18);
Bytes tcp_frame(const Mac& dst, const Mac& src, const std::string& ip_src,
                const std::string& ip_dst, std::uint16_t sport, std::uint16_t dport,
                std::uint8_t flags, std::uint32_t seq, std::size_t payload_len = 8);
// An Ethernet + IPv4 frame (20-byte header) cut into fragments of `chunk` payload bytes (a
// multiple of 8), with IP id `id`.
std::vector<Bytes> ipv4_fragments(const Bytes& frame, std::uint16_t id, std::size_t chunk);
// ARP request: who has `target` tell `sender`.
Bytes arp_request(const Mac& src, const std::string& sender, const std::string& target);
// `frame` with a tag (tpid, tci) inserted after the MAC addresses.
Bytes with_vlan(std::span<const std::byte> frame, std::uint16_t tpid, std::uint16_t tci);
inline constexpr std::uint16_t tci(std::uint16_t prio, std::uint16_t vid) {
    return static_cast<std::uint16_t>(prio << 13 | vid);
}

std::uint16_t be16_at(std::span<const std::byte> b, std::size_t off);
std::uint32_t be32_at(std::span<const std::byte> b, std::size_t off);
// For failure messages: up to `max` bytes as hex.
std::string hex(std::span<const std::byte> b, std::size_t max = 64);

// ---- Capturing -------------------------------------------------------------------------------

// Everything a PacketView says, copied out of the ring.
struct Captured {
    Bytes bytes;
    std::uint32_t caplen = 0;
    std::uint32_t wire_len = 0;
    std::int64_t ts_ns = 0;
    int ifindex = 0;
    std::uint8_t pkttype = 0;
    bool outgoing = false;
    bool truncated = false;
    bool has_vlan = false;
    std::uint16_t vlan_tci = 0;
    std::uint16_t vlan_id = 0;
    std::uint16_t vlan_tpid = 0;
    std::uint32_t status = 0;
};
Captured copy_of(const PacketView& p);

// Drains batches until `count` packets arrived or `deadline` passed; once `count` is reached it
// keeps draining for `linger`, so that extra packets show up in the result too.
std::vector<Captured> collect(Capture& cap, std::size_t count,
                              std::chrono::milliseconds deadline = 3s,
                              std::chrono::milliseconds linger = 150ms);

// tcpdump -i IF -w FILE -U --immediate-mode FILTER, inside a namespace, for comparisons.
class Tcpdump {
  public:
    static bool available();
    // Returns once tcpdump said "listening on" (its filter is in place); throws otherwise.
    Tcpdump(const std::string& netns, const std::string& ifname, const std::string& filter,
            std::chrono::milliseconds ready_deadline = 5s);
    Tcpdump(const Tcpdump&) = delete;
    Tcpdump& operator=(const Tcpdump&) = delete;
    ~Tcpdump();

    // Waits until the file holds `count` records or `deadline` passed, then for `linger` more,
    // stops tcpdump (SIGINT) and returns the records' bytes.
    std::vector<Bytes> finish(std::size_t count, std::chrono::milliseconds deadline = 3s,
                              std::chrono::milliseconds linger = 150ms);

  private:
    void stop();
    pid_t pid_ = -1;
    std::string dir_;
    std::string pcap_path_;
    std::string log_path_;
};

// The records of a classic pcap file (either byte order, µs or ns); a torn last record is ignored.
std::vector<Bytes> read_pcap(const std::string& path);

}  // namespace ringcap::test
