/* ringcap's process attribution: one BPF object (one skeleton, one ring buffer).
 * See src/procmap/README.md ... the parts:
 *   sock_hooks.bpf.h  cgroup hooks: socket(), connect(), bind(), sendto()/recvfrom(), close()
 *   tcp_state.bpf.h   TCP state changes, UDP send/receive counts, accept()
 *   udp_connect.bpf.h connect() of UDP sockets, at its return (for packet lookups)
 *   proc.bpf.h        exec, fork, exit
 *   iter.bpf.h        sockets open before the hooks were attached */
#include "common.bpf.h"
#include "iter.bpf.h"
#include "proc.bpf.h"
#include "sock_hooks.bpf.h"
#include "tcp_state.bpf.h"
#include "udp_connect.bpf.h"

char LICENSE[] SEC("license") = "GPL";
