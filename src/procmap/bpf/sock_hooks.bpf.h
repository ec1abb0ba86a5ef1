/* cgroup socket hooks (attached to the cgroup v2 root): they run in the calling process, so the
 * current task is the socket's user. */
#pragma once

#include "common.bpf.h"

static __always_inline int tracked(__u32 family, __u32 protocol) {
    return (family == AF_INET || family == AF_INET6) &&
           (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP);
}

/* socket(): every TCP and UDP socket gets its record here, with its creator as owner. */
SEC("cgroup/sock_create")
int rc_sock_create(struct bpf_sock *ctx) {
    if (!tracked(ctx->family, ctx->protocol)) return 1;
    struct rc_sock *s = bpf_sk_storage_get(&socks, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!s) {
        count(RC_CNT_NO_STORAGE);
        return 1;
    }
    fill_current(&s->owner);
    s->cookie = bpf_get_socket_cookie(ctx);
    s->netns = current_netns();
    s->family = ctx->family;
    s->protocol = ctx->protocol;
    s->flags = RC_F_FILLED;
    return 1;
}

/* The record of the socket behind a sock_addr hook, made now if the socket predates the hooks
 * (and the iterators did not see it). */
static __always_inline struct rc_sock *addr_hook_record(struct bpf_sock_addr *ctx) {
    struct bpf_sock *sk = ctx->sk;
    if (!sk || !tracked(sk->family, sk->protocol)) return 0;
    struct rc_sock *s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!s) {
        count(RC_CNT_NO_STORAGE);
        return 0;
    }
    if (!(s->flags & RC_F_FILLED)) {
        s->cookie = bpf_get_socket_cookie(ctx);
        s->netns = current_netns();
        s->family = sk->family;
        s->protocol = sk->protocol;
        s->flags |= RC_F_FILLED;
    }
    return s;
}

/* The peer a sock_addr hook is about (user_ip4/user_ip6, user_port in network order). */
static __always_inline void peer_of(struct bpf_sock_addr *ctx, int v6, __u8 addr[16], __u16 *port) {
    __u32 *a = (__u32 *)addr;
    if (v6) {
        a[0] = ctx->user_ip6[0];
        a[1] = ctx->user_ip6[1];
        a[2] = ctx->user_ip6[2];
        a[3] = ctx->user_ip6[3];
    } else {
        a[0] = ctx->user_ip4;
        a[1] = a[2] = a[3] = 0;
    }
    *port = bpf_ntohs((__u16)ctx->user_port);
}

/* connect(): the connecting thread becomes the owner. TCP reports the attempt once the source
 * port is chosen (sock_ops below); UDP reports the flow on its first send or receive. */
static __always_inline int on_connect(struct bpf_sock_addr *ctx, int v6) {
    struct rc_sock *s = addr_hook_record(ctx);
    if (!s) return 1;
    fill_current(&s->owner);
    s->direction = RC_DIR_OUTBOUND;
    peer_of(ctx, v6, s->remote_addr, &s->remote_port);
    if (s->protocol == IPPROTO_UDP) {
        s->flags |= RC_F_UDP_CONNECTED;
        s->flags &= ~RC_F_UDP_REPORTED;
    }
    return 1;
}

SEC("cgroup/connect4")
int rc_connect4(struct bpf_sock_addr *ctx) { return on_connect(ctx, 0); }

SEC("cgroup/connect6")
int rc_connect6(struct bpf_sock_addr *ctx) { return on_connect(ctx, 1); }

/* TCP connect() after the source port is chosen, just before the SYN goes out (process
 * context: tcp_v4_connect/tcp_v6_connect -> tcp_connect). */
SEC("sockops")
int rc_sockops(struct bpf_sock_ops *ctx) {
    if (ctx->op != BPF_SOCK_OPS_TCP_CONNECT_CB) return 1;
    struct bpf_sock *sk = ctx->sk;
    if (!sk) return 1;
    struct rc_sock *s = bpf_sk_storage_get(&socks, sk, 0, 0);
    if (!s) return 1;
    struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
    if (!tp) return 1;
    read_tuple((const struct sock *)tp, s);
    s->direction = RC_DIR_OUTBOUND;
    s->start_ns = bpf_ktime_get_boot_ns();
    s->flags |= RC_F_STARTED;
    emit(s, RC_ACT_ATTEMPTED, TCP_SYN_SENT);
    return 1;
}

/* bind() asking for a port (before the kernel binds): a UDP socket bound to a port of its
 * choosing is a receiver ("listening"); one bound to port 0 is a client choosing its address. */
static __always_inline int on_bind(struct bpf_sock_addr *ctx) {
    struct rc_sock *s = addr_hook_record(ctx);
    if (!s || s->protocol != IPPROTO_UDP) return 1;
    if (ctx->user_port != 0)
        s->flags |= RC_F_PORT_ASKED;
    else
        s->flags &= ~RC_F_PORT_ASKED;
    return 1;
}

SEC("cgroup/bind4")
int rc_bind4(struct bpf_sock_addr *ctx) { return on_bind(ctx); }

SEC("cgroup/bind6")
int rc_bind6(struct bpf_sock_addr *ctx) { return on_bind(ctx); }

/* After bind() of a UDP socket to a port it asked for: a receiver on that port ("listening").
 * TCP reports listen() instead. */
