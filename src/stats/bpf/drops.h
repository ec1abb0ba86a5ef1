/* What the kfree_skb counter (drops.bpf.c) and user space (src/stats/stack_drops.cpp) share. */
#pragma once

#define RC_DROP_MAX_INTERFACES 16

/* Key of the per-CPU count map: the kernel's drop reason (enum skb_drop_reason, with the
 * subsystem in its upper 16 bits) and the index of the interface in the watched list. */
struct rc_drop_key {
    __u32 reason;
    __u32 slot;
};
