/* Sockets that were open before the hooks were attached. The task_file iterator finds, for each
 * socket file of each process, who holds it (the socket pointer it yields cannot be passed to
 * socket-local storage on this kernel); the tcp and udp iterators, run in each network
 * namespace, give each full socket its record with that owner and write an "existing" record to
 * the reader. */
#pragma once

#include "common.bpf.h"

SEC("iter/task_file")
int rc_iter_owners(struct bpf_iter__task_file *ctx) {
    struct task_struct *task = ctx->task;
    struct file *file = ctx->file;
    if (!task || !file) return 0;
    struct socket *sock = bpf_sock_from_file(file);
    if (!sock) return 0;
    struct sock *sk = sock->sk;
    if (!sk) return 0;
    __u16 family = sk->__sk_common.skc_family;
    __u16 protocol = sk->sk_protocol;
    if ((family != AF_INET && family != AF_INET6) ||
        (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP))
        return 0;
    __u64 key = (__u64)sk;
    struct rc_task owner = {};
    fill_task(task, &owner);
    if (bpf_map_update_elem(&owners, &key, &owner, BPF_NOEXIST) == -7 /* E2BIG: full */)
        count(RC_CNT_OWNERS_FULL);
    struct rc_owner_record r = {.netns = sock_netns(sk), .tgid = owner.tgid};
    bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
    return 0;
}

static __always_inline void seed(struct seq_file *seq, const struct sock *sk, void *storage_sk) {
    struct rc_sock *s = bpf_sk_storage_get(&socks, storage_sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!s) {
        count(RC_CNT_NO_STORAGE);
        return;
    }
    if (s->flags & RC_F_FILLED) return; /* made since the hooks were attached: tracked */
    __u64 key = (__u64)sk;
    struct rc_task *owner = bpf_map_lookup_elem(&owners, &key);
    if (!owner) { /* no process holds it (an orphan on its way out, or a kernel socket) */
        bpf_sk_storage_delete(&socks, storage_sk);
        return;
    }
    __builtin_memcpy(&s->owner, owner, sizeof(s->owner));
    bpf_map_delete_elem(&owners, &key);
    s->cookie = bpf_get_socket_cookie(storage_sk);
    s->netns = sock_netns(sk);
    s->protocol = BPF_CORE_READ(sk, sk_protocol);
    read_tuple(sk, s);
    __u8 state = BPF_CORE_READ(sk, __sk_common.skc_state);
    s->flags = RC_F_FILLED | RC_F_STARTED;
    if (s->protocol == IPPROTO_TCP)
        s->direction = state == TCP_LISTEN ? RC_DIR_LISTEN : RC_DIR_UNKNOWN;
    else if (s->remote_port != 0) {
        s->flags |= RC_F_UDP_CONNECTED | RC_F_UDP_REPORTED;
        s->direction = RC_DIR_OUTBOUND;
    } else
        s->direction = RC_DIR_LISTEN;
    s->start_ns = 0; /* unknown */

    struct rc_conn_event e = {};
    e.kind = RC_KIND_CONN;
    e.action = RC_ACT_EXISTING;
    e.ts_ns = bpf_ktime_get_boot_ns();
    __builtin_memcpy(&e.sock, s, sizeof(e.sock));
    e.state = state;
    bpf_seq_write(seq, &e, sizeof(e));
}

SEC("iter/tcp")
int rc_iter_tcp(struct bpf_iter__tcp *ctx) {
    struct sock_common *skc = ctx->sk_common;
    if (!skc) return 0;
    struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc); /* full sockets only (no time-wait) */
    if (!tp) return 0;
    seed(ctx->meta->seq, (const struct sock *)tp, tp);
    return 0;
}

SEC("iter/udp")
int rc_iter_udp(struct bpf_iter__udp *ctx) {
    struct udp_sock *udp = ctx->udp_sk;
    if (!udp) return 0;
    seed(ctx->meta->seq, (const struct sock *)udp, udp);
    return 0;
}
