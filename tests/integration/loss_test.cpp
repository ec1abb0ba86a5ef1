// LossMonitor live: the NIC stage read over rtnetlink in the namespace the thread entered with
// setns() (sysfs would show the host's), and the stack stage's BPF program counting the kernel's
// drop reason for the watched interface only, not for an interface of another namespace that
// has the same ifindex.
#include <gtest/gtest.h>

#include <ringcap/stats.hpp>

#include "netns.hpp"

namespace ringcap::test {
namespace {

TEST(LossMonitorLive, CountsTheWatchedInterfacesDropsByReasonOnly) {
    if (auto why = live_tests_unavailable()) GTEST_SKIP() << *why;
    VethPair pair;
    std::optional<LossMonitor> monitor;
    {
        NetnsGuard in(pair.cap_ns());
        monitor.emplace(LossMonitor::open({.interfaces = {pair.cap_if()}, .watch_stack = true}));
    }
    LossLedger before = monitor->sample();
    if (!before.stack.unavailable.empty()) GTEST_SKIP() << before.stack.unavailable;

    // Frames of an EtherType nobody handles: with no packet socket on the interface, the core
    // drops them (rx_dropped, SKB_DROP_REASON_UNHANDLED_PROTO). 40 arrive on cap_if, 25 on the
    // peer's interface, which has the same ifindex in the other namespace (each end is the
    // first interface made in its namespace after lo).
    RawSender to_cap(pair.peer_ns(), pair.peer_if());
    RawSender to_peer(pair.cap_ns(), pair.cap_if());
    for (std::uint32_t i = 0; i < 40; ++i)
        to_cap.send(test_frame(VethPair::cap_mac, VethPair::peer_mac, 100, i));
    for (std::uint32_t i = 0; i < 25; ++i)
        to_peer.send(test_frame(VethPair::peer_mac, VethPair::cap_mac, 100, i));

    LossLedger l;
    {
        NetnsGuard in(pair.cap_ns());  // the NIC stage is read in the thread's namespace
        l = monitor->sample();
    }
    ASSERT_EQ(l.nic.size(), 1u);
    EXPECT_EQ(l.nic[0].interface, pair.cap_if());
    ASSERT_TRUE(l.nic[0].rx_dropped.has_value());
    EXPECT_EQ(*l.nic[0].rx_dropped, 40u);
    EXPECT_FALSE(l.nic[0].rx_missed.has_value()) << "veth has no hardware counters";
    EXPECT_TRUE(l.nic[0].driver_unavailable.empty()) << l.nic[0].driver_unavailable;
    std::uint64_t unhandled = 0;
    for (const StackCounters::Drop& d : l.stack.drops) {
        EXPECT_EQ(d.interface, pair.cap_if());
        if (d.reason == "UNHANDLED_PROTO") unhandled += d.count;
    }
    EXPECT_EQ(unhandled, 40u) << "the peer's 25 drops are in another namespace";
    EXPECT_GE(l.elapsed, before.elapsed);
    EXPECT_EQ(l.backlog.unavailable, "");
}

TEST(LossMonitorLive, StackNotAskedIsNotWatched) {
    if (auto why = live_tests_unavailable()) GTEST_SKIP() << *why;
    VethPair pair;
    NetnsGuard in(pair.cap_ns());
    LossMonitor m = LossMonitor::open({.interfaces = {pair.cap_if()}});
    const LossLedger l = m.sample();
    EXPECT_FALSE(l.stack.watched);
    EXPECT_TRUE(l.stack.drops.empty());
    EXPECT_EQ(l.nic.at(0).rx_dropped.value_or(99), 0u);
}

}  // namespace
}  // namespace ringcap::test
