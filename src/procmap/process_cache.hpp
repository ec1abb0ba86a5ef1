#pragma once
// The process cache: ProcessInfo by (pid, start time), fed by exec/fork/exit records (BPF) or
// by reading /proc, kept for a grace period after the process exits, bounded in size.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <ringcap/conn.hpp>

namespace ringcap::detail {

// The container id in a cgroup path or name: the 64-hex-digit id of docker ("/docker/ID",
// "docker-ID.scope"), containerd ("cri-containerd-ID.scope"), CRI-O ("crio-ID.scope"), podman
// ("libpod-ID.scope") and kubepods ("/kubepods/burstable/podUID/ID"), taken from the innermost
// component that holds one. Empty when there is none.
std::string container_id_from_cgroup(std::string_view path);

// argv from a NUL-separated argument block (a trailing part without NUL counts as one).
std::vector<std::string> split_args(std::string_view block);

// What the kernel said about a process at some moment.
struct TaskFacts {
    std::uint32_t tgid = 0;
    std::uint32_t ppid = 0;
    std::uint32_t uid = 0;
    std::uint64_t start_boottime_ns = 0;
    std::uint64_t cgroup_id = 0;
    std::string_view comm;
};

class ProcessCache {
  public:
    ProcessCache(std::size_t max_entries, std::chrono::nanoseconds grace);

    // CLOCK_REALTIME - CLOCK_BOOTTIME now, for ProcessInfo::start_ns.
    void set_boot_offset(std::int64_t realtime_minus_boottime) noexcept {
        boot_offset_ = realtime_minus_boottime;
    }

    // The process started a new program.
    void on_exec(const TaskFacts& t, std::string_view filename, std::string_view cgroup_name,
                 std::string_view args);
    // A new process: the parent's program, until it execs.
    void on_fork(const TaskFacts& child);
    // Its last thread ended at `boottime_ns`: kept for the grace period from then.
    void on_exit(std::uint32_t tgid, std::uint64_t start_boottime_ns, std::int64_t boottime_ns);

    // The process `t` names: cached, else read from /proc while that pid is still the same
    // process, else made from `t` alone (comm, no executable). Never null.
    std::shared_ptr<const ProcessInfo> resolve(const TaskFacts& t);

    // Every process /proc shows now, into the cache.
    void scan_proc();

    // Drops processes that exited more than the grace period before `now_boottime_ns`.
    void expire(std::int64_t now_boottime_ns);

    std::uint64_t evictions() const noexcept { return evictions_; }
    std::size_t size() const noexcept { return map_.size(); }

    // /proc/PID as a ProcessInfo, when PID is the process that started at `start_boottime_ns`
    // (or any start, when 0); null when it is gone or another process now.
    std::shared_ptr<ProcessInfo> read_proc(std::uint32_t pid,
                                           std::uint64_t start_boottime_ns) const;

  private:
    struct Key {
        std::uint32_t tgid;
        std::uint64_t start;
        bool operator==(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            return std::hash<std::uint64_t>()(k.start * 0x9e3779b97f4a7c15ull ^ k.tgid);
        }
    };
    struct Entry {
        std::shared_ptr<const ProcessInfo> info;
        std::int64_t exited_at = 0;  // CLOCK_BOOTTIME ns; 0 while it runs
        std::uint64_t seq = 0;
    };

    void insert(const Key& key, std::shared_ptr<const ProcessInfo> info);
    void make_room();
    std::shared_ptr<ProcessInfo> from_facts(const TaskFacts& t) const;
    const std::string& container_of(std::uint64_t cgroup_id, std::uint32_t pid);

    std::size_t max_;
    std::int64_t grace_ns_;
    std::int64_t boot_offset_ = 0;
    std::unordered_map<Key, Entry, KeyHash> map_;
    std::unordered_map<std::uint32_t, Key> by_pid_;    // the newest process with that pid
    std::deque<std::pair<Key, std::uint64_t>> order_;  // insertion order, for eviction
    std::uint64_t seq_ = 0;
    std::uint64_t evictions_ = 0;
    std::unordered_map<std::uint64_t, std::string> containers_;  // cgroup id -> container id
};

}  // namespace ringcap::detail
