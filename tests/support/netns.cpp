#include "netns.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ringcap::test {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

std::string mac_text(const Mac& m) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                  m[5]);
    return buf;
}

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(std::byte(v >> 8));
    b.push_back(std::byte(v & 0xff));
}

void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v & 0xffff));
}

void put_mac(Bytes& b, const Mac& m) {
    for (std::uint8_t x : m) b.push_back(std::byte(x));
}

void set16(Bytes& b, std::size_t off, std::uint16_t v) {
    b[off] = std::byte(v >> 8);
    b[off + 1] = std::byte(v & 0xff);
}

std::uint32_t ipv4(const std::string& text) {
    in_addr a{};
    if (::inet_pton(AF_INET, text.c_str(), &a) != 1) fail("bad IPv4 address '" + text + "'");
    return ntohl(a.s_addr);
}

// Internet checksum over `b`, starting from `sum`.
std::uint16_t checksum(std::span<const std::byte> b, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < b.size(); i += 2)
        sum += std::to_integer<std::uint32_t>(b[i]) << 8 | std::to_integer<std::uint32_t>(b[i + 1]);
    if (b.size() % 2) sum += std::to_integer<std::uint32_t>(b.back()) << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

// IPv4 header + L4 bytes (whose checksum field at l4_csum_off is filled in here).
Bytes ipv4_packet(std::uint8_t proto, const std::string& src, const std::string& dst, Bytes l4,
                  std::size_t l4_csum_off) {
    const std::uint32_t s = ipv4(src), d = ipv4(dst);
    std::uint32_t pseudo = (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + proto +
                           static_cast<std::uint32_t>(l4.size());
    std::uint16_t c = checksum(l4, pseudo);
    if (proto == IPPROTO_UDP && c == 0) c = 0xffff;
    set16(l4, l4_csum_off, c);
    Bytes ip;
    ip.push_back(std::byte(0x45));
    ip.push_back(std::byte(0));
    put16(ip, static_cast<std::uint16_t>(20 + l4.size()));
    put16(ip, 0x1234);  // id
    put16(ip, 0x4000);  // DF
    ip.push_back(std::byte(64));
    ip.push_back(std::byte(proto));
    put16(ip, 0);
    put32(ip, s);
    put32(ip, d);
    set16(ip, 10, checksum(ip));
    ip.insert(ip.end(), l4.begin(), l4.end());
    return ip;
}

Bytes seq_payload(std::uint32_t seq, std::size_t len) {
    Bytes p;
    put32(p, seq);
    for (std::size_t i = 4; i < len; ++i) p.push_back(std::byte((seq * 7 + i) & 0xff));
    p.resize(len);
    return p;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Namespaces left behind by test processes that died (crash, SIGKILL) before their cleanup.
void remove_stale_namespaces() {
    DIR* d = ::opendir("/run/netns");
    if (d == nullptr) return;
    std::vector<std::string> stale;
    const std::string prefix = "ringcap-it-";
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.rfind(prefix, 0) != 0) continue;
        const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH)
            stale.push_back(name);
    }
    ::closedir(d);
    for (const std::string& ns : stale) run("ip netns del " + ns);
}

}  // namespace

