/* The records the BPF programs hand to user space, and the per-socket record they keep in
 * socket-local storage. Shared by the BPF side (compiled against vmlinux.h) and the C++ side
 * (src/procmap/), so only fixed-size integer and char types appear here.
 *
 * Every record in the ring buffer starts with a __u32 kind (enum rc_kind); its size follows
 * from the kind. Times are CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns(), the clock of
 * task->start_boottime); user space adds the boot time to get wall-clock time. */
#ifndef RINGCAP_PROCMAP_BPF_EVENTS_H
#define RINGCAP_PROCMAP_BPF_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define RC_COMM_LEN 16
#define RC_PATH_LEN 256   /* the path execve() was given (bprm->filename) */
#define RC_ARGS_LEN 512   /* the start of the new image's argument block, NUL-separated */
#define RC_CGROUP_LEN 128 /* the name of the task's cgroup v2 directory (its last component) */

enum rc_kind {
    RC_KIND_CONN = 1, /* struct rc_conn_event: a socket's start, end or current state */
    RC_KIND_EXEC,     /* struct rc_exec_event */
    RC_KIND_FORK,     /* struct rc_fork_event: a new process (not a thread) */
    RC_KIND_EXIT,     /* struct rc_exit_event: the last thread of a process ended */
};

enum rc_action {
    RC_ACT_ATTEMPTED = 1, /* TCP connect() sent its SYN (the source port is known) */
    RC_ACT_ACCEPTED,      /* TCP accept() returned it (or, without the accept hooks, it was
                             established on a listener) */
    RC_ACT_LISTENING,     /* TCP listen(), or bind() of a UDP socket to a port it chose */
    RC_ACT_UDP_FLOW,      /* first datagram of a UDP socket to or from one peer */
    RC_ACT_CLOSED,        /* the end of a socket that had a start record */
    RC_ACT_EXISTING,      /* a socket that was open before the programs were attached */
};

enum rc_direction {
    RC_DIR_UNKNOWN = 0,
    RC_DIR_OUTBOUND, /* this host started it: connect(), or it sent the first datagram */
    RC_DIR_INBOUND,  /* the peer started it: accepted, or the first datagram came in */
    RC_DIR_LISTEN,   /* a listening (or bound, for UDP) socket: no peer */
};

/* rc_sock.flags */
#define RC_F_FILLED 0x01        /* owner, netns and cookie are set */
#define RC_F_STARTED 0x02       /* a start record went out: the end of the socket is reported */
#define RC_F_CHILD 0x04         /* a TCP socket made by a listener (the owner is inherited) */
#define RC_F_UDP_CONNECTED 0x08 /* connect() on a UDP socket; its flow is reported on first use */
#define RC_F_UDP_REPORTED 0x10  /* the connected UDP flow was reported */
#define RC_F_PORT_ASKED 0x20    /* bind() asked for a port (not 0) */
/* A UDP socket's flow at connect()'s return, before any datagram (or its end without one): an
 * owner for packet lookups, not a connection record of its own. */
#define RC_F_PROVISIONAL 0x40

/* Who did something: the thread, its process and what identifies the process for good. */
struct rc_task {
    __u32 pid;      /* thread id */
    __u32 tgid;     /* process id */
    __u32 ppid;     /* the parent process's id */
    __u32 uid;      /* real uid */
    __u64 start_ns; /* the process's start (group leader's start_boottime): (tgid, start_ns)
                       names a process for good, pids are reused */
    __u64 cgroup_id;
    char comm[RC_COMM_LEN];
};

/* The record each tracked socket carries in socket-local storage, copied into its events.
 * Addresses are in network byte order (IPv4 in the first 4 bytes), ports in host order. */
struct rc_sock {
    struct rc_task owner;
    __u64 cookie;   /* the socket cookie (SO_COOKIE), unique while the system runs */
    __u64 start_ns; /* when its start record happened */
    __u32 netns;    /* inode of its network namespace (as /proc/PID/ns/net shows it) */
    __u16 family;   /* AF_INET or AF_INET6 */
    __u8 protocol;  /* IPPROTO_TCP or IPPROTO_UDP */
    __u8 direction; /* enum rc_direction */
    __u32 flags;    /* RC_F_* */
    __u16 local_port;
    __u16 remote_port;
    __u8 local_addr[16];
    __u8 remote_addr[16];
    /* Bytes and packets each way: for TCP read from tcp_sock at the end; for UDP counted per
     * send and receive call (a call is a datagram, except with UDP_SEGMENT/GRO). */
    __u64 tx_bytes;
    __u64 rx_bytes;
    __u64 tx_packets;
    __u64 rx_packets;
};

struct rc_conn_event {
    __u32 kind;   /* RC_KIND_CONN */
    __u32 action; /* enum rc_action */
    __u64 ts_ns;
    struct rc_sock sock; /* for RC_ACT_ACCEPTED with the accept hooks: owner is the accepter */
    __u8 state;          /* TCP state now (RC_ACT_CLOSED: the state it left) */
    __u8 pad[3];
    __u32 error; /* sk_err at the end (ECONNREFUSED, ETIMEDOUT, ECONNRESET ...) */
};

struct rc_exec_event {
    __u32 kind; /* RC_KIND_EXEC */
    __u32 args_len;
    __u64 ts_ns;
    struct rc_task task;
    char filename[RC_PATH_LEN];
    char cgroup[RC_CGROUP_LEN];
    char args[RC_ARGS_LEN];
};

struct rc_fork_event {
    __u32 kind; /* RC_KIND_FORK */
    __u32 pad;
    __u64 ts_ns;
    struct rc_task child; /* ppid = the parent; comm is the parent's until the child execs */
};

struct rc_exit_event {
    __u32 kind; /* RC_KIND_EXIT */
    __u32 exit_code;
    __u64 ts_ns;
    __u32 tgid;
    __u32 pad;
    __u64 start_ns;
};

/* What the task_file iterator writes per socket file (pre-existing sockets): the owner of a
 * socket, to be joined with the tcp/udp iterators' records in each network namespace. */
struct rc_owner_record {
    __u32 netns;
    __u32 tgid;
};

/* Counters the programs keep (a per-CPU array; user space sums the CPUs). */
enum rc_counter {
    RC_CNT_EVENTS = 0,  /* records written to the ring buffer */
    RC_CNT_LOST,        /* records the ring buffer had no room for */
    RC_CNT_NO_STORAGE,  /* sockets socket-local storage could not be made for */
    RC_CNT_UDP_PEERS,   /* (socket, peer) pairs put into the UDP dedupe map */
    RC_CNT_OWNERS_FULL, /* pre-existing sockets whose owner did not fit the owner map */
    RC_CNT_ACCEPTS,     /* accept() calls seen by the accept hooks */
    RC_CNT__MAX,
};

#endif
