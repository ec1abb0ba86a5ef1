/* The stack's drops by reason, for the captured interfaces only: the tp_btf form of the
 * skb/kfree_skb tracepoint (BTF-based: needs no tracefs, which this kind of machine does not
 * mount), whose `reason` is the kernel's enum skb_drop_reason (since 5.17). One per-CPU hash
 * entry per (reason, interface): no atomics, no ring buffer, nothing per packet in user space.
 * CO-RE: compiled against the vmlinux.h the build dumps from the running kernel's BTF. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "drops.h"

/* Set by user space before loading. The network namespace (its inode, as /proc/self/ns/net
 * shows it) and the interfaces in it; watch_all: every interface of that namespace ("any"). */
const volatile __u32 netns_inum = 0;
const volatile __u32 watch_all = 0;
const volatile __u32 n_ifindexes = 0;
const volatile __u32 ifindexes[RC_DROP_MAX_INTERFACES] = {};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct rc_drop_key);
    __type(value, __u64);
} drops SEC(".maps");

static __always_inline int slot_of(__u32 ifindex) {
    if (watch_all) return (int)ifindex;
    for (__u32 i = 0; i < RC_DROP_MAX_INTERFACES; i++) {
        if (i >= n_ifindexes) break;
        if (ifindexes[i] == ifindex) return (int)i;
    }
    return -1;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(rc_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason) {
    struct net_device *dev = BPF_CORE_READ(skb, dev);
    if (!dev) return 0;
    if (BPF_CORE_READ(dev, nd_net.net, ns.inum) != netns_inum) return 0;
    int slot = slot_of(BPF_CORE_READ(dev, ifindex));
    if (slot < 0) return 0;
    struct rc_drop_key key = {.reason = (__u32)reason, .slot = (__u32)slot};
    __u64 *count = bpf_map_lookup_elem(&drops, &key);
    if (count) {
        *count += 1; /* this CPU's own copy: no other CPU writes it */
        return 0;
    }
    __u64 one = 1;
    if (bpf_map_update_elem(&drops, &key, &one, BPF_NOEXIST) != 0) {
        /* another CPU made the entry first (each CPU has its own value in it) */
        count = bpf_map_lookup_elem(&drops, &key);
        if (count) *count += 1;
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