int run(const std::string& command, std::string* output) {
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (p == nullptr) fail_errno("popen(" + command + ")");
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int status = ::pclose(p);
    if (output != nullptr) *output = std::move(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string run_checked(const std::string& command) {
    std::string out;
    const int rc = run(command, &out);
    if (rc != 0) fail("`" + command + "` exited with " + std::to_string(rc) + ": " + out);
    return out;
}

std::optional<std::string> live_tests_unavailable() {
    static const std::optional<std::string> why = []() -> std::optional<std::string> {
        if (::geteuid() != 0) return "needs root (network namespaces, AF_PACKET sockets)";
        if (run("ip -V") != 0) return "the ip command (iproute2) is not available";
        const std::string probe = "ringcap-it-" + std::to_string(::getpid()) + "-probe";
        std::string out;
        if (run("ip netns add " + probe, &out) != 0) return "ip netns add failed: " + out;
        run("ip netns del " + probe);
        return std::nullopt;
    }();
    return why;
}

// ---- NetnsGuard ------------------------------------------------------------------------------

NetnsGuard::NetnsGuard(const std::string& netns) {
    saved_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (saved_ == -1) fail_errno("open(/proc/thread-self/ns/net)");
    const std::string path = "/run/netns/" + netns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        const int err = errno;
        ::close(saved_);
        errno = err;
        fail_errno("open(" + path + ")");
    }
    const int rc = ::setns(fd, CLONE_NEWNET);
    const int err = errno;
    ::close(fd);
    if (rc == -1) {
        ::close(saved_);
        errno = err;
        fail_errno("setns(" + path + ")");
    }
}

NetnsGuard::~NetnsGuard() {
    // Staying in the test namespace would silently point every later test at the wrong network.
    if (::setns(saved_, CLONE_NEWNET) == -1) {
        std::perror("NetnsGuard: setns back");
        std::abort();
    }
    ::close(saved_);
}

// ---- VethPair --------------------------------------------------------------------------------

VethPair::VethPair(int mtu) {
    static std::atomic<int> counter{0};
    const std::string pid = std::to_string(::getpid());
    const std::string n = std::to_string(counter++);
    cap_ns_ = "ringcap-it-" + pid + "-" + n + "-cap";
    peer_ns_ = "ringcap-it-" + pid + "-" + n + "-peer";
    cap_if_ = "rc" + pid + "c" + n;
    peer_if_ = "rc" + pid + "p" + n;
    if (cap_if_.size() >= IFNAMSIZ) fail("interface name too long: " + cap_if_);
    remove_stale_namespaces();
    try {
        for (const std::string* ns : {&cap_ns_, &peer_ns_}) {
            run_checked("ip netns add " + *ns);
            // Before the link exists, so that it never gets an IPv6 address (no ND, no MLD).
            run_checked("ip netns exec " + *ns +
                        " sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
                        " net.ipv6.conf.default.disable_ipv6=1");
        }
        const std::string m = std::to_string(mtu);
        run_checked("ip -n " + cap_ns_ + " link add " + cap_if_ + " address " + mac_text(cap_mac) +
                    " mtu " + m + " type veth peer name " + peer_if_ + " netns " + peer_ns_ +
                    " address " + mac_text(peer_mac) + " mtu " + m);
        run_checked("ip netns exec " + cap_ns_ + " sysctl -qw net.ipv6.conf." + cap_if_ +
                    ".disable_ipv6=1");
        run_checked("ip netns exec " + peer_ns_ + " sysctl -qw net.ipv6.conf." + peer_if_ +
                    ".disable_ipv6=1");
        run_checked("ip -n " + cap_ns_ + " link set " + cap_if_ + " up");
        run_checked("ip -n " + peer_ns_ + " link set " + peer_if_ + " up");
        {
            NetnsGuard in(cap_ns_);
            cap_ifindex_ = static_cast<int>(::if_nametoindex(cap_if_.c_str()));
        }
        {
            NetnsGuard in(peer_ns_);
            peer_ifindex_ = static_cast<int>(::if_nametoindex(peer_if_.c_str()));
        }
        if (cap_ifindex_ == 0 || peer_ifindex_ == 0) fail("veth pair has no ifindex");
    } catch (...) {
        run("ip netns del " + cap_ns_);
        run("ip netns del " + peer_ns_);
        throw;
    }
}

VethPair::~VethPair() {
    run("ip netns del " + cap_ns_);
    run("ip netns del " + peer_ns_);
}

void VethPair::set_mtu(int mtu) {
    run_checked("ip -n " + cap_ns_ + " link set " + cap_if_ + " mtu " + std::to_string(mtu));
    run_checked("ip -n " + peer_ns_ + " link set " + peer_if_ + " mtu " + std::to_string(mtu));
}

int VethPair::cap_promiscuity() const {
    const std::string out = run_checked("ip -n " + cap_ns_ + " -d link show dev " + cap_if_);
    const auto at = out.find("promiscuity ");
    if (at == std::string::npos) fail("no promiscuity in: " + out);
    return std::atoi(out.c_str() + at + std::strlen("promiscuity "));
}

// ---- RawSender -------------------------------------------------------------------------------

RawSender::RawSender(const std::string& netns, const std::string& ifname) {
    NetnsGuard in(netns);
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd_ == -1) fail_errno("socket(AF_PACKET, SOCK_RAW)");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = 0;  // send only
    addr.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
    if (addr.sll_ifindex == 0 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == -1) {
        const int err = errno;
        ::close(fd_);
        errno = err;
        fail_errno("bind(AF_PACKET, " + ifname + " in " + netns + ")");
    }
}

RawSender::~RawSender() {
    if (fd_ != -1) ::close(fd_);
}

void RawSender::send(std::span<const std::byte> frame) {
    const ssize_t n = ::send(fd_, frame.data(), frame.size(), 0);
    if (n == -1) fail_errno("send(" + std::to_string(frame.size()) + "-byte frame)");
    if (static_cast<std::size_t>(n) != frame.size())
        fail("short send: " + std::to_string(n) + " of " + std::to_string(frame.size()));
}

// ---- Frames ----------------------------------------------------------------------------------

Bytes ether_frame(const Mac& dst, const Mac& src, std::uint16_t ethertype,
                  std::span<const std::byte> payload) {
    Bytes f;
    f.reserve(14 + payload.size());
    put_mac(f, dst);
    put_mac(f, src);
    put16(f, ethertype);
    f.insert(f.end(), payload.begin(), payload.end());
    if (f.size() < 60) f.resize(60);
    return f;
}

