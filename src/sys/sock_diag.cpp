#include "sys/sock_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "sys/fd.hpp"

namespace ringcap::sys {

namespace {

DiagSocket parse(const nlmsghdr* h, int protocol) {
    const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
    DiagSocket s;
    s.family = m->idiag_family;
    s.protocol = static_cast<std::uint8_t>(protocol);
    s.state = m->idiag_state;
    s.uid = m->idiag_uid;
    s.inode = m->idiag_inode;
    s.cookie = std::uint64_t(m->id.idiag_cookie[1]) << 32 | m->id.idiag_cookie[0];
    const std::size_t alen = s.family == AF_INET6 ? 16 : 4;
    std::memcpy(s.local_addr.data(), m->id.idiag_src, alen);
    std::memcpy(s.remote_addr.data(), m->id.idiag_dst, alen);
    s.local_port = ntohs(m->id.idiag_sport);
    s.remote_port = ntohs(m->id.idiag_dport);
    int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
    for (auto* a = reinterpret_cast<const rtattr*>(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type != INET_DIAG_INFO) continue;
        tcp_info ti{};
        std::memcpy(&ti, RTA_DATA(a), std::min<std::size_t>(RTA_PAYLOAD(a), sizeof ti));
        s.has_counts = true;
        s.bytes_sent = ti.tcpi_bytes_sent;
        s.bytes_retrans = ti.tcpi_bytes_retrans;
        s.bytes_received = ti.tcpi_bytes_received;
        s.segs_out = ti.tcpi_segs_out;
        s.segs_in = ti.tcpi_segs_in;
    }
    return s;
}

}  // namespace

std::vector<DiagSocket> sock_diag_dump(int family, int protocol) {
    Fd fd = Fd::adopt(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (!fd) throw_errno("socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
    struct {
        nlmsghdr h;
        inet_diag_req_v2 r;
    } req{};
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = static_cast<std::uint8_t>(family);
    req.r.sdiag_protocol = static_cast<std::uint8_t>(protocol);
    req.r.idiag_states = ~0u;
    if (protocol == IPPROTO_TCP) req.r.idiag_ext = 1 << (INET_DIAG_INFO - 1);
    const std::string what = std::string("sock_diag dump (") +
                             (protocol == IPPROTO_TCP ? "tcp" : "udp") +
                             (family == AF_INET6 ? "6)" : "4)");
    if (::send(fd.get(), &req, sizeof req, 0) == -1) throw_errno("send(" + what + ")");

    std::vector<DiagSocket> out;
    alignas(nlmsghdr) char buf[32768];
    for (;;) {
        const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n == -1) {
            if (errno == EINTR) continue;
            throw_errno("recv(" + what + ")");
        }
        int left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<const nlmsghdr*>(buf); NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE) return out;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
                errno = -e->error;
                throw_errno(what);
            }
            if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) out.push_back(parse(h, protocol));
        }
        if (n == 0) return out;
    }
}

}  // namespace ringcap::sys
