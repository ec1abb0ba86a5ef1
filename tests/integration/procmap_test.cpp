// Process attribution, live: the BPF programs load and attach (as root), and a TCP connection
// between a forked child and this process is reported with the right processes, as is a
// lookup by its flow in either direction; the procfs fallback sees a connection held open.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <vector>

#include <ringcap/procmap.hpp>

namespace ringcap {
namespace {

using namespace std::chrono_literals;

class ProcessMapLive : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "attribution with BPF needs root";
    }
};

// A TCP listener on 127.0.0.1 and an ephemeral port.
int listener(std::uint16_t* port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{.sin_family = AF_INET, .sin_port = 0, .sin_addr = {htonl(INADDR_LOOPBACK)}};
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd, 16) != 0)
        throw std::runtime_error(std::string("listener: ") + std::strerror(errno));
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    return fd;
}

// A child that connects to `port`, sends one byte, waits for `hold` and exits.
pid_t connecting_child(std::uint16_t port, std::chrono::milliseconds hold = 0ms) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = {htonl(INADDR_LOOPBACK)}};
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::_exit(1);
    if (::write(fd, "x", 1) != 1) ::_exit(2);
    ::usleep(static_cast<useconds_t>(hold.count() * 1000));
    ::close(fd);
    ::_exit(0);
}

// Reads records until `done` says so or `limit` passes; returns all of them.
std::vector<ConnEvent> read_until(ProcessMap& map, std::chrono::milliseconds limit,
                                  const std::function<bool(const std::vector<ConnEvent>&)>& done) {
    std::vector<ConnEvent> all;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end && !done(all))
        for (const ConnEvent& e : map.read(100ms)) all.push_back(e);
    return all;
}

const ConnEvent* find(const std::vector<ConnEvent>& all, ConnAction action, std::uint16_t port,
                      std::uint32_t pid) {
    for (const ConnEvent& e : all)
        if (e.action == action && e.flow.protocol == 6 &&
            (e.flow.dst_port == port || e.flow.src_port == port) && e.process->pid == pid)
            return &e;
    return nullptr;
}

TEST_F(ProcessMapLive, BpfNamesBothEndsOfATcpConnection) {
    ProcessMap map = ProcessMap::open({.attribution = Attribution::bpf});
    ASSERT_EQ(map.mode(), Attribution::bpf);
    std::uint16_t port = 0;
    const int lfd = listener(&port);
    const pid_t child = connecting_child(port, 300ms);
    const int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(cfd, 0);
    char c;
    ASSERT_EQ(::read(cfd, &c, 1), 1);
    const auto me = static_cast<std::uint32_t>(::getpid());

    auto all = read_until(map, 5s, [&](const std::vector<ConnEvent>& got) {
        return find(got, ConnAction::attempted, port, std::uint32_t(child)) &&
               find(got, ConnAction::accepted, port, me);
    });
    const ConnEvent* attempted = find(all, ConnAction::attempted, port, std::uint32_t(child));
    ASSERT_NE(attempted, nullptr) << "no connection_attempted by the child " << child;
    EXPECT_EQ(attempted->thread_id, std::uint32_t(child));
    EXPECT_EQ(attempted->direction, ConnDirection::outbound);
    const ConnEvent* accepted = find(all, ConnAction::accepted, port, me);
    ASSERT_NE(accepted, nullptr) << "no connection_accepted by this process";
    EXPECT_EQ(accepted->flow, attempted->flow);  // source = the client in both

    // While it is open, the flow's owner from either end: the child's socket is found by the
    // flow as the child sent it; this process's by the cookie.
    auto owner = map.owner_of(attempted->netns, attempted->flow);
    ASSERT_TRUE(owner);
    EXPECT_TRUE(owner->process->pid == std::uint32_t(child) || owner->process->pid == me);
    ASSERT_TRUE(map.owner_of(accepted->cookie));
    EXPECT_EQ(map.owner_of(accepted->cookie)->process->pid, me);

    ::close(cfd);
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_EQ(WEXITSTATUS(status), 0);
    all = read_until(map, 5s, [&](const std::vector<ConnEvent>& got) {
        return find(got, ConnAction::closed, port, std::uint32_t(child)) &&
               find(got, ConnAction::closed, port, me);
    });
    const ConnEvent* closed = find(all, ConnAction::closed, port, std::uint32_t(child));
    ASSERT_NE(closed, nullptr) << "no connection_closed of the child's socket";
    EXPECT_EQ(closed->source_bytes, 1u);  // the one byte the child sent
    EXPECT_GE(closed->duration_ns, 250'000'000);
    const ConnEvent* server_end = find(all, ConnAction::closed, port, me);
    ASSERT_NE(server_end, nullptr);
    EXPECT_EQ(server_end->source_bytes, 1u);  // the client is the source on the server's side
    ::close(lfd);
}

TEST_F(ProcessMapLive, ProcfsFallbackSeesAHeldConnection) {
    ProcessMap map = ProcessMap::open({.attribution = Attribution::procfs, .poll_interval = 50ms});
    ASSERT_EQ(map.mode(), Attribution::procfs);
    std::uint16_t port = 0;
    const int lfd = listener(&port);
    const pid_t child = connecting_child(port, 1000ms);
    const int cfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(cfd, 0);
    const auto all = read_until(map, 3s, [&](const std::vector<ConnEvent>& got) {
        return find(got, ConnAction::attempted, port, std::uint32_t(child)) != nullptr;
    });
    EXPECT_NE(find(all, ConnAction::attempted, port, std::uint32_t(child)), nullptr);
    EXPECT_NE(find(all, ConnAction::accepted, port, std::uint32_t(::getpid())), nullptr);
    ::close(cfd);
    ::close(lfd);
    ::waitpid(child, nullptr, 0);
}

}  // namespace
}  // namespace ringcap
