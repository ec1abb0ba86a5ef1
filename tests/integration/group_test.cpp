// CaptureGroup and TimeMerge on live veth pairs: fanout workers keep flows together (both
// directions of a connection too), lose and duplicate nothing; a merge puts several workers or
// interfaces back into timestamp order; rollover moves a stalled worker's share; group ids.
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "live_test.hpp"

namespace ringcap::test {
namespace {

constexpr std::size_t kUdpSeqAt = 14 + 20 + 8;  // Ethernet, IPv4, UDP: then the sequence number
constexpr std::size_t kTcpSeqAt = 14 + 20 + 20;

struct Seen {
    std::uint32_t seq = 0;
    std::uint16_t sport = 0, dport = 0;
    std::int64_t ts = 0;
};

// Runs `group` until `want` packets arrived in all (or 5 s passed, or 300 ms more after that),
// keeping what each worker saw.
std::vector<std::vector<Seen>> run_until(CaptureGroup& group, std::size_t want, std::size_t seq_at,
                                         const std::function<void()>& send) {
    std::vector<std::vector<Seen>> seen(group.size());
    std::atomic<std::size_t> total{0};
    StopSource stop;
    std::thread runner([&] {
        group.run(
            [&](std::size_t w, Batch& b) {
                for (const PacketView& p : b) {
                    if (p.caplen() < seq_at + 4) continue;
                    seen[w].push_back({be32_at(p.bytes(), seq_at), be16_at(p.bytes(), 34),
                                       be16_at(p.bytes(), 36), p.ts_ns()});
                    ++total;
                }
            },
            stop, {}, 10ms);
    });
    send();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (total < want && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
    runner.join();
    return seen;
}

// Stops a run_merged() thread, draining the merge meanwhile (its workers may wait for room).
void stop_and_drain(StopSource& stop, TimeMerge& merge, std::thread& runner) {
    stop.request_stop();
    std::thread drainer([&] {
        PacketView views[64];
        while (!merge.done()) merge.pop(views, {}, 20ms);
    });
    runner.join();
    drainer.join();
}

class GroupTest : public LiveTest {
  protected:
    // UDP to ports 1000..1006: a program choosing by the port's lowest bit sends each packet to
    // worker (port % 2); every packet arrives once.
    void expect_workers_by_port_parity(CaptureGroup& group) {
        constexpr std::uint32_t kPackets = 200;
        const auto seen = run_until(group, kPackets, kUdpSeqAt, [&] {
            RawSender tx = from_peer();
            for (std::uint32_t q = 0; q < kPackets; ++q)
                tx.send(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.2", "10.0.0.1",
                                  20000, static_cast<std::uint16_t>(1000 + q % 7), q));
        });
        std::size_t n = 0;
        for (std::size_t w = 0; w < 2; ++w)
            for (const Seen& x : seen[w]) {
                EXPECT_EQ(x.dport % 2, w) << "port " << x.dport << " on worker " << w;
                ++n;
            }
        EXPECT_EQ(n, kPackets);
    }

    CaptureGroup open_group(std::size_t workers, FanoutOptions fanout = {}) {
        NetnsGuard in(pair_->cap_ns());
        return CaptureGroup::open({.interfaces = {pair_->cap_if()},
                                   .workers = workers,
                                   .capture = {.version = version()},
                                   .fanout = fanout});
    }
};

TEST_P(GroupTest, HashKeepsEachFlowOnOneWorkerAndLosesNothing) {
    CaptureGroup group = open_group(2);
    ASSERT_EQ(group.size(), 2u);
    ASSERT_TRUE(group.capture(0).info().fanout_group.has_value());
    EXPECT_EQ(group.capture(0).info().fanout_group, group.capture(1).info().fanout_group);
    constexpr std::uint32_t kFlows = 64, kPerFlow = 20;
    const auto seen = run_until(group, kFlows * kPerFlow, kUdpSeqAt, [&] {
        RawSender tx = from_peer();
        std::uint32_t seq = 0;
        for (std::uint32_t i = 0; i < kPerFlow; ++i)
            for (std::uint32_t f = 0; f < kFlows; ++f)
                tx.send(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.2", "10.0.0.1",
                                  static_cast<std::uint16_t>(20000 + f), 9, seq++));
    });
    std::map<std::uint16_t, std::set<std::size_t>> workers_of_flow;
    std::multiset<std::uint32_t> seqs;
    for (std::size_t w = 0; w < seen.size(); ++w)
        for (const Seen& s : seen[w]) {
            workers_of_flow[s.sport].insert(w);
            seqs.insert(s.seq);
        }
    EXPECT_EQ(seqs.size(), kFlows * kPerFlow) << "packets lost or duplicated";
    for (std::uint32_t q = 0; q < kFlows * kPerFlow; ++q) EXPECT_EQ(seqs.count(q), 1u) << q;
    EXPECT_EQ(workers_of_flow.size(), kFlows);
    for (const auto& [port, workers] : workers_of_flow)
        EXPECT_EQ(workers.size(), 1u) << "flow from port " << port << " split over workers";
    EXPECT_FALSE(seen[0].empty());  // 64 flows all on one worker: 2^-63
    EXPECT_FALSE(seen[1].empty());
    const std::vector<CaptureStats> st = group.stats();
    EXPECT_EQ(st[0].packets + st[1].packets, kFlows * kPerFlow);
    EXPECT_EQ(st[0].drops + st[1].drops, 0u);
}

TEST_P(GroupTest, HashIsSymmetric) {
    CaptureGroup group = open_group(2);
    constexpr std::uint32_t kConnections = 32;
    const auto seen = run_until(group, kConnections * 2, kTcpSeqAt, [&] {
        RawSender in = from_peer();
        RawSender out = from_cap();
        for (std::uint32_t c = 0; c < kConnections; ++c) {
            const auto port = static_cast<std::uint16_t>(30000 + c);
            in.send(tcp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.2", "10.0.0.1", port,
                              80, 0x18, 2 * c));
            out.send(tcp_frame(VethPair::peer_mac, VethPair::cap_mac, "10.0.0.1", "10.0.0.2", 80,
                               port, 0x18, 2 * c + 1));
        }
    });
    std::map<std::uint16_t, std::set<std::size_t>> workers_of_connection;
    std::size_t n = 0;
    for (std::size_t w = 0; w < seen.size(); ++w)
        for (const Seen& s : seen[w]) {
            workers_of_connection[std::max(s.sport, s.dport)].insert(w);
            ++n;
        }
    EXPECT_EQ(n, kConnections * 2);
    EXPECT_EQ(workers_of_connection.size(), kConnections);
    for (const auto& [port, workers] : workers_of_connection)
        EXPECT_EQ(workers.size(), 1u) << "the two directions of :" << port << " on two workers";
}

