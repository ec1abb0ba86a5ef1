// The loss ledger without a kernel: softnet_stat parsing and its 32-bit wrap, the latency
// histogram's quantiles, the ledger's text and JSON, --stats words, and the doctor's advice
// rules on made-up ledgers (each rule fires on its counter and stays quiet without it).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include <ringcap/stats.hpp>

#include "command_line.hpp"
#include "doctor_cmd.hpp"
#include "loss_report.hpp"
#include "ring/rx_ring.hpp"
#include "stats/ring_stats.hpp"
#include "stats/softnet.hpp"
#include "synthetic_ring.hpp"

namespace ringcap {
namespace {

// Two CPUs as kernel 6.18 prints them: 15 columns, the CPU's number in column 13.
const char* kSoftnet =
    "0fb4a9ae 00000002 00000040 00000000 00000000 00000000 00000000 00000000 00000000 "
    "00000000 00000001 00000000 00000000 00000000 00000000\n"
    "0558c303 00000000 0000000b 00000000 00000000 00000000 00000000 00000000 00000000 "
    "00000000 00000000 00000000 00000003 00000000 00000000\n";

TEST(Softnet, ParsesColumnsAndCpuNumbers) {
    const auto lines = detail::parse_softnet(kSoftnet);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].cpu, 0);
    EXPECT_EQ(lines[0].processed, 0x0fb4a9aeu);
    EXPECT_EQ(lines[0].dropped, 2u);
    EXPECT_EQ(lines[0].time_squeeze, 0x40u);
    EXPECT_EQ(lines[0].flow_limit, 1u);
    EXPECT_EQ(lines[1].cpu, 3) << "an offline CPU leaves a gap: the number is column 13's";
}

TEST(Softnet, OldKernelsWithoutCpuColumnCountLines) {
    const auto lines = detail::parse_softnet("00000001 00000002 00000003\n00000004 0 0\n");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].cpu, 1);
    EXPECT_EQ(lines[1].processed, 4u);
}

TEST(Softnet, DeltasFollowThe32BitWrap) {
    detail::SoftnetDeltas d;
    d.start({{.cpu = 0, .dropped = 0xfffffff0u, .time_squeeze = 5}});
    d.update({{.cpu = 0, .dropped = 0x10u, .time_squeeze = 7}});
    ASSERT_EQ(d.cpus().size(), 1u);
    EXPECT_EQ(d.cpus()[0].dropped, 0x20u);
    EXPECT_EQ(d.cpus()[0].time_squeeze, 2u);
    d.update({{.cpu = 0, .dropped = 0x11u, .time_squeeze = 7}, {.cpu = 1, .dropped = 4}});
    EXPECT_EQ(d.cpus()[0].dropped, 0x21u);
    ASSERT_EQ(d.cpus().size(), 2u);
    EXPECT_EQ(d.cpus()[1].dropped, 4u) << "a CPU that came online counts from zero";
}

TEST(LatencyHistogram, QuantilesWithinAQuarter) {
    LatencyHistogram h;
    for (int i = 0; i < 98; ++i) h.record(1'000'000);  // 1 ms
    h.record(20'000'000);
    h.record(40'000'000);
    EXPECT_EQ(h.count, 100u);
    EXPECT_GE(h.quantile_ns(0.5), 1'000'000);
    EXPECT_LE(h.quantile_ns(0.5), 1'250'000);
    EXPECT_GE(h.quantile_ns(0.99), 20'000'000);
    EXPECT_LE(h.quantile_ns(0.99), 25'000'000);
    EXPECT_EQ(h.quantile_ns(1.0), 40'000'000) << "capped by the largest age";
    EXPECT_EQ(h.max_ns, 40'000'000);
    h.record(-5);  // the clock stepped back
    EXPECT_EQ(h.buckets[0], 1u);
    LatencyHistogram none;
    EXPECT_EQ(none.quantile_ns(0.5), 0);
    for (std::uint64_t v : {0ull, 1ull, 3ull, 4ull, 7ull, 1000ull, 1ull << 40})
        EXPECT_LT(v, LatencyHistogram::bucket_end(LatencyHistogram::bucket_of(v))) << v;
}

// ---- what a batch says about loss and latency, and how full the ring is

test::PacketSpec at(std::int64_t ts_ns, std::uint32_t flags = 0) {
    return {.bytes = test::numbered_frame(1, 60), .flags = flags, .ts_ns = ts_ns};
}

