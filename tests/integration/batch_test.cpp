// The ring's life cycle: empty rings and timeouts, a pollable fd, batches handed back to the
// kernel (a small ring carries many times its size), overflow counted as drops, and Batch moves
// and repeated iteration.
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "live_test.hpp"

namespace ringcap::test {
namespace {

using Clock = std::chrono::steady_clock;

class Batches : public LiveTest {
  protected:
    // Small enough that a test can fill it with a few dozen frames.
    RingGeometry small_ring() const {
        if (version() == TpacketVersion::v3) return {.buffer_size = 4 * 8192, .block_size = 8192};
        return {.buffer_size = 4 * 4096, .block_size = 4096, .frame_size = 2048};
    }

    // Waits up to `deadline` for a non-empty batch.
    std::optional<Batch> first_batch(Capture& cap, std::chrono::milliseconds deadline = 3s) {
        const auto end = Clock::now() + deadline;
        while (Clock::now() < end)
            if (auto b = cap.next_batch(50ms); b && !b->empty()) return b;
        return std::nullopt;
    }
};
RINGCAP_LIVE_SUITE(Batches);

std::chrono::milliseconds since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

TEST_P(Batches, EmptyRingTimesOut) {
    Capture cap = open(options());
    auto t = Clock::now();
    EXPECT_FALSE(cap.next_batch(0ms).has_value());
    EXPECT_LT(since(t), 50ms) << "next_batch(0ms) must not block";

    t = Clock::now();
    EXPECT_FALSE(cap.next_batch(200ms).has_value());
    EXPECT_GE(since(t), 190ms) << "returned before the timeout with nothing to give";
    EXPECT_LT(since(t), 2000ms);
    EXPECT_EQ(cap.stats().packets, 0u);
}

TEST_P(Batches, OneFrameIsDeliveredPromptly) {
    // V3 hands over a block only when it is full or its timeout (1 ms by default) expires; a
    // lone frame must not wait for a block to fill.
    Capture cap = open(options());
    const Bytes frame = test_frame(VethPair::cap_mac, VethPair::peer_mac, 100, 1);
    const auto t = Clock::now();
    from_peer().send(frame);
    auto b = cap.next_batch(2000ms);
    const auto waited = since(t);
    ASSERT_TRUE(b.has_value());
    ASSERT_EQ(b->size(), 1u);
    EXPECT_EQ(b->version(), version());
    EXPECT_EQ(copy_of(*b->begin()).bytes, frame);
    EXPECT_LT(waited, 500ms);
}

TEST_P(Batches, BusyPollSpinsThenDeliversAndStillTimesOut) {
    CaptureOptions o{.interface = pair_->cap_if(), .busy_poll = 0us};
    if (version() == TpacketVersion::v3) o.version = TpacketVersion::v3;  // given: kept
    Capture cap = open(o);
    // Without a version, busy polling picks V2 frames (a V3 block would still wait its timeout).
    EXPECT_EQ(cap.info().layout.version, version());

    auto t = Clock::now();
    EXPECT_FALSE(cap.next_batch(100ms).has_value());
    EXPECT_GE(since(t), 95ms) << "gave up spinning before the timeout";
    EXPECT_LT(since(t), 1000ms);

    const Bytes frame = test_frame(VethPair::cap_mac, VethPair::peer_mac, 120, 7);
    from_peer().send(frame);
    auto b = first_batch(cap);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(copy_of(*b->begin()).bytes, frame);
}

TEST_P(Batches, FdIsPollable) {
    Capture cap = open(options());
    pollfd p{.fd = cap.fd(), .events = POLLIN, .revents = 0};
    EXPECT_EQ(::poll(&p, 1, 0), 0) << "POLLIN on an empty ring";

    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    ASSERT_NE(ep, -1);
    epoll_event ev{.events = EPOLLIN, .data = {.u64 = 42}};
    ASSERT_EQ(::epoll_ctl(ep, EPOLL_CTL_ADD, cap.fd(), &ev), 0);

    const Bytes frame = test_frame(VethPair::cap_mac, VethPair::peer_mac, 300, 1);
    from_peer().send(frame);
    epoll_event out{};
    EXPECT_EQ(::epoll_wait(ep, &out, 1, 2000), 1);
    EXPECT_TRUE(out.events & EPOLLIN);
    EXPECT_EQ(out.data.u64, 42u);
    p.revents = 0;
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    EXPECT_TRUE(p.revents & POLLIN);
    {
        // Readable fd: next_batch(0ms) does not wait and has the frame.
        auto b = cap.next_batch(0ms);
        ASSERT_TRUE(b.has_value());
        ASSERT_EQ(b->size(), 1u);
        EXPECT_EQ(copy_of(*b->begin()).bytes, frame);
    }
    // Handed back: nothing to read any more.
    p.revents = 0;
    EXPECT_EQ(::poll(&p, 1, 0), 0);
    EXPECT_EQ(::epoll_wait(ep, &out, 1, 0), 0);
    ::close(ep);
}

// The ring holds a few frames; rounds of frames many times its size arrive whole only if every
// batch goes back to the kernel when it is destroyed.
TEST_P(Batches, SmallRingIsRecycledByRelease) {
    CaptureOptions o = options();
    o.ring = small_ring();
    Capture cap = open(o);
    const RingLayout& layout = cap.info().layout;
    EXPECT_EQ(layout.block_count, 4u);
    EXPECT_EQ(layout.total_bytes(), *o.ring.buffer_size);

    const std::size_t frame_len = 500;
    const std::size_t per_round =
        version() == TpacketVersion::v3 ? 8 : layout.frame_count - 2;  // fits in an empty ring
    const std::size_t rounds = 40;
    ASSERT_GT(per_round * rounds * frame_len, 4 * layout.total_bytes());

    RawSender peer = from_peer();
    std::uint32_t seq = 0;
    std::size_t total = 0;
    for (std::size_t r = 0; r < rounds; ++r) {
        std::vector<Bytes> sent;
        for (std::size_t i = 0; i < per_round; ++i)
            sent.push_back(test_frame(VethPair::cap_mac, VethPair::peer_mac, frame_len, seq++));
        peer.send(sent);
        const auto got = collect(cap, sent.size(), 3s, 0ms);
        ASSERT_TRUE(same_frames(got, sent)) << "round " << r;
        total += got.size();
    }
    EXPECT_EQ(total, per_round * rounds);
    const CaptureStats st = cap.stats();
    EXPECT_EQ(st.packets, total);
    EXPECT_EQ(st.drops, 0u);
    EXPECT_EQ(st.freeze_q_count, 0u);
}

// Nobody reads: the ring fills, the rest is dropped and counted, the first frames survive intact,
// and once the ring is drained capture goes on, flagging that packets were lost meanwhile.
TEST_P(Batches, FullRingDropsAndCountsThenRecovers) {
    CaptureOptions o = options();
    o.ring = small_ring();
    Capture cap = open(o);
    const std::size_t burst = 60;
    std::vector<Bytes> sent;
    for (std::uint32_t i = 0; i < burst; ++i)
        sent.push_back(test_frame(VethPair::cap_mac, VethPair::peer_mac, 1000, i));
    RawSender peer = from_peer();
    peer.send(sent);

    const auto got = collect(cap, burst, 1s, 0ms);
    ASSERT_GT(got.size(), 0u);
    ASSERT_LT(got.size(), burst) << "the ring should not hold " << burst << " frames";
    if (version() == TpacketVersion::v2) {
        EXPECT_EQ(got.size(), cap.info().layout.frame_count);
    }
    // What arrived is the beginning of the burst, unharmed.
    EXPECT_TRUE(same_frames(got, std::vector<Bytes>(sent.begin(), sent.begin() + got.size())));

    // After the drain, new frames arrive. V2 marks them TP_STATUS_LOSING until the counters are
    // read; V3 has no per-packet mark (tpacket_rcv sets it for V1/V2 only).
    const std::vector<Bytes> more = {test_frame(VethPair::cap_mac, VethPair::peer_mac, 200, 100),
                                     test_frame(VethPair::cap_mac, VethPair::peer_mac, 200, 101)};
    peer.send(more);
    const auto later = collect(cap, more.size());
    EXPECT_TRUE(same_frames(later, more));
    ASSERT_FALSE(later.empty());
    if (version() == TpacketVersion::v2) {
        EXPECT_TRUE(later[0].status & TP_STATUS_LOSING);
    }

    const CaptureStats st = cap.stats();
    EXPECT_EQ(st.drops, burst - got.size());
    EXPECT_EQ(st.packets, burst + more.size()) << "packets includes the dropped ones";
    if (version() == TpacketVersion::v3) {
        EXPECT_GT(st.freeze_q_count, 0u);
    }

    // Reading the counters resets the kernel's; the next frames are not marked any more.
    const std::vector<Bytes> last = {test_frame(VethPair::cap_mac, VethPair::peer_mac, 200, 102)};
    peer.send(last);
    const auto after = collect(cap, last.size());
    ASSERT_TRUE(same_frames(after, last));
    EXPECT_FALSE(after[0].status & TP_STATUS_LOSING);
    const CaptureStats st2 = cap.stats();
    EXPECT_EQ(st2.drops, st.drops) << "drops accumulate across reads, no new ones";
    EXPECT_EQ(st2.packets, st.packets + 1);
}

// Iterating a batch puts VLAN tags back in place once; a second pass, a partial first pass, or a
// pass over a moved-to batch see the same bytes. Moving leaves the source empty; release()
// empties the batch and can be repeated.
TEST_P(Batches, IterationIsRepeatableAndMovesTransferOwnership) {
    Capture cap = open(options());
    std::vector<Bytes> sent;
    for (std::uint32_t i = 0; i < 6; ++i)
        sent.push_back(with_vlan(udp_frame(VethPair::cap_mac, VethPair::peer_mac, "10.0.0.1",
                                           "10.0.0.2", 40000, 9, i, 100 + 50 * i),
                                 ETH_P_8021Q, tci(3, 42)));
    from_peer().send(sent);

    std::size_t seen = 0;
    const auto end = Clock::now() + 3s;
    while (seen < sent.size() && Clock::now() < end) {
        auto b = first_batch(cap, 1s);
        if (!b) break;
        const std::size_t n = b->size();
        ASSERT_LE(seen + n, sent.size());
        const std::vector<Bytes> want(sent.begin() + seen, sent.begin() + seen + n);

        // A partial pass first: only the first packet.
        for (PacketView p : *b) {
            EXPECT_EQ(copy_of(p).bytes, want[0]);
            break;
        }
        for (int pass = 0; pass < 2; ++pass) {
            std::vector<Captured> got;
            for (PacketView p : *b) got.push_back(copy_of(p));
            EXPECT_TRUE(same_frames(got, want)) << "pass " << pass;
        }

        Batch moved = std::move(*b);
        EXPECT_TRUE(b->empty());
        EXPECT_EQ(b->size(), 0u);
        EXPECT_TRUE(b->begin() == std::default_sentinel);
        ASSERT_EQ(moved.size(), n);
        std::vector<Captured> again;
        for (PacketView p : moved) again.push_back(copy_of(p));
        EXPECT_TRUE(same_frames(again, want)) << "after the move";
        for (const Captured& c : again) {
            EXPECT_TRUE(c.has_vlan);
            EXPECT_EQ(c.vlan_id, 42);
        }

        moved.release();
        EXPECT_TRUE(moved.empty());
        moved.release();  // a no-op
        EXPECT_TRUE(moved.empty());
        seen += n;
    }
    EXPECT_EQ(seen, sent.size());
    // Released batches went back: nothing is pending, and new frames still arrive.
    const std::vector<Bytes> more = {test_frame(VethPair::cap_mac, VethPair::peer_mac, 80, 9)};
    from_peer().send(more);
    EXPECT_TRUE(same_frames(collect(cap, 1), more));
}

// Batches may be kept (queued for another thread, say) while reading goes on. Memory a live
// Batch holds is never handed out again when reading comes round the ring: the ring is full at
// that point and the kernel drops, but no packet is delivered twice.
TEST_P(Batches, HeldBatchesAreNeverHandedOutTwice) {
    CaptureOptions o = options();
    o.ring = small_ring();
    Capture cap = open(o);
    const std::size_t burst = 60;
    std::vector<Bytes> sent;
    for (std::uint32_t i = 0; i < burst; ++i)
        sent.push_back(test_frame(VethPair::cap_mac, VethPair::peer_mac, 1000, i));
    RawSender peer = from_peer();
    peer.send(sent);

    std::vector<Batch> held;
    std::vector<Captured> got;
    const auto end = Clock::now() + 1s;
    while (Clock::now() < end && held.size() < 1000) {
        auto b = cap.next_batch(50ms);
        if (!b) continue;
        for (PacketView p : *b) got.push_back(copy_of(p));
        held.push_back(std::move(*b));
    }
    ASSERT_GT(got.size(), 0u);
    ASSERT_LT(got.size(), burst) << "packets delivered more than once";
    EXPECT_TRUE(same_frames(got, std::vector<Bytes>(sent.begin(), sent.begin() + got.size())));
    // The held views still show their packets: nobody gave their memory back meanwhile.
    std::size_t i = 0;
    for (Batch& b : held)
        for (PacketView p : b) EXPECT_EQ(copy_of(p).bytes, sent[i++]) << "packet " << i - 1;
    EXPECT_EQ(cap.stats().drops, burst - got.size());

    held.clear();  // all back to the kernel: capture goes on
    const std::vector<Bytes> more = {test_frame(VethPair::cap_mac, VethPair::peer_mac, 300, 100),
                                     test_frame(VethPair::cap_mac, VethPair::peer_mac, 300, 101)};
    peer.send(more);
    EXPECT_TRUE(same_frames(collect(cap, more.size()), more));
}

// One batch kept while later ones come and go: reading stops at it instead of handing it out
// again, and its packet is intact after the rest of the ring went round.
TEST_P(Batches, OneHeldBatchSurvivesTheRingGoingRound) {
    CaptureOptions o = options();
    o.ring = small_ring();
    Capture cap = open(o);
    RawSender peer = from_peer();
    const Bytes first = test_frame(VethPair::cap_mac, VethPair::peer_mac, 1000, 0);
    peer.send(first);
    std::optional<Batch> kept = first_batch(cap);
    ASSERT_TRUE(kept.has_value());
    ASSERT_EQ(kept->size(), 1u);

    std::uint32_t seq = 1;
    std::size_t received = 0;
    for (int round = 0; round < 6; ++round) {
        std::vector<Bytes> sent;
        for (int k = 0; k < 4; ++k)
            sent.push_back(test_frame(VethPair::cap_mac, VethPair::peer_mac, 1000, seq++));
        peer.send(sent);
        const auto got = collect(cap, sent.size(), 300ms, 0ms);
        for (const Captured& c : got) {
            const std::uint32_t s = be32_at(c.bytes, 14);
            EXPECT_NE(s, 0u) << "the kept packet was handed out again";
            EXPECT_LT(s, seq);
            EXPECT_EQ(c.bytes, test_frame(VethPair::cap_mac, VethPair::peer_mac, 1000, s));
        }
        received += got.size();
    }
    const std::size_t sent_total = seq - 1;
    EXPECT_LT(received, sent_total) << "the ring should have filled up behind the kept batch";
    EXPECT_EQ(copy_of(*kept->begin()).bytes, first) << "the kept packet was overwritten";
    EXPECT_EQ(cap.stats().drops, sent_total - received);

    kept.reset();
    const std::vector<Bytes> more = {test_frame(VethPair::cap_mac, VethPair::peer_mac, 300, 100)};
    peer.send(more);
    EXPECT_TRUE(same_frames(collect(cap, more.size()), more));
}

TEST_P(Batches, CaptureKeepsWorkingAfterAMove) {
    Capture first = open(options());
    const int fd = first.fd();
    Capture cap = std::move(first);
    EXPECT_EQ(cap.fd(), fd);
    EXPECT_EQ(cap.info().interface, pair_->cap_if());
    const std::vector<Bytes> sent = {test_frame(VethPair::cap_mac, VethPair::peer_mac, 64, 1)};
    from_peer().send(sent);
    EXPECT_TRUE(same_frames(collect(cap, 1), sent));
}

}  // namespace
}  // namespace ringcap::test