TEST_P(GroupTest, MergeGivesEveryPacketOnceInTimestampOrder) {
    CaptureGroup group = open_group(2, {.mode = FanoutMode::lb});
    TimeMerge merge(group.size());
    constexpr std::uint32_t kPackets = 3000;
    std::vector<Seen> merged;
    std::vector<std::uint32_t> from_worker(kPackets + 1, 99);
    StopSource stop;
    std::thread runner([&] { group.run_merged(merge, stop); });
    std::thread sender([&] {
        RawSender tx = from_peer();
        for (std::uint32_t q = 0; q < kPackets; ++q)
            tx.send(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.2", "10.0.0.1",
                              static_cast<std::uint16_t>(20000 + q % 50), 9, q));
    });
    PacketView views[256];
    std::uint32_t from[256];
    const auto deadline = std::chrono::steady_clock::now() + 8s;
    while (merged.size() < kPackets && std::chrono::steady_clock::now() < deadline) {
        const std::size_t n = merge.pop(views, from, 20ms);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t seq = be32_at(views[i].bytes(), kUdpSeqAt);
            merged.push_back({seq, 0, 0, views[i].ts_ns()});
            if (seq < kPackets) from_worker[seq] = from[i];
        }
    }
    sender.join();
    stop_and_drain(stop, merge, runner);
    ASSERT_EQ(merged.size(), kPackets);
    EXPECT_TRUE(std::is_sorted(merged.begin(), merged.end(),
                               [](const Seen& a, const Seen& b) { return a.ts < b.ts; }));
    std::vector<std::uint32_t> seqs;
    for (const Seen& s : merged) seqs.push_back(s.seq);
    std::sort(seqs.begin(), seqs.end());
    for (std::uint32_t q = 0; q < kPackets; ++q) ASSERT_EQ(seqs[q], q);
    EXPECT_EQ(merge.late(), 0u);
    // Round robin: both workers delivered about half.
    const auto zero = std::count(from_worker.begin(), from_worker.end() - 1, 0u);
    EXPECT_GT(zero, kPackets / 4);
    EXPECT_LT(zero, kPackets * 3 / 4);
}