TEST(BatchLoss, V3OldestPacketAndTheBlocksLosingMark) {
    test::SyntheticRing ring(8192, 4, 8192);
    test::fill_v3_block(ring.block(0), {at(1'000'000'500), at(1'000'000'900)});
    test::fill_v3_block(ring.block(1), {at(2'000'000'000)}, TP_STATUS_USER | TP_STATUS_LOSING);
    EXPECT_DOUBLE_EQ(detail::ring_fill(ring.map(), TpacketVersion::v3), 0.5);
    detail::RxRing rx(TpacketVersion::v3, ring.map(), {});
    std::optional<Batch> a = rx.take();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->oldest_ts_ns(), 1'000'000'500);
    EXPECT_FALSE(a->ring_was_losing());
    std::optional<Batch> b = rx.take();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->oldest_ts_ns(), 2'000'000'000);
    EXPECT_TRUE(b->ring_was_losing()) << "TP_STATUS_LOSING on the block (prb_close_block)";
    EXPECT_DOUBLE_EQ(detail::ring_fill(ring.map(), TpacketVersion::v3), 0.5)
        << "blocks held by a batch are still full";
    a.reset();
    EXPECT_DOUBLE_EQ(detail::ring_fill(ring.map(), TpacketVersion::v3), 0.25);
    EXPECT_EQ(Batch().oldest_ts_ns(), 0);
    EXPECT_FALSE(Batch().ring_was_losing());
}

TEST(BatchLoss, V2FirstFrameSaysLosing) {
    test::SyntheticRing ring(4096, 2, 1024);  // 8 frames
    test::fill_v2_frame(ring.frame(0, 0), at(5'000));
    test::fill_v2_frame(ring.frame(0, 1), at(6'000));
    EXPECT_DOUBLE_EQ(detail::ring_fill(ring.map(), TpacketVersion::v2), 0.25);
    detail::RxRing rx(TpacketVersion::v2, ring.map(), {});
    std::optional<Batch> a = rx.take();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->size(), 2u);
    EXPECT_EQ(a->oldest_ts_ns(), 5'000);
    EXPECT_FALSE(a->ring_was_losing());
    a.reset();
    test::fill_v2_frame(ring.frame(0, 2), at(7'000, TP_STATUS_LOSING));
    std::optional<Batch> b = rx.take();
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->ring_was_losing());
}

LossLedger quiet_ledger() {
    LossLedger l;
    l.nic.push_back({.interface = "veth0", .rx_dropped = 0});
    l.backlog.cpus = {{.cpu = 0}, {.cpu = 1}};
    l.ring = {{.packets = 1000}};
    return l;
}

TEST(LedgerReport, OnlyLossyStagesUnlessAskedForAll) {
    LossLedger l = quiet_ledger();
    EXPECT_FALSE(l.lost_any());
    EXPECT_TRUE(cli::ledger_lines(l, false).empty());
    const auto all = cli::ledger_lines(l, true);
    EXPECT_EQ(all.size(), 5u);  // NIC, backlog, stack, ring, latency
    EXPECT_NE(all[0].find("rx_missed, rx_fifo, rx_over unavailable"), std::string::npos) << all[0];
    EXPECT_NE(all[2].find("not watched"), std::string::npos) << all[2];
    l.ring[0].drops = 7;
    const auto lossy = cli::ledger_lines(l, false);
    ASSERT_EQ(lossy.size(), 1u);
    EXPECT_EQ(lossy[0].rfind("ring: 7 dropped of 1000", 0), 0u) << lossy[0];
}

TEST(LedgerReport, JsonSaysUnavailableAsNull) {
    LossLedger l = quiet_ledger();
    l.stack = {.watched = true, .unavailable = "no BPF privilege"};
    const std::string j = cli::ledger_json(l, 1000);
    EXPECT_NE(j.find("\"rx_missed\":null"), std::string::npos) << j;
    EXPECT_NE(j.find("\"unavailable\":\"no BPF privilege\",\"dropped\":null"), std::string::npos)
        << j;
    EXPECT_NE(j.find("\"captured\":1000"), std::string::npos) << j;
}

TEST(StatsOption, WordsAndPlainFlag) {
    const auto parse = [](std::vector<const char*> argv) {
        argv.insert(argv.begin(), "ringcap");
        return cli::parse_command_line(static_cast<int>(argv.size()), argv.data());
    };
    auto r = parse({"-i", "eth0", "--stats"});
    ASSERT_TRUE(r.options);
    EXPECT_TRUE(r.options->stats);
    EXPECT_FALSE(r.options->stats_json);
    r = parse({"-i", "eth0", "--stats=json,drops", "udp"});
    ASSERT_TRUE(r.options);
    EXPECT_TRUE(r.options->stats_json && r.options->stats_drops);
    EXPECT_EQ(r.options->capture.filter, "udp");
    r = parse({"-i", "eth0", "--stats=loud"});
    EXPECT_FALSE(r.options);
    EXPECT_NE(r.message.find("'loud' is not text, json or drops"), std::string::npos);
    r = parse({"-i", "eth0", "-q"});
    EXPECT_TRUE(r.options->quiet_status);
}

// ---- the doctor's rules

cli::DoctorFacts facts() {
    cli::DoctorFacts f{.ledger = quiet_ledger(),
                       .interface = "veth0",
                       .seconds = 5,
                       .captured = 1000,
                       .captured_bytes = 64'000,
                       .cpu_share = 0.2,
                       .ring_kib = 1024,
                       .snaplen = kDefaultSnaplen,
                       .filtered = true};
    f.netdev_max_backlog = 1000;
    return f;
}

bool advises(const std::vector<cli::Advice>& a, const std::string& flag) {
    return std::any_of(a.begin(), a.end(), [&](const cli::Advice& x) {
        return x.what.find(flag) != std::string::npos;
    });
}

TEST(DoctorAdvice, NothingLostNothingAdvised) { EXPECT_TRUE(cli::advise(facts()).empty()); }

TEST(DoctorAdvice, RingDropsWithAnIdleReaderAskForABiggerRing) {
    cli::DoctorFacts f = facts();
    f.ledger.ring[0].drops = 500;
    const auto a = cli::advise(f);
    ASSERT_FALSE(a.empty());
    EXPECT_NE(a[0].what.find("-B 4096"), std::string::npos) << a[0].what;
    EXPECT_FALSE(advises(a, "--workers"));
}

TEST(DoctorAdvice, RingDropsWithABusyReaderAskForWorkersAndPinning) {
    cli::DoctorFacts f = facts();
    f.ledger.ring[0].drops = 500;
    f.cpu_share = 0.97;
    f.workers = 2;
    const auto a = cli::advise(f);
    ASSERT_GE(a.size(), 2u);
    EXPECT_NE(a[0].what.find("--workers 4"), std::string::npos) << a[0].what;
    EXPECT_NE(a[1].what.find("--cpus"), std::string::npos) << a[1].what;
    EXPECT_FALSE(advises(a, "-B "));
}

TEST(DoctorAdvice, BigPacketsAndNoFilterAddSnaplenAndFilter) {
    cli::DoctorFacts f = facts();
    f.ledger.ring[0].drops = 1;
    f.captured_bytes = 1000 * 1400;
    f.filtered = false;
    const auto a = cli::advise(f);
    EXPECT_TRUE(advises(a, "-s 128"));
    EXPECT_TRUE(advises(a, "kernel filter"));
}

TEST(DoctorAdvice, BacklogDropsOnOneCpuAskForBacklogAndRps) {
    cli::DoctorFacts f = facts();
    f.ledger.backlog.cpus[1].dropped = 300;
    auto a = cli::advise(f);
    EXPECT_TRUE(advises(a, "netdev_max_backlog=4000"));
    EXPECT_TRUE(advises(a, "rps_cpus"));
    f.rps = true;
    a = cli::advise(f);
    EXPECT_FALSE(advises(a, "rps_cpus"));
}

TEST(DoctorAdvice, NicMissesWriterFailuresLatencyAndQdisc) {
    cli::DoctorFacts f = facts();
    f.ledger.nic[0].rx_missed = 12;
    EXPECT_TRUE(advises(cli::advise(f), "ethtool -G veth0"));
    f = facts();
    f.ledger.writer = WriterCounters{.write_errors = 1, .records_lost = 10};
    EXPECT_TRUE(advises(cli::advise(f), "-C 100 -W 10"));
    f.ledger.writer = WriterCounters{.blocked = std::chrono::seconds(2)};
    EXPECT_TRUE(advises(cli::advise(f), "tmpfs"));
    f = facts();
    for (int i = 0; i < 100; ++i) f.ledger.latency.record(1'000'000);
    f.ledger.block_timeout = std::chrono::milliseconds(1);
    EXPECT_TRUE(advises(cli::advise(f), "--immediate-mode"));
    f.ledger.version = TpacketVersion::v2;
    EXPECT_FALSE(advises(cli::advise(f), "--immediate-mode"));
    f = facts();
    f.tx_dropped = 5;
    EXPECT_TRUE(advises(cli::advise(f), "--qdisc-bypass"));
}

TEST(DoctorAdvice, StackDropsAloneAreNotTheCapturesLoss) {
    cli::DoctorFacts f = facts();
    f.ledger.stack = {.watched = true, .drops = {{"NO_SOCKET", "veth0", 100}}};
    EXPECT_TRUE(f.ledger.lost_any());
    EXPECT_TRUE(cli::advise(f).empty()) << "the tap saw them before the stack dropped them";
}

}  // namespace
}  // namespace ringcap