static __always_inline int on_post_bind(struct bpf_sock *ctx, int v6) {
    if (ctx->protocol != IPPROTO_UDP || !tracked(ctx->family, ctx->protocol)) return 1;
    struct rc_sock *s = bpf_sk_storage_get(&socks, ctx, 0, 0);
    if (!s || !(s->flags & RC_F_PORT_ASKED)) return 1;
    fill_current(&s->owner);
    s->family = ctx->family;
    __u32 *a = (__u32 *)s->local_addr;
    if (v6) {
        a[0] = ctx->src_ip6[0];
        a[1] = ctx->src_ip6[1];
        a[2] = ctx->src_ip6[2];
        a[3] = ctx->src_ip6[3];
    } else {
        a[0] = ctx->src_ip4;
        a[1] = a[2] = a[3] = 0;
    }
    s->local_port = ctx->src_port; /* host order */
    s->direction = RC_DIR_LISTEN;
    s->start_ns = bpf_ktime_get_boot_ns();
    s->flags |= RC_F_STARTED;
    emit(s, RC_ACT_LISTENING, 0);
    return 1;
}

SEC("cgroup/post_bind4")
int rc_post_bind4(struct bpf_sock *ctx) { return on_post_bind(ctx, 0); }

SEC("cgroup/post_bind6")
int rc_post_bind6(struct bpf_sock *ctx) { return on_post_bind(ctx, 1); }

/* sendto()/recvfrom() on an unconnected UDP socket: one udp_flow per (socket, peer), the
 * thread that sent or received the first datagram as owner. */
static __always_inline int on_udp_msg(struct bpf_sock_addr *ctx, int v6, int send) {
    struct rc_sock *s = addr_hook_record(ctx);
    if (!s || s->protocol != IPPROTO_UDP || (s->flags & RC_F_UDP_CONNECTED)) return 1;
    struct udp_peer_key k = {.cookie = s->cookie, .family = v6 ? AF_INET6 : AF_INET};
    peer_of(ctx, v6, k.addr, &k.port);
    /* An IPv6 socket receives IPv4 peers as ::ffff:a.b.c.d (recvmsg6) but sends to them
     * through the IPv4 path (sendmsg4): one key for both. */
    __u32 *ka = (__u32 *)k.addr;
    if (v6 && ka[0] == 0 && ka[1] == 0 && ka[2] == bpf_htonl(0xffff)) {
        ka[0] = ka[3];
        ka[1] = ka[2] = ka[3] = 0;
        k.family = AF_INET;
    }
    if (bpf_map_lookup_elem(&udp_peers, &k)) return 1;
    __u8 one = 1;
    bpf_map_update_elem(&udp_peers, &k, &one, BPF_ANY);
    count(RC_CNT_UDP_PEERS);

    /* The socket's record follows its newest peer: its end record names the last one. */
    fill_current(&s->owner);
    if (!(s->flags & RC_F_STARTED)) {
        s->start_ns = bpf_ktime_get_boot_ns();
        s->flags |= RC_F_STARTED;
    }
    struct bpf_sock *sk = ctx->sk;
    __u32 *a = (__u32 *)s->local_addr;
    if (v6) {
        a[0] = sk->src_ip6[0];
        a[1] = sk->src_ip6[1];
        a[2] = sk->src_ip6[2];
        a[3] = sk->src_ip6[3];
    } else {
        a[0] = sk->src_ip4;
        a[1] = a[2] = a[3] = 0;
    }
    s->local_port = sk->src_port;
    s->family = v6 ? AF_INET6 : AF_INET;
    __builtin_memcpy(s->remote_addr, k.addr, sizeof(k.addr));
    s->remote_port = k.port;
    s->direction = send ? RC_DIR_OUTBOUND : RC_DIR_INBOUND;
    emit(s, RC_ACT_UDP_FLOW, 0);
    return 1;
}

SEC("cgroup/sendmsg4")
int rc_sendmsg4(struct bpf_sock_addr *ctx) { return on_udp_msg(ctx, 0, 1); }

SEC("cgroup/sendmsg6")
int rc_sendmsg6(struct bpf_sock_addr *ctx) { return on_udp_msg(ctx, 1, 1); }

SEC("cgroup/recvmsg4")
int rc_recvmsg4(struct bpf_sock_addr *ctx) { return on_udp_msg(ctx, 0, 0); }

SEC("cgroup/recvmsg6")
int rc_recvmsg6(struct bpf_sock_addr *ctx) { return on_udp_msg(ctx, 1, 0); }

/* The last close() of a UDP socket: its end, with the datagrams counted each way. (TCP ends
 * are reported by the state change to TCP_CLOSE, which may come later than close().) */
SEC("cgroup/sock_release")
int rc_sock_release(struct bpf_sock *ctx) {
    if (ctx->protocol != IPPROTO_UDP) return 1;
    struct rc_sock *s = bpf_sk_storage_get(&socks, ctx, 0, 0);
    if (!s) return 1;
    if (!(s->flags & RC_F_STARTED)) {
        /* Connected, never used: the end of its provisional record (udp_connect.bpf.h). */
        if (!connect_hooked || !(s->flags & RC_F_UDP_CONNECTED)) return 1;
        s->flags |= RC_F_PROVISIONAL;
        emit(s, RC_ACT_CLOSED, 0);
        s->flags &= ~RC_F_PROVISIONAL;
        return 1;
    }
    s->flags &= ~RC_F_STARTED;
    emit(s, RC_ACT_CLOSED, 0);
    return 1;
}