TEST_P(GroupTest, AGroupIdInUseWithAnotherModeIsAClearError) {
    const std::uint16_t id = static_cast<std::uint16_t>(0x4000 + ::getpid() % 0x3000);
    CaptureGroup first = open_group(2, {.mode = FanoutMode::hash, .group = id});
    EXPECT_EQ(first.capture(1).info().fanout_group, id);
    try {
        CaptureGroup second = open_group(2, {.mode = FanoutMode::lb, .group = id});
        FAIL() << "joined group " << id << " with another mode";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        EXPECT_NE(std::string(e.what()).find("group " + std::to_string(id) + ", lb"),
                  std::string::npos)
            << e.what();
        EXPECT_NE(e.hint().find("another mode"), std::string::npos) << e.hint();
    }
    // Without an id, groups never collide.
    CaptureGroup a = open_group(2);
    CaptureGroup b = open_group(2);
    EXPECT_NE(a.capture(0).info().fanout_group, b.capture(0).info().fanout_group);
    EXPECT_NE(a.capture(0).info().fanout_group, id);
}

TEST_P(GroupTest, RolloverGivesAStalledWorkersShareToTheOther) {
    // Worker 0 never reads: once its ring is full, rollover sends its packets to worker 1.
    // (V2 frames default to 64 KiB on veth, whose offloads are on: 2 KiB frames hold these.)
    NetnsGuard in(pair_->cap_ns());
    const RingGeometry ring = version() == TpacketVersion::v3
                                  ? RingGeometry{.buffer_size = 1u << 20}
                                  : RingGeometry{.buffer_size = 4u << 20, .frame_size = 2048};
    CaptureGroup group =
        CaptureGroup::open({.interfaces = {pair_->cap_if()},
                            .workers = 2,
                            .capture = {.version = version(), .ring = ring},
                            .fanout = {.mode = FanoutMode::hash, .flags = FanoutFlags::rollover}});
    constexpr std::uint32_t kPackets = 40000;
    std::atomic<bool> sent{false};
    std::thread sender([&] {
        RawSender tx = from_peer();
        for (std::uint32_t q = 0; q < kPackets; ++q)
            tx.send(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.2", "10.0.0.1",
                              static_cast<std::uint16_t>(20000 + q % 64), 9, q, 200));
        sent = true;
    });
    std::size_t reader = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    auto last = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto b = group.capture(1).next_batch(10ms)) {
            reader += b->size();
            last = std::chrono::steady_clock::now();
        } else if (sent && std::chrono::steady_clock::now() - last > 300ms) {
            break;
        }
    }
    sender.join();
    std::size_t stalled = 0;
    while (auto b = group.capture(0).next_batch(0ms)) stalled += b->size();
    const auto st = group.stats();
    EXPECT_EQ(reader + stalled + st[0].drops + st[1].drops, kPackets);
    // The stalled worker's ring holds what its few MiB hold (about half the packets were its
    // share by hash); the rest of its share went to the reader and is counted as rolled over.
    // (How much the reader itself dropped depends on how busy the machine is: not asserted.)
    EXPECT_LT(stalled, kPackets / 4);
    EXPECT_GT(st[0].rolled_over, kPackets / 10) << "reader " << reader << ", stalled " << stalled;
    EXPECT_LE(st[0].rolled_over, reader);
}

