/* TCP state changes, UDP send/receive lengths and accept(): BTF tracepoints (no tracefs) and
 * the two syscall tracepoints of accept (tracefs).
 *
 * inet_sock_set_state runs in process context only for listen(), connect() and close(); the
 * handshake's end, the child socket of a listener and most ends run in softirq, where the
 * current task is whatever ran on that CPU. So no process is ever taken from the current task
 * here except at TCP_LISTEN: the socket's record says who owns it. */
#pragma once

#include "common.bpf.h"

static __always_inline struct rc_sock *new_record(const struct sock *sk) {
    struct rc_sock *s = bpf_sk_storage_get(&socks, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!s) {
        count(RC_CNT_NO_STORAGE);
        return 0;
    }
    if (!(s->flags & RC_F_FILLED)) {
        s->cookie = bpf_get_socket_cookie((void *)sk);
        s->netns = sock_netns(sk);
        s->protocol = IPPROTO_TCP;
        s->flags |= RC_F_FILLED;
    }
    return s;
}

/* listen(): process context, the caller owns the listener. */
static __always_inline void on_listen(const struct sock *sk) {
    struct rc_sock *s = new_record(sk);
    if (!s) return;
    fill_current(&s->owner);
    read_tuple(sk, s);
    s->direction = RC_DIR_LISTEN;
    s->start_ns = bpf_ktime_get_boot_ns();
    s->flags |= RC_F_STARTED;
    emit(s, RC_ACT_LISTENING, TCP_LISTEN);
}

/* A listener made a child socket (softirq): it holds a copy of the listener's record, owner
 * included, which accept() refines. */
static __always_inline void on_child(const struct sock *sk) {
    struct rc_sock *s = bpf_sk_storage_get(&socks, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!s) {
        count(RC_CNT_NO_STORAGE);
        return;
    }
    s->cookie = bpf_get_socket_cookie((void *)sk); /* the copy holds the listener's */
    s->netns = sock_netns(sk);
    s->protocol = IPPROTO_TCP;
    read_tuple(sk, s);
    s->direction = RC_DIR_INBOUND;
    s->flags = RC_F_FILLED | RC_F_CHILD;
    s->start_ns = bpf_ktime_get_boot_ns();
    s->tx_bytes = s->rx_bytes = s->tx_packets = s->rx_packets = 0;
}

/* The handshake of a child ended (softirq). Without the accept hooks, this is its start record,
 * under the listener's owner. */
static __always_inline void on_passive_established(const struct sock *sk) {
    struct rc_sock *s = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
    if (!s || !(s->flags & RC_F_CHILD)) return;
    s->flags |= RC_F_STARTED;
    s->start_ns = bpf_ktime_get_boot_ns();
    if (!accept_hooked) emit(s, RC_ACT_ACCEPTED, TCP_ESTABLISHED);
}

/* The end of a TCP socket (any context): counters from tcp_sock. */
static __always_inline void on_tcp_close(const struct sock *sk, int oldstate) {
    struct rc_sock *s = bpf_sk_storage_get(&socks, (void *)sk, 0, 0);
    if (!s || !(s->flags & RC_F_STARTED)) return;
    s->flags &= ~RC_F_STARTED;
    struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);
    if (tp) {
        /* Payload bytes. bytes_acked also counts the sequence numbers of SYN and FIN, and
         * bytes_sent counts retransmitted payload again; bytes_received counts the peer's FIN
         * once tcp_fin() took it, which also sets SOCK_DONE. */
        s->tx_bytes = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
        __u64 rx = BPF_CORE_READ(tp, bytes_received);
        if ((BPF_CORE_READ(sk, __sk_common.skc_flags) & (1UL << SOCK_DONE)) && rx > 0) rx -= 1;
        s->rx_bytes = rx;
        s->tx_packets = BPF_CORE_READ(tp, segs_out);
        s->rx_packets = BPF_CORE_READ(tp, segs_in);
    }
    /* The ends were read at the start; an unbound socket's port may already be released. */
    if (s->local_port == 0 && oldstate != TCP_LISTEN) read_tuple(sk, s);
    struct rc_conn_event *e = conn_event(s, RC_ACT_CLOSED, (__u8)oldstate);
    if (!e) return;
    e->error = BPF_CORE_READ(sk, sk_err);
    submit(e);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(rc_set_state, const struct sock *sk, const int oldstate, const int newstate) {
    if (sk->sk_protocol != IPPROTO_TCP) return 0;
    switch (newstate) {
        case TCP_LISTEN:
            on_listen(sk);
            break;
        case TCP_SYN_RECV:
            if (oldstate == TCP_LISTEN) on_child(sk);
            break;
        case TCP_ESTABLISHED:
            if (oldstate == TCP_SYN_RECV) on_passive_established(sk);
            break;
        case TCP_CLOSE:
            on_tcp_close(sk, oldstate);
            break;
    }
    return 0;
}

/* send/receive on a UDP socket (process context): datagrams counted each way, and the flow of a
 * connected socket reported on its first use (connect() itself comes before the kernel chose
 * the source address and port). */
static __always_inline void on_udp_io(struct sock *sk, int ret, int send) {
    if (ret <= 0 || sk->sk_protocol != IPPROTO_UDP) return;
    struct rc_sock *s = bpf_sk_storage_get(&socks, sk, 0, 0);
    if (!s) return;
    if (send) {
        __sync_fetch_and_add(&s->tx_bytes, ret);
        __sync_fetch_and_add(&s->tx_packets, 1);
    } else {
        __sync_fetch_and_add(&s->rx_bytes, ret);
        __sync_fetch_and_add(&s->rx_packets, 1);
    }
    if ((s->flags & (RC_F_UDP_CONNECTED | RC_F_UDP_REPORTED)) != RC_F_UDP_CONNECTED) return;
    s->flags |= RC_F_UDP_REPORTED | RC_F_STARTED;
    fill_current(&s->owner);
    read_tuple(sk, s);
    s->direction = RC_DIR_OUTBOUND;
    s->start_ns = bpf_ktime_get_boot_ns();
    emit(s, RC_ACT_UDP_FLOW, 0);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(rc_send_length, struct sock *sk, int ret, int flags) {
    on_udp_io(sk, ret, 1);
    return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(rc_recv_length, struct sock *sk, int ret, int flags) {
    on_udp_io(sk, ret, 0);
    return 0;
}

/* accept()/accept4() returned a socket (process context: the accepting process). These
 * programs cannot reach socket-local storage, so they send the accepted record themselves,
 * reading the socket through the caller's fd table; user space keeps the owner they name
 * (keyed by the socket cookie, which the child got in on_child). */
static __always_inline void on_accept(long fd) {
    if (fd < 0) return;
    count(RC_CNT_ACCEPTS);
    emit_from_sock(sock_of_fd(fd), IPPROTO_TCP, RC_ACT_ACCEPTED, RC_DIR_INBOUND,
                   RC_F_FILLED | RC_F_STARTED | RC_F_CHILD);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int rc_accept4(struct trace_event_raw_sys_exit *ctx) {
    on_accept(ctx->ret);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int rc_accept(struct trace_event_raw_sys_exit *ctx) {
    on_accept(ctx->ret);
    return 0;
}
