// Process attribution of packets without a kernel: ProcessAnnotator over an OwnerResolver whose
// records and lookups come from the test (a ConnTable, as ProcessMap keeps one): owners by flow
// in both directions, the cache (hits, misses, evictions, old entries looked up again), flows
// that get an owner or a new one, other namespaces, a journal overrun; the owner's formatting and
// the --pid/--comm filter; and the printed lines' pid/comm column and JSON fields.
#include <gtest/gtest.h>
#include <linux/if_packet.h>

#include <array>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <string>
#include <vector>

#include <ringcap/annotate.hpp>

#include "printer.hpp"
#include "procmap/conn_table.hpp"
#include "sys/file.hpp"

namespace ringcap {
namespace {

using Frame = std::vector<std::uint8_t>;
constexpr std::uint32_t kNetns = 4026531840u;

void add16(Frame& f, std::uint16_t v) {
    f.push_back(std::uint8_t(v >> 8));
    f.push_back(std::uint8_t(v));
}

// Ethernet + IPv4 + TCP (or UDP) between 10.0.0.a:sport and 10.0.0.b:dport.
Frame ip_frame(std::uint8_t proto, std::uint8_t a, std::uint16_t sport, std::uint8_t b,
               std::uint16_t dport) {
    Frame f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    const std::size_t l4 = proto == 6 ? 20 : 8;
    f.insert(f.end(), {0x45, 0});
    add16(f, std::uint16_t(20 + l4));
    f.insert(f.end(), {0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, a, 10, 0, 0, b});
    add16(f, sport);
    add16(f, dport);
    if (proto == 6) {
        f.insert(f.end(), {0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0x10, 0, 0, 0, 0, 0});
    } else {
        add16(f, 8);
        add16(f, 0);
    }
    return f;
}

Frame arp_frame() {
    Frame f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
    f.resize(42, 0);
    return f;
}

PacketView view(const Frame& f, std::int64_t ts = 1'700'000'000'000'000'000,
                std::uint8_t pkttype = PACKET_OUTGOING) {
    return PacketView(reinterpret_cast<const std::byte*>(f.data()), std::uint32_t(f.size()),
                      std::uint32_t(f.size()), ts, 1, pkttype, 0, 0, 0, 0);
}

FlowKey flow(std::uint8_t proto, std::uint8_t a, std::uint16_t sport, std::uint8_t b,
             std::uint16_t dport) {
    FlowKey k;
    k.ip_version = 4;
    k.protocol = proto;
    if (a) k.src_ip = {10, 0, 0, a};
    if (b) k.dst_ip = {10, 0, 0, b};
    k.src_port = sport;
    k.dst_port = dport;
    return k;
}

// A map of the test's own: records it hands out on the next read, kept in a ConnTable.
struct FakeMap {
    detail::ConnTable table{1000};
    std::vector<ConnEvent> next, out;
    std::size_t lookups = 0;

    void start(std::uint64_t cookie, std::uint32_t pid, const std::string& comm, FlowKey f,
               ConnAction action = ConnAction::attempted, std::uint32_t netns = kNetns) {
        auto p = std::make_shared<ProcessInfo>();
        p->pid = pid;
        p->comm = comm;
        ConnEvent e;
        e.action = action;
        e.direction = ConnDirection::outbound;
        e.flow = f;
        e.cookie = cookie;
        e.netns = netns;
        e.thread_id = pid;
        e.process = p;
        next.push_back(e);
    }
    OwnerResolver::Source source() {
        return {.read =
                    [this] {
                        out.swap(next);
                        next.clear();
                        for (ConnEvent& e : out) table.apply(e);
                        return std::span<const ConnEvent>(out);
                    },
                .owner_of =
                    [this](std::uint32_t netns, const FlowKey& f) {
                        ++lookups;
                        return table.by_flow(netns, f);
                    }};
    }
};

std::uint32_t pid_of(const PacketOwner* o) { return o ? o->pid : 0; }

TEST(ProcessAnnotator, OwnersByFlowEitherWayCachedPerFlow) {
    FakeMap map;
    map.start(1, 100, "curl", flow(6, 1, 40000, 2, 80));
    map.start(2, 200, "dig", flow(17, 0, 5353, 9, 53));  // unconnected: wildcard local address
    OwnerResolver resolver(map.source());
    ProcessAnnotator a(resolver, kNetns);
    const Frame out = ip_frame(6, 1, 40000, 2, 80), back = ip_frame(6, 2, 80, 1, 40000);
    const Frame dns = ip_frame(17, 1, 5353, 9, 53), none = ip_frame(6, 1, 40001, 2, 80);
    const Frame arp = arp_frame();
    const std::vector<PacketView> packets = {view(out),  view(back), view(dns),
                                             view(none), view(arp),  view(out)};
    std::array<const PacketOwner*, 6> owners{};
    a.annotate(packets, LinkType::ethernet, owners);
    EXPECT_EQ(pid_of(owners[0]), 100u);
    EXPECT_EQ(owners[1], owners[0]);  // the reply: same flow, same owner
    EXPECT_EQ(pid_of(owners[2]), 200u);
    EXPECT_EQ(owners[3], nullptr);  // no socket has that flow
    EXPECT_EQ(owners[4], nullptr);  // not IP
    EXPECT_EQ(owners[5], owners[0]);
    EXPECT_EQ(owners[0]->comment, "pid=100 tid=100 comm=curl uid=0");
    EXPECT_EQ(map.lookups, 3u);  // once per flow
    a.annotate(packets, LinkType::ethernet, owners);
    EXPECT_EQ(map.lookups, 3u);  // all cached, the unknown one too
    EXPECT_EQ(pid_of(owners[1]), 100u);
    const AnnotatorStats& s = a.stats();
    EXPECT_EQ(s.packets, 12u);
    EXPECT_EQ(s.owned, 8u);
    EXPECT_EQ(s.misses, 3u);
    EXPECT_EQ(s.hits, 7u);  // the two ARP packets are neither
}

// One flow's packets, annotated a batch at a time.
struct OneFlow {
    FakeMap map;
    OwnerResolver resolver{map.source()};
    ProcessAnnotator annotator{resolver, kNetns};
    Frame frame = ip_frame(6, 1, 40000, 2, 80);
    const PacketOwner* owner = nullptr;