TEST_P(GroupTest, DefragSendsEveryFragmentOfADatagramToOneWorker) {
    // 40 datagrams of 1,400 bytes from different ports, each in 3 fragments. With defrag the
    // kernel reassembles them before choosing a worker: each datagram reaches one worker whole.
    CaptureGroup group = open_group(2, {.mode = FanoutMode::hash, .flags = FanoutFlags::defrag});
    constexpr std::uint32_t kDatagrams = 40;
    std::vector<std::vector<Captured>> seen(group.size());
    StopSource stop;
    std::atomic<std::size_t> total{0};
    std::thread runner([&] {
        group.run(
            [&](std::size_t w, Batch& b) {
                for (const PacketView& p : b) {
                    seen[w].push_back(copy_of(p));
                    ++total;
                }
            },
            stop, {}, 10ms);
    });
    {
        RawSender tx = from_peer();
        for (std::uint32_t d = 0; d < kDatagrams; ++d) {
            const Bytes whole =
                udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.2", "10.0.0.1",
                          static_cast<std::uint16_t>(40000 + d), 9, d, 1400);
            for (const Bytes& f : ipv4_fragments(whole, static_cast<std::uint16_t>(0x100 + d), 512))
                tx.send(f);
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (total < kDatagrams && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
    runner.join();
    // Every IP id seen, with all its payload bytes, on exactly one worker.
    std::map<std::uint16_t, std::set<std::size_t>> workers_of;
    std::map<std::uint16_t, std::size_t> bytes_of;
    for (std::size_t w = 0; w < seen.size(); ++w)
        for (const Captured& c : seen[w]) {
            ASSERT_GE(c.bytes.size(), 34u);
            const std::uint16_t id = be16_at(c.bytes, 18);
            workers_of[id].insert(w);
            bytes_of[id] += be16_at(c.bytes, 16) - 20u;
        }
    EXPECT_EQ(workers_of.size(), kDatagrams);
    for (const auto& [id, workers] : workers_of) {
        EXPECT_EQ(workers.size(), 1u) << "datagram " << id << " on several workers";
        EXPECT_EQ(bytes_of[id], 8u + 1400u) << "datagram " << id << " incomplete";
    }
}

TEST_P(GroupTest, TwoInterfacesMergeIntoOneTimeOrderedStream) {
    // A second veth link between the same two namespaces.
    const std::string a = pair_->cap_if() + "x", b = pair_->peer_if() + "x";
    run_checked("ip -n " + pair_->cap_ns() + " link add " + a + " type veth peer name " + b +
                " netns " + pair_->peer_ns());
    run_checked("ip -n " + pair_->cap_ns() + " link set " + a + " up");
    run_checked("ip -n " + pair_->peer_ns() + " link set " + b + " up");
    CaptureGroup group = [&] {
        NetnsGuard in(pair_->cap_ns());
        return CaptureGroup::open(
            {.interfaces = {pair_->cap_if(), a}, .capture = {.version = version()}});
    }();
    ASSERT_EQ(group.size(), 2u);
    EXPECT_EQ(group.worker(1).interface, a);
    EXPECT_EQ(group.worker(1).interface_index, 1u);
    EXPECT_FALSE(group.capture(0).info().fanout_group.has_value());
    TimeMerge merge(group.size());
    StopSource stop;
    std::thread runner([&] { group.run_merged(merge, stop); });
    constexpr std::uint32_t kPackets = 400;
    {
        RawSender one = from_peer();
        RawSender two(pair_->peer_ns(), b);
        for (std::uint32_t q = 0; q < kPackets; ++q)
            (q % 2 ? two : one)
                .send(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.2", "10.0.0.1",
                                20000, static_cast<std::uint16_t>(q % 2 ? 2 : 1), q));
    }
    std::vector<std::pair<std::int64_t, std::uint32_t>> out;
    PacketView views[64];
    std::uint32_t from[64];
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (out.size() < kPackets && std::chrono::steady_clock::now() < deadline) {
        const std::size_t n = merge.pop(views, from, 20ms);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t seq = be32_at(views[i].bytes(), kUdpSeqAt);
            // Each packet comes from the interface it was sent on.
            EXPECT_EQ(from[i], seq % 2) << "packet " << seq;
            out.push_back({views[i].ts_ns(), seq});
        }
    }
    stop_and_drain(stop, merge, runner);
    ASSERT_EQ(out.size(), kPackets);
    // Sent one after another, alternating: in time order they come back in sending order.
    for (std::uint32_t q = 0; q < kPackets; ++q) EXPECT_EQ(out[q].second, q);
    EXPECT_EQ(merge.late(), 0u);
}

