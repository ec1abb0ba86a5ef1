/* connect() on a UDP socket, seen at its return. The udp_flow record waits for the first
 * datagram (connect() alone sends nothing, and resolvers connect sockets only to learn a source
 * address), and sock_send_length reports it only after that datagram left; a capture naming
 * packets by flow (--process) needs the owner before. When connect() returns, the kernel has
 * chosen the source address and port: a provisional record then gives user space the owner for
 * lookups; a socket closed without a datagram sends a provisional end (sock_release). Classic
 * syscall tracepoints (tracefs, as accept's): the fd from the entry, the socket through the fd
 * table. */
#pragma once

#include "common.bpf.h"

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u64);   /* pid_tgid of a thread inside connect() */
    __type(value, __s32); /* its fd */
} connecting SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_connect")
int rc_connect_enter(struct trace_event_raw_sys_enter *ctx) {
    __u64 id = bpf_get_current_pid_tgid();
    __s32 fd = (__s32)ctx->args[0];
    bpf_map_update_elem(&connecting, &id, &fd, BPF_ANY);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int rc_connect_exit(struct trace_event_raw_sys_exit *ctx) {
    __u64 id = bpf_get_current_pid_tgid();
    __s32 *fdp = bpf_map_lookup_elem(&connecting, &id);
    if (!fdp) return 0;
    const __s32 fd = *fdp;
    bpf_map_delete_elem(&connecting, &id);
    if (ctx->ret != 0) return 0;
    struct sock *sk = sock_of_fd(fd);
    if (!sk || BPF_CORE_READ(sk, __sk_common.skc_dport) == 0) return 0; /* AF_UNSPEC: none */
    emit_from_sock(sk, IPPROTO_UDP, RC_ACT_UDP_FLOW, RC_DIR_OUTBOUND,
                   RC_F_FILLED | RC_F_UDP_CONNECTED | RC_F_PROVISIONAL);
    return 0;
}