    std::uint32_t next_batch() {
        const std::array<PacketView, 1> packets = {view(frame)};
        std::array<const PacketOwner*, 1> owners{};
        annotator.annotate(packets, LinkType::ethernet, owners);
        owner = owners[0];
        return pid_of(owner);
    }
};

TEST(ProcessAnnotator, AFlowThatGetsAnOwnerOrANewOneIsLookedUpAgain) {
    OneFlow t;
    EXPECT_EQ(t.next_batch(), 0u);
    // A socket in another namespace changes nothing here.
    t.map.start(1, 100, "curl", flow(6, 1, 40000, 2, 80), ConnAction::attempted, kNetns + 1);
    EXPECT_EQ(t.next_batch(), 0u);
    EXPECT_EQ(t.map.lookups, 1u);
    // Its socket appears (the procfs fallback finds sockets late): looked up again.
    t.map.start(2, 100, "curl", flow(6, 1, 40000, 2, 80));
    EXPECT_EQ(t.next_batch(), 100u);
    // The 5-tuple is reused by another process: the new owner from the next batch on.
    t.map.start(3, 300, "wget", flow(6, 2, 80, 1, 40000));
    EXPECT_EQ(t.next_batch(), 300u);
    EXPECT_EQ(t.owner->comm, "wget");
    EXPECT_EQ(t.annotator.stats().invalidated, 2u);  // the "none" answer, then curl's
}

TEST(ProcessAnnotator, OldEntriesAreLookedUpAgain) {
    FakeMap map;
    map.start(1, 100, "curl", flow(6, 1, 40000, 2, 80));
    OwnerResolver resolver(map.source());
    ProcessAnnotator a(resolver, kNetns, {.recheck = std::chrono::milliseconds(0)});
    const Frame f = ip_frame(6, 1, 40000, 2, 80);
    const std::vector<PacketView> packets = {view(f), view(f), view(f)};
    std::array<const PacketOwner*, 3> owners{};
    for (int i = 0; i < 3; ++i) a.annotate(packets, LinkType::ethernet, owners);
    EXPECT_EQ(map.lookups, 3u);  // once per batch: the packets after the first share it
    EXPECT_EQ(pid_of(owners[2]), 100u);
}

TEST(ProcessAnnotator, AFullBucketEvictsAndEarlierOwnersStayValid) {
    FakeMap map;
    std::vector<Frame> frames;
    for (std::uint16_t i = 0; i < 40; ++i) {
        map.start(100 + i, 1000 + i, "p" + std::to_string(i), flow(6, 1, 20000 + i, 2, 80));
        frames.push_back(ip_frame(6, 1, std::uint16_t(20000 + i), 2, 80));
    }
    OwnerResolver resolver(map.source());
    ProcessAnnotator a(resolver, kNetns, {.max_flows = 4});  // one bucket of 4
    std::vector<PacketView> packets;
    for (const Frame& f : frames) packets.push_back(view(f));
    std::vector<const PacketOwner*> owners(packets.size());
    a.annotate(packets, LinkType::ethernet, owners);
    EXPECT_EQ(a.stats().evictions, 36u);
    for (std::size_t i = 0; i < owners.size(); ++i) {  // evicted, yet still readable
        ASSERT_NE(owners[i], nullptr);
        EXPECT_EQ(owners[i]->pid, 1000 + i);
        EXPECT_EQ(owners[i]->comm, "p" + std::to_string(i));
    }
}

TEST(ProcessAnnotator, AnOverrunJournalEmptiesTheCache) {
    OneFlow t;
    EXPECT_EQ(t.next_batch(), 0u);
    for (std::uint16_t i = 0; i < 5000; ++i)
        t.map.start(10 + i, 7, "x", flow(17, 3, i, 4, 53), ConnAction::udp_flow, kNetns + 1);
    t.map.start(9, 100, "curl", flow(6, 1, 40000, 2, 80));
    EXPECT_EQ(t.next_batch(), 100u);
    EXPECT_EQ(t.resolver.stats().journal_overruns, 1u);
}

TEST(PacketOwner, FormattedOnceForEachSink) {
    auto p = std::make_shared<ProcessInfo>();
    p->pid = 42;
    p->comm = "a\"b";
    p->container_id = "c0ffee";
    const PacketOwner o =
        make_packet_owner({.process = p, .thread_id = 43, .thread_name = "t", .uid = 1000});
    EXPECT_EQ(o.comment, "pid=42 tid=43 comm=a\"b uid=1000 container=c0ffee");
    EXPECT_EQ(o.label, "42/a\"b");
    EXPECT_EQ(o.json,
              ",\"process.pid\":42,\"process.name\":\"a\\\"b\",\"process.thread.id\":43,"
              "\"user.id\":\"1000\",\"container.id\":\"c0ffee\"");
}

TEST(OwnerFilter, PidsAndCommandsUnknownNeverPasses) {
    PacketOwner curl{.pid = 10, .tid = 11, .comm = "curl"};
    EXPECT_TRUE(OwnerFilter{}.selects(nullptr));
    EXPECT_TRUE((OwnerFilter{.pids = {10}}.selects(&curl)));
    EXPECT_TRUE((OwnerFilter{.pids = {11}}.selects(&curl)));  // a thread of it
    EXPECT_FALSE((OwnerFilter{.pids = {12}}.selects(&curl)));
    EXPECT_FALSE((OwnerFilter{.pids = {10}}.selects(nullptr)));
    EXPECT_TRUE((OwnerFilter{.comms = {"dig", "curl"}}.selects(&curl)));
    EXPECT_FALSE((OwnerFilter{.pids = {10}, .comms = {"dig"}}.selects(&curl)));
}

// The printer: the column goes after the timestamp (whatever -t says), JSON gets the fields;
// without owners the lines are what write() prints.
std::string printed(const cli::CliOptions& o, std::span<const PacketView> packets,
                    std::span<const PacketOwner* const> owners) {
    FILE* f = std::tmpfile();
    {
        cli::LinePrinter printer(fileno(f), LinkType::ethernet, o);
        owners.empty() ? printer.write(packets) : printer.write_owned(packets, owners);
        printer.flush();
    }
    std::string text(1 << 16, '\0');
    std::rewind(f);
    text.resize(std::fread(text.data(), 1, text.size(), f));
    std::fclose(f);
    return text;
}

TEST(LinePrinter, OwnerColumnAfterTheTimestamp) {
    PacketOwner curl{.pid = 1234, .comm = "curl"};
    curl.label = "1234/curl";
    curl.json = ",\"process.pid\":1234";
    const Frame f = ip_frame(6, 1, 40000, 2, 80);
    const std::vector<PacketView> packets = {view(f), view(f)};
    const std::vector<const PacketOwner*> owners = {&curl, nullptr};
    for (int stamps : {0, 1, 2, 3, 4, 5}) {
        SCOPED_TRACE("-t x " + std::to_string(stamps));
        cli::CliOptions o;
        o.decode.timestamps = static_cast<TimestampFormat>(stamps);
        const std::string plain = printed(o, packets, {});
        const std::string owned = printed(o, packets, owners);
        const std::size_t eol = plain.find('\n');
        const std::string line1 = plain.substr(0, eol + 1), line2 = plain.substr(eol + 1);
        const std::size_t ip = line1.find("IP ");
        ASSERT_NE(ip, std::string::npos) << line1;
        EXPECT_EQ(owned, line1.substr(0, ip) + "1234/curl " + line1.substr(ip) +
                             line2.substr(0, ip) + "? " + line2.substr(ip));
    }
    cli::CliOptions o;
    o.json = true;
    const std::string plain = printed(o, packets, {});
    const std::string owned = printed(o, packets, owners);
    const std::string first = plain.substr(0, plain.find('\n') - 1);
    EXPECT_EQ(owned, first + ",\"process.pid\":1234}\n" + first + "}\n");
}

}  // namespace
}  // namespace ringcap
