/* Maps and helpers shared by every ringcap BPF program (one object, one skeleton).
 * CO-RE: compiled against the vmlinux.h the build dumps from the running kernel's BTF. */
#pragma once

#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.h"

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Set by user space before loading: wake the reader only once this much is waiting (it polls
 * with a timeout anyway, so nothing waits longer than that timeout). */
const volatile __u64 wakeup_bytes = 256 * 1024;
/* Set by user space once the accept() tracepoints are attached: the accepted record is then
 * sent from accept() (the accepting process) instead of from the handshake's end. */
volatile __u32 accept_hooked;
volatile __u32 connect_hooked; /* udp_connect.bpf.h's tracepoints are attached */

/* The record of every tracked socket. BPF_F_CLONE: a TCP socket a listener makes (in softirq,
 * when the handshake arrives) starts with a copy of the listener's record. */
struct {
    __uint(type, BPF_MAP_TYPE_SK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
    __type(key, int);
    __type(value, struct rc_sock);
} socks SEC(".maps");

/* Every record for user space; the size is set by user space before loading. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Unconnected UDP: (socket, peer) pairs already reported. LRU: when full, the pair used least
 * recently goes, and a flow seen again after that is reported again. */
struct udp_peer_key {
    __u64 cookie;
    __u8 addr[16];
    __u16 port;
    __u16 family;
    __u32 pad;
};
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct udp_peer_key);
    __type(value, __u8);
} udp_peers SEC(".maps");

/* Pre-existing sockets: kernel address of the socket -> a process that holds it (filled by the
 * task_file iterator, consumed by the tcp and udp iterators). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC); /* used once, at the start */
    __uint(max_entries, 65536);
    __type(key, __u64);
    __type(value, struct rc_task);
} owners SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, RC_CNT__MAX);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 which) {
    __u64 *c = bpf_map_lookup_elem(&counters, &which);
    if (c) *c += 1;
}

static __always_inline __u64 wake_flags(void) {
    return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                         : BPF_RB_NO_WAKEUP;
}

/* Room for one record of `size` bytes, zeroed, or NULL (counted as lost). */
static __always_inline void *reserve(__u64 size) {
    void *e = bpf_ringbuf_reserve(&events, size, 0);
    if (!e) count(RC_CNT_LOST);
    return e;
}

static __always_inline void submit(void *e) {
    count(RC_CNT_EVENTS);
    bpf_ringbuf_submit(e, wake_flags());
}

/* The calling thread, in process context. */
static __always_inline void fill_current(struct rc_task *t) {
    struct task_struct *task = bpf_get_current_task_btf();
    __u64 id = bpf_get_current_pid_tgid();
    t->pid = (__u32)id;
    t->tgid = id >> 32;
    t->uid = (__u32)bpf_get_current_uid_gid();
    t->ppid = BPF_CORE_READ(task, real_parent, tgid);
    t->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
    t->cgroup_id = bpf_get_current_cgroup_id();
    bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/* Any task (iterators, fork). */
static __always_inline void fill_task(struct task_struct *task, struct rc_task *t) {
    t->pid = BPF_CORE_READ(task, pid);
    t->tgid = BPF_CORE_READ(task, tgid);
    t->uid = BPF_CORE_READ(task, real_cred, uid.val);
    t->ppid = BPF_CORE_READ(task, real_parent, tgid);
    t->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
    t->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
    BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
}

static __always_inline __u32 current_netns(void) {
    struct task_struct *task = bpf_get_current_task_btf();
    return BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
}

static __always_inline __u32 sock_netns(const struct sock *sk) {
    return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* The socket behind file descriptor `fd` of the current task (probe reads through its fd
 * table), or NULL when it is not a socket. */
static __always_inline struct sock *sock_of_fd(long fd) {
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds)) return 0;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = 0;
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK) return 0;
    struct socket *sock = BPF_CORE_READ(f, private_data);
    return BPF_CORE_READ(sock, sk);
}

/* Local and remote address and port of a kernel socket (probe reads: any sock pointer). */
static __always_inline void read_tuple(const struct sock *sk, struct rc_sock *s) {
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    s->family = family;
    s->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
    s->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (family == AF_INET6) {
        BPF_CORE_READ_INTO(&s->local_addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
        BPF_CORE_READ_INTO(&s->remote_addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
    } else {
        __builtin_memset(s->local_addr, 0, sizeof(s->local_addr));
        __builtin_memset(s->remote_addr, 0, sizeof(s->remote_addr));
        BPF_CORE_READ_INTO((__u32 *)s->local_addr, sk, __sk_common.skc_rcv_saddr);
        BPF_CORE_READ_INTO((__u32 *)s->remote_addr, sk, __sk_common.skc_daddr);
    }
}

/* A connection record for user space, filled from the socket's record; the caller may change
 * it before submit(). NULL when the ring buffer is full (counted). */
static __always_inline struct rc_conn_event *conn_event(const struct rc_sock *s, __u32 action,
                                                        __u8 state) {
    struct rc_conn_event *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->kind = RC_KIND_CONN;
    e->action = action;
    e->ts_ns = bpf_ktime_get_boot_ns();
    __builtin_memcpy(&e->sock, s, sizeof(e->sock));
    e->state = state;
    e->pad[0] = e->pad[1] = e->pad[2] = 0;
    e->error = 0;
    return e;
}

/* A record of inet socket `sk` (of `protocol`) straight from the socket, the current task as
 * owner: for the syscall tracepoints, which cannot reach socket-local storage. */
static __always_inline void emit_from_sock(struct sock *sk, __u8 protocol, __u32 action,
                                           __u8 direction, __u32 flags) {
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != protocol) return;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family != AF_INET && family != AF_INET6) return;
    struct rc_conn_event *e = reserve(sizeof(*e));
    if (!e) return;
    __builtin_memset(e, 0, sizeof(*e));
    e->kind = RC_KIND_CONN;
    e->action = action;
    e->ts_ns = bpf_ktime_get_boot_ns();
    e->sock.start_ns = e->ts_ns;
    fill_current(&e->sock.owner);
    e->sock.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
    e->sock.netns = sock_netns(sk);
    e->sock.protocol = protocol;
    e->sock.direction = direction;
    e->sock.flags = flags;
    read_tuple(sk, &e->sock);
    e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
    submit(e);
}

static __always_inline void emit(const struct rc_sock *s, __u32 action, __u8 state) {
    struct rc_conn_event *e = conn_event(s, action, state);
    if (e) submit(e);
}