Bytes test_frame(const Mac& dst, const Mac& src, std::size_t length, std::uint32_t seq) {
    if (length < 18) fail("test_frame shorter than 18 bytes");
    Bytes f = ether_frame(dst, src, kTestEthertype, seq_payload(seq, length - 14));
    f.resize(length);
    return f;
}

Bytes udp_frame(const Mac& dst, const Mac& src, const std::string& ip_src,
                const std::string& ip_dst, std::uint16_t sport, std::uint16_t dport,
                std::uint32_t seq, std::size_t payload_len) {
    Bytes udp;
    put16(udp, sport);
    put16(udp, dport);
    put16(udp, static_cast<std::uint16_t>(8 + payload_len));
    put16(udp, 0);
    const Bytes p = seq_payload(seq, payload_len);
    udp.insert(udp.end(), p.begin(), p.end());
    return ether_frame(dst, src, ETH_P_IP, ipv4_packet(IPPROTO_UDP, ip_src, ip_dst, udp, 6));
}

std::vector<Bytes> ipv4_fragments(const Bytes& frame, std::uint16_t id, std::size_t chunk) {
    constexpr std::size_t kIp = 14;  // Ethernet header, then a 20-byte IPv4 header
    if (frame.size() < kIp + 20 || chunk % 8 != 0 || chunk == 0) fail("ipv4_fragments: bad input");
    const std::size_t payload = frame.size() - kIp - 20;
    std::vector<Bytes> out;
    for (std::size_t at = 0; at < payload; at += chunk) {
        const std::size_t n = std::min(chunk, payload - at);
        Bytes f(frame.begin(), frame.begin() + kIp + 20);
        f.insert(f.end(), frame.begin() + kIp + 20 + at, frame.begin() + kIp + 20 + at + n);
        set16(f, kIp + 2, static_cast<std::uint16_t>(20 + n));
        set16(f, kIp + 4, id);
        const bool more = at + n < payload;
        set16(f, kIp + 6, static_cast<std::uint16_t>((more ? 0x2000 : 0) | at / 8));
        set16(f, kIp + 10, 0);
        set16(f, kIp + 10, checksum(std::span<const std::byte>(f).subspan(kIp, 20)));
        out.push_back(std::move(f));
    }
    return out;
}

Bytes tcp_frame(const Mac& dst, const Mac& src, const std::string& ip_src,
                const std::string& ip_dst, std::uint16_t sport, std::uint16_t dport,
                std::uint8_t flags, std::uint32_t seq, std::size_t payload_len) {
    Bytes tcp;
    put16(tcp, sport);
    put16(tcp, dport);
    put32(tcp, 1000 + seq);            // sequence number
    put32(tcp, 5000);                  // ack
    tcp.push_back(std::byte(5 << 4));  // data offset: 20 bytes
    tcp.push_back(std::byte(flags));   // tcp[13]
    put16(tcp, 65535);                 // window
    put16(tcp, 0);                     // checksum
    put16(tcp, 0);                     // urgent
    const Bytes p = seq_payload(seq, payload_len);
    tcp.insert(tcp.end(), p.begin(), p.end());
    return ether_frame(dst, src, ETH_P_IP, ipv4_packet(IPPROTO_TCP, ip_src, ip_dst, tcp, 16));
}

Bytes arp_request(const Mac& src, const std::string& sender, const std::string& target) {
    Bytes a;
    put16(a, 1);  // Ethernet
    put16(a, ETH_P_IP);
    a.push_back(std::byte(6));
    a.push_back(std::byte(4));
    put16(a, 1);  // request
    put_mac(a, src);
    put32(a, ipv4(sender));
    put_mac(a, Mac{});
    put32(a, ipv4(target));
    return ether_frame(kBroadcast, src, ETH_P_ARP, a);
}

Bytes with_vlan(std::span<const std::byte> frame, std::uint16_t tpid, std::uint16_t tci) {
    if (frame.size() < 12) fail("with_vlan: frame shorter than two MAC addresses");
    Bytes f(frame.begin(), frame.begin() + 12);
    put16(f, tpid);
    put16(f, tci);
    f.insert(f.end(), frame.begin() + 12, frame.end());
    return f;
}

std::uint16_t be16_at(std::span<const std::byte> b, std::size_t off) {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[off]) << 8 |
                                      std::to_integer<unsigned>(b[off + 1]));
}

std::uint32_t be32_at(std::span<const std::byte> b, std::size_t off) {
    return std::uint32_t(be16_at(b, off)) << 16 | be16_at(b, off + 2);
}

std::string hex(std::span<const std::byte> b, std::size_t max) {
    std::string out;
    char buf[4];
    for (std::size_t i = 0; i < b.size() && i < max; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", std::to_integer<unsigned>(b[i]));
        out += buf;
        if (i % 2 == 1) out += ' ';
    }
    if (b.size() > max) out += "...";
    return out;
}

