// Process attribution without the kernel: Community ID against the spec's published vectors,
// container ids from cgroup paths, argument blocks, the kernel records' conversion (directions,
// IPv4-mapped addresses, counts), the open-socket table's lookups, and the JSON record's fields.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include <ringcap/conn.hpp>

#include "procmap/conn_table.hpp"
#include "procmap/kernel_records.hpp"
#include "procmap/process_cache.hpp"

namespace ringcap {
namespace {

std::array<std::uint8_t, 16> ip(const char* text) {
    std::array<std::uint8_t, 16> a{};
    if (::inet_pton(std::strchr(text, ':') ? AF_INET6 : AF_INET, text, a.data()) != 1)
        throw std::runtime_error(std::string("bad address ") + text);
    return a;
}

FlowKey flow(std::uint8_t proto, const char* s, const char* d, std::uint16_t sp, std::uint16_t dp) {
    FlowKey f;
    f.ip_version = std::strchr(s, ':') ? 6 : 4;
    f.protocol = proto;
    f.src_ip = ip(s);
    f.dst_ip = ip(d);
    f.src_port = sp;
    f.dst_port = dp;
    return f;
}

struct Vector {
    std::uint8_t proto;
    const char *saddr, *daddr;
    std::uint16_t sport, dport;
    const char* id_seed0;
    const char* id_seed1;
};

// corelight/community-id-spec baseline/baseline_deflt.json and baseline_seed1.json, every row
// (ICMP rows carry the ports the spec maps type and code to; protocol 46 has no ports).
// clang-format off
const Vector kVectors[] = {
    {58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
    {58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
    {58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
    {58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
    {1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
    {6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
    {46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
};
// clang-format on

TEST(CommunityId, SpecBaselineVectors) {
    for (const Vector& v : kVectors) {
        const FlowKey f = flow(v.proto, v.saddr, v.daddr, v.sport, v.dport);
        EXPECT_EQ(community_id(f), v.id_seed0) << v.saddr << " -> " << v.daddr;
        EXPECT_EQ(community_id(f, 1), v.id_seed1) << v.saddr << " -> " << v.daddr;
    }
}

TEST(ContainerId, FromCgroupPaths) {
    const std::string id(64, 'a');
    const std::string id2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    using detail::container_id_from_cgroup;
    EXPECT_EQ(container_id_from_cgroup("0::/docker/" + id), id);
    EXPECT_EQ(container_id_from_cgroup("/system.slice/docker-" + id + ".scope"), id);
    EXPECT_EQ(container_id_from_cgroup("/kubepods.slice/kubepods-burstable.slice/"
                                       "kubepods-burstable-pod1234_5678.slice/cri-containerd-" +
                                       id2 + ".scope"),
              id2);
    EXPECT_EQ(container_id_from_cgroup("/kubepods/besteffort/pod1234-5678/" + id2), id2);
    EXPECT_EQ(container_id_from_cgroup("/machine.slice/crio-" + id + ".scope"), id);
    EXPECT_EQ(container_id_from_cgroup("/machine.slice/libpod-" + id2 + ".scope/container"), id2);
    EXPECT_EQ(container_id_from_cgroup("docker-" + id + ".scope"), id);  // a leaf name alone
    // Not containers: ordinary services, ids of the wrong length or alphabet, conmon.
    EXPECT_EQ(container_id_from_cgroup("0::/system.slice/ssh.service"), "");
    EXPECT_EQ(container_id_from_cgroup("/docker/" + id.substr(1)), "");
    EXPECT_EQ(container_id_from_cgroup("/docker/" + std::string(64, 'A')), "");
    EXPECT_EQ(container_id_from_cgroup("/machine.slice/crio-conmon-" + id + ".scope"), "");
    EXPECT_EQ(container_id_from_cgroup(""), "");
}

TEST(ProcessCache, SplitArgs) {
    using detail::split_args;
    EXPECT_EQ(split_args(std::string_view("curl\0-s\0http://x/\0", 18)),
              (std::vector<std::string>{"curl", "-s", "http://x/"}));
    EXPECT_EQ(split_args(std::string_view("cut\0off", 7)),
              (std::vector<std::string>{"cut", "off"}));  // the block's end cut an argument
    EXPECT_TRUE(split_args("").empty());
}

rc_conn_event record(std::uint32_t action, std::uint8_t direction) {
    rc_conn_event r{};
    r.kind = RC_KIND_CONN;
    r.action = action;
    r.ts_ns = 5'000'000'000;
    r.sock.owner = {.pid = 4243, .tgid = 4242, .ppid = 1, .uid = 1000, .start_ns = 1};
    std::memcpy(r.sock.owner.comm, "client", 7);
    r.sock.cookie = 77;
    r.sock.start_ns = 4'000'000'000;
    r.sock.netns = 4026531840u;
    r.sock.family = 2;
    r.sock.protocol = 6;
    r.sock.direction = direction;
    const auto l = ip("10.0.0.1"), rem = ip("10.0.0.2");
    std::memcpy(r.sock.local_addr, l.data(), 16);
    std::memcpy(r.sock.remote_addr, rem.data(), 16);
    r.sock.local_port = 40000;
    r.sock.remote_port = 80;
    r.sock.tx_bytes = 100;
    r.sock.tx_packets = 3;
    r.sock.rx_bytes = 2000;
    r.sock.rx_packets = 4;
    return r;
}

TEST(KernelRecords, OutboundAndInboundFlowsAndCounts) {
    detail::ProcessCache cache(64, std::chrono::seconds(1));
    const ConnEvent out = detail::to_conn_event(record(RC_ACT_CLOSED, RC_DIR_OUTBOUND), cache, 0);
    EXPECT_EQ(out.action, ConnAction::closed);
    EXPECT_EQ(out.flow, flow(6, "10.0.0.1", "10.0.0.2", 40000, 80));
    EXPECT_EQ(out.source_bytes, 100u);
    EXPECT_EQ(out.destination_bytes, 2000u);
    EXPECT_EQ(out.source_packets, 3u);
    EXPECT_EQ(out.duration_ns, 1'000'000'000);
    EXPECT_EQ(out.process->pid, 4242u);
    EXPECT_EQ(out.thread_id, 4243u);
    EXPECT_EQ(out.thread_name, "client");

    const ConnEvent in = detail::to_conn_event(record(RC_ACT_CLOSED, RC_DIR_INBOUND), cache, 0);
    EXPECT_EQ(in.flow, flow(6, "10.0.0.2", "10.0.0.1", 80, 40000));  // the peer started it
    EXPECT_EQ(in.source_bytes, 2000u);
    EXPECT_EQ(in.destination_bytes, 100u);

    const ConnEvent listen =
        detail::to_conn_event(record(RC_ACT_LISTENING, RC_DIR_LISTEN), cache, 0);
    EXPECT_EQ(listen.flow.dst_port, 40000);
    EXPECT_EQ(listen.flow.src_port, 0);
    EXPECT_EQ(listen.duration_ns, -1);
}

TEST(KernelRecords, Ipv4MappedAddressesBecomeIpv4) {
    detail::ProcessCache cache(64, std::chrono::seconds(1));
    rc_conn_event r = record(RC_ACT_ATTEMPTED, RC_DIR_OUTBOUND);
    r.sock.family = 10;
    const auto l = ip("::ffff:10.0.0.1"), rem = ip("::ffff:10.0.0.2");
    std::memcpy(r.sock.local_addr, l.data(), 16);
    std::memcpy(r.sock.remote_addr, rem.data(), 16);
    EXPECT_EQ(detail::to_conn_event(r, cache, 0).flow, flow(6, "10.0.0.1", "10.0.0.2", 40000, 80));
    const auto v6 = ip("fd00::1");
    std::memcpy(r.sock.local_addr, v6.data(), 16);
    EXPECT_EQ(detail::to_conn_event(r, cache, 0).flow.ip_version, 6);
}

ConnEvent start(std::uint64_t cookie, ConnAction action, ConnDirection dir, const FlowKey& f,
                std::uint32_t pid) {
    auto p = std::make_shared<ProcessInfo>();
    p->pid = pid;
    p->comm = "p" + std::to_string(pid);
    ConnEvent e;
    e.action = action;
    e.direction = dir;
    e.flow = f;
    e.cookie = cookie;
    e.netns = 1;
    e.thread_id = pid;
    e.process = p;
    return e;
}

TEST(ConnTable, LookupsByFlowEitherWayWildcardsAndListeners) {
    detail::ConnTable t(1000);
    ConnEvent conn = start(1, ConnAction::attempted, ConnDirection::outbound,
                           flow(6, "10.0.0.1", "10.0.0.2", 40000, 80), 100);
    ConnEvent udp = start(2, ConnAction::udp_flow, ConnDirection::outbound,
                          flow(17, "0.0.0.0", "10.0.0.9", 5353, 53), 200);
    ConnEvent listener = start(3, ConnAction::listening, ConnDirection::listening,
                               flow(6, "0.0.0.0", "0.0.0.0", 0, 8080), 300);
    for (ConnEvent* e : {&conn, &udp, &listener}) t.apply(*e);

    auto pid = [&](const FlowKey& f, std::uint32_t netns = 1) -> std::uint32_t {
        auto o = t.by_flow(netns, f);
        return o ? o->process->pid : 0;
    };
    EXPECT_EQ(pid(flow(6, "10.0.0.1", "10.0.0.2", 40000, 80)), 100u);
    EXPECT_EQ(pid(flow(6, "10.0.0.2", "10.0.0.1", 80, 40000)), 100u);   // the reply
    EXPECT_EQ(pid(flow(6, "10.0.0.1", "10.0.0.2", 40000, 80), 2), 0u);  // other netns
    EXPECT_EQ(pid(flow(17, "10.0.0.5", "10.0.0.9", 5353, 53)), 200u);   // wildcard local
    EXPECT_EQ(pid(flow(17, "10.0.0.9", "10.0.0.5", 53, 5353)), 200u);
    EXPECT_EQ(pid(flow(6, "10.0.0.7", "10.0.0.1", 5555, 8080)), 300u);  // a SYN to the listener
    EXPECT_EQ(pid(flow(6, "10.0.0.7", "10.0.0.1", 5555, 8081)), 0u);
    EXPECT_EQ(t.by_cookie(2)->process->pid, 200u);

    // A closed record takes the owner of the socket's start record; the socket stays findable
    // for the linger time (5 s by default) after its end, then goes.
    ConnEvent closed = start(1, ConnAction::closed, ConnDirection::outbound, conn.flow, 999);
    closed.time_ns = 10'000'000'000;
    t.apply(closed);
    EXPECT_EQ(closed.process->pid, 100u);
    t.expire(14'000'000'000);
    EXPECT_EQ(pid(flow(6, "10.0.0.2", "10.0.0.1", 80, 40000)), 100u);
    t.expire(16'000'000'000);
    EXPECT_FALSE(t.by_cookie(1));
    EXPECT_EQ(pid(flow(6, "10.0.0.1", "10.0.0.2", 40000, 80)), 0u);
    EXPECT_EQ(t.by_cookie(2)->process->pid, 200u);  // the open ones stay
}

// A UDP socket connected and not yet used: its flow names it for lookups; its udp_flow record
// makes it an ordinary socket; closed without a datagram it is forgotten.
TEST(ConnTable, ProvisionalConnectedUdp) {
    detail::ConnTable t(1000);
    const FlowKey f = flow(17, "10.0.0.1", "10.0.0.9", 45000, 53);
    t.provisional(start(7, ConnAction::udp_flow, ConnDirection::outbound, f, 100));
    ASSERT_TRUE(t.by_flow(1, f.reversed()));
    EXPECT_EQ(t.by_flow(1, f.reversed())->process->pid, 100u);
    ConnEvent end = start(7, ConnAction::closed, ConnDirection::outbound, f, 100);
    t.provisional(end);
    EXPECT_FALSE(t.by_flow(1, f));
    EXPECT_EQ(t.size(), 0u);
    // Used: the real record takes over, and a provisional end no longer forgets it.
    t.provisional(start(8, ConnAction::udp_flow, ConnDirection::outbound, f, 200));
    ConnEvent used = start(8, ConnAction::udp_flow, ConnDirection::outbound, f, 200);
    t.apply(used);
    t.provisional(start(8, ConnAction::closed, ConnDirection::outbound, f, 200));
    ASSERT_TRUE(t.by_cookie(8));
    EXPECT_EQ(t.by_flow(1, f)->process->pid, 200u);
}

TEST(ConnTable, BoundedOldestGoesFirst) {
    detail::ConnTable t(16);
    for (std::uint64_t c = 1; c <= 20; ++c) {
        ConnEvent e = start(c, ConnAction::attempted, ConnDirection::outbound,
                            flow(6, "10.0.0.1", "10.0.0.2", std::uint16_t(1000 + c), 80), 1);
        t.apply(e);
    }
    EXPECT_EQ(t.size(), 16u);
    EXPECT_EQ(t.evictions(), 4u);
    EXPECT_FALSE(t.by_cookie(1));
    EXPECT_TRUE(t.by_cookie(20));
}

TEST(ConnFormat, JsonHasTheEcsFields) {
    ConnEvent e = start(9, ConnAction::closed, ConnDirection::outbound,
                        flow(6, "10.0.0.1", "10.0.0.2", 40000, 80), 42);
    auto p = std::make_shared<ProcessInfo>(*e.process);
    p->executable = "/usr/bin/cu\"rl";
    p->args = {"curl", "-s"};
    p->ppid = 1;
    p->start_ns = 1'700'000'000'000'000'000;
    p->container_id = std::string(64, 'b');
    e.process = p;
    e.time_ns = 1'700'000'001'000'000'000;
    e.duration_ns = 5000;
    e.has_counts = true;
    e.source_bytes = 10;
    e.destination_packets = 2;
    e.tcp_state = 5;
    const std::string j = to_json(e);
    for (const char* field :
         {R"("@timestamp":"2023-11-14T22:13:21.000000000Z")", R"("action":"connection_closed")",
          R"("duration":5000)", R"("pid":42,"thread":{"id":42,)",
          R"("executable":"/usr/bin/cu\"rl")", R"("args":["curl","-s"])", R"("parent":{"pid":1})",
          R"("start":"2023-11-14T22:13:20)", R"("user":{"id":"0"})", R"("container":{"id":"bbbb)",
          R"("source":{"ip":"10.0.0.1","port":40000,"bytes":10,"packets":0})",
          R"("destination":{"ip":"10.0.0.2","port":80,"bytes":0,"packets":2})",
          R"("transport":"tcp","type":"ipv4","direction":"outbound")", R"("community_id":"1:)",
          R"("tcp_state":"FIN_WAIT2")", R"("outcome":"closed")"})
        EXPECT_NE(j.find(field), std::string::npos) << field << " not in " << j;
    EXPECT_EQ(j.front(), '{');
    EXPECT_EQ(j.back(), '}');
}

TEST(ConnFormat, Outcomes) {
    ConnEvent e = start(9, ConnAction::closed, ConnDirection::outbound,
                        flow(6, "10.0.0.1", "10.0.0.2", 40000, 80), 42);
    e.tcp_state = 2;  // SYN_SENT
    e.error = 111;
    EXPECT_EQ(outcome(e), "refused");
    e.error = 110;
    EXPECT_EQ(outcome(e), "timeout");
    e.error = 0;
    EXPECT_EQ(outcome(e), "failed");
    e.tcp_state = 1;
    e.error = 104;
    EXPECT_EQ(outcome(e), "reset");
    e.error = 0;
    EXPECT_EQ(outcome(e), "closed");
}

}  // namespace
}  // namespace ringcap