TEST_P(GroupTest, CbpfProgramPicksTheWorker) {
    // Fanout programs see the packet from its network header: the UDP destination port of a
    // 20-byte IPv4 header is at 22. Even ports go to worker 0, odd ones to worker 1.
    const std::vector<sock_filter> program = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 22),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 1),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    CaptureGroup group = open_group(2, {.mode = FanoutMode::cbpf, .program = program});
    expect_workers_by_port_parity(group);
}

// An eBPF socket-filter program, loaded here with the bpf() syscall: r0 = udp dport & 1.
int load_port_parity_ebpf() {
    const bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 6, .src_reg = 1},  // r6 = skb
        {.code = BPF_LD | BPF_ABS | BPF_H, .imm = 22},                      // r0 = dport
        {.code = BPF_ALU64 | BPF_AND | BPF_K, .dst_reg = 0, .imm = 1},
        {.code = BPF_JMP | BPF_EXIT},
    };
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = reinterpret_cast<std::uint64_t>(prog);
    attr.insn_cnt = sizeof prog / sizeof prog[0];
    attr.license = reinterpret_cast<std::uint64_t>("GPL");
    return static_cast<int>(::syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
}

TEST_P(GroupTest, EbpfProgramPicksTheWorker) {
    const int prog = load_port_parity_ebpf();
    ASSERT_GE(prog, 0) << "BPF_PROG_LOAD: " << std::strerror(errno);
    CaptureGroup group = open_group(2, {.mode = FanoutMode::ebpf, .program_fd = prog});
    ::close(prog);  // the group holds its own reference now
    expect_workers_by_port_parity(group);
}

TEST_P(GroupTest, CbpfWithoutAProgramIsAClearError) {
    try {
        open_group(2, {.mode = FanoutMode::cbpf});
        FAIL() << "cbpf fanout without a program";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("needs a program"), std::string::npos) << e.what();
    }
}

TEST_P(GroupTest, AnInterfaceGivenTwiceIsRefused) {
    NetnsGuard in(pair_->cap_ns());
    try {
        CaptureGroup::open({.interfaces = {pair_->cap_if(), pair_->cap_if()}});
        FAIL() << "opened one interface twice";
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), EINVAL);
        EXPECT_NE(std::string(e.what()).find("given twice"), std::string::npos) << e.what();
    }
}

RINGCAP_LIVE_SUITE(GroupTest);

}  // namespace
}  // namespace ringcap::test