// ---- Capturing -------------------------------------------------------------------------------

Captured copy_of(const PacketView& p) {
    return {.bytes = Bytes(p.bytes().begin(), p.bytes().end()),
            .caplen = p.caplen(),
            .wire_len = p.wire_len(),
            .ts_ns = p.ts_ns(),
            .ifindex = p.ifindex(),
            .pkttype = p.pkttype(),
            .outgoing = p.is_outgoing(),
            .truncated = p.is_truncated(),
            .has_vlan = p.has_vlan(),
            .vlan_tci = p.vlan_tci(),
            .vlan_id = p.vlan_id(),
            .vlan_tpid = p.vlan_tpid(),
            .status = p.status()};
}

std::vector<Captured> collect(Capture& cap, std::size_t count, std::chrono::milliseconds deadline,
                              std::chrono::milliseconds linger) {
    std::vector<Captured> out;
    const auto end = Clock::now() + deadline;
    std::optional<Clock::time_point> stop_at;
    if (count == 0) stop_at = Clock::now() + linger;
    for (;;) {
        const auto now = Clock::now();
        const auto limit = stop_at ? *stop_at : end;
        if (now >= limit) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - now) + 1ms;
        if (auto batch = cap.next_batch(std::min<std::chrono::milliseconds>(left, 50ms)))
            for (PacketView p : *batch) out.push_back(copy_of(p));
        if (!stop_at && out.size() >= count) stop_at = Clock::now() + linger;
    }
    return out;
}

// ---- tcpdump ---------------------------------------------------------------------------------

bool Tcpdump::available() {
    static const bool yes = run("tcpdump --version") == 0;
    return yes;
}

Tcpdump::Tcpdump(const std::string& netns, const std::string& ifname, const std::string& filter,
                 std::chrono::milliseconds ready_deadline) {
    char tmpl[] = "/tmp/ringcap-it-tcpdump-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) fail_errno("mkdtemp");
    dir_ = tmpl;
    pcap_path_ = dir_ + "/out.pcap";
    log_path_ = dir_ + "/stderr.txt";

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                       0644);
    // -Z root: tcpdump would otherwise drop to its own user, who cannot write into our dir.
    std::vector<std::string> args = {"ip", "netns", "exec", netns,     "tcpdump",
                                     "-i", ifname,  "-n",   "-U",      "--immediate-mode",
                                     "-Z", "root",  "-w",   pcap_path_};
    if (!filter.empty()) args.push_back(filter);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, "ip", &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        errno = rc;
        fail_errno("posix_spawnp(ip netns exec ... tcpdump)");
    }
    const auto end = Clock::now() + ready_deadline;
    while (slurp(log_path_).find("listening on") == std::string::npos) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            fail("tcpdump exited early: " + slurp(log_path_));
        }
        if (Clock::now() >= end) {
            stop();
            fail("tcpdump not ready after " + std::to_string(ready_deadline.count()) +
                 " ms: " + slurp(log_path_));
        }
        std::this_thread::sleep_for(10ms);
    }
}

Tcpdump::~Tcpdump() {
    stop();
    std::remove(pcap_path_.c_str());
    std::remove(log_path_.c_str());
    ::rmdir(dir_.c_str());
}

void Tcpdump::stop() {
    if (pid_ == -1) return;
    ::kill(pid_, SIGINT);
    const auto end = Clock::now() + 3s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (Clock::now() >= end) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            break;
        }
        std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
}

std::vector<Bytes> Tcpdump::finish(std::size_t count, std::chrono::milliseconds deadline,
                                   std::chrono::milliseconds linger) {
    const auto end = Clock::now() + deadline;
    while (read_pcap(pcap_path_).size() < count && Clock::now() < end)
        std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(linger);
    stop();
    return read_pcap(pcap_path_);
}

std::vector<Bytes> read_pcap(const std::string& path) {
    const std::string data = slurp(path);
    std::vector<Bytes> out;
    if (data.size() < 24) return out;
    std::uint32_t magic;
    std::memcpy(&magic, data.data(), 4);
    bool swapped;
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
        swapped = false;
    else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
        swapped = true;
    else
        fail(path + ": not a pcap file");
    std::size_t off = 24;
    while (off + 16 <= data.size()) {
        std::uint32_t caplen;
        std::memcpy(&caplen, data.data() + off + 8, 4);
        if (swapped) caplen = __builtin_bswap32(caplen);
        if (off + 16 + caplen > data.size()) break;
        const auto* p = reinterpret_cast<const std::byte*>(data.data() + off + 16);
        out.emplace_back(p, p + caplen);
        off += 16 + caplen;
    }
    return out;
}

}  // namespace ringcap::test
