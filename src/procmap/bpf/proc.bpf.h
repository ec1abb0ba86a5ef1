/* Process lifecycle for user space's process cache: exec (path, arguments and cgroup of the new
 * image), fork (a new process, not a thread) and exit (the last thread). With these, a process
 * that lived for a millisecond is still named when its connection records are read. */
#pragma once

#include "common.bpf.h"

SEC("tp_btf/sched_process_exec")
int BPF_PROG(rc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
    struct rc_exec_event *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->kind = RC_KIND_EXEC;
    e->ts_ns = bpf_ktime_get_boot_ns();
    fill_current(&e->task);
    if (bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename)) <
        0)
        e->filename[0] = 0;
    if (bpf_probe_read_kernel_str(e->cgroup, sizeof(e->cgroup),
                                  BPF_CORE_READ(p, cgroups, dfl_cgrp, kn, name)) < 0)
        e->cgroup[0] = 0;
    /* The argument block of the new image, just written by exec (resident, so readable here). */
    struct mm_struct *mm = BPF_CORE_READ(p, mm);
    unsigned long start = BPF_CORE_READ(mm, arg_start);
    unsigned long end = BPF_CORE_READ(mm, arg_end);
    __u64 len = end > start ? end - start : 0;
    if (len > RC_ARGS_LEN - 1) len = RC_ARGS_LEN - 1;
    len &= RC_ARGS_LEN - 1; /* the same bound, in a form the verifier follows */
    if (len == 0 || bpf_probe_read_user(e->args, len, (void *)start) < 0) len = 0;
    e->args_len = len;
    submit(e);
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(rc_fork, struct task_struct *parent, struct task_struct *child) {
    if (child->pid != child->tgid) return 0; /* a thread */
    struct rc_fork_event *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->kind = RC_KIND_FORK;
    e->pad = 0;
    e->ts_ns = bpf_ktime_get_boot_ns();
    fill_task(child, &e->child);
    e->child.ppid = parent->tgid;
    submit(e);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(rc_exit, struct task_struct *p) {
    /* signal->live counts the threads still running; the last one to exit sees 0. */
    if (BPF_CORE_READ(p, signal, live.counter) != 0) return 0;
    struct rc_exit_event *e = reserve(sizeof(*e));
    if (!e) return 0;
    e->kind = RC_KIND_EXIT;
    e->ts_ns = bpf_ktime_get_boot_ns();
    e->exit_code = BPF_CORE_READ(p, exit_code);
    e->tgid = BPF_CORE_READ(p, tgid);
    e->pad = 0;
    e->start_ns = BPF_CORE_READ(p, group_leader, start_boottime);
    submit(e);
    return 0;
}
