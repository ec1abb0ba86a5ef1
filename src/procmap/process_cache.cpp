#include "procmap/process_cache.hpp"

#include <algorithm>
#include <charconv>

#include "sys/procfs.hpp"

namespace ringcap::detail {

namespace {

bool is_hex64(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// "docker-ID.scope" -> "ID"; "ID" -> "ID"; anything else -> "".
std::string_view id_in_component(std::string_view c) {
    if (c.ends_with(".scope")) c.remove_suffix(6);
    for (std::string_view prefix : {"docker-", "cri-containerd-", "crio-", "libpod-"}) {
        if (c.starts_with(prefix)) {
            c.remove_prefix(prefix.size());
            break;
        }
    }
    return is_hex64(c) ? c : std::string_view{};
}

template <class T>
T number(std::string_view s) {
    T v{};
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

// Field `n` (1-based, as proc(5) counts) of /proc/PID/stat; the command (field 2) may hold
// spaces and parentheses, so counting starts after its last ')'.
std::string_view stat_field(std::string_view stat, int n) {
    const auto close = stat.rfind(')');
    if (close == std::string_view::npos) return {};
    std::string_view rest = stat.substr(close + 2);  // field 3 onwards
    for (int i = 3; i < n; ++i) {
        const auto sp = rest.find(' ');
        if (sp == std::string_view::npos) return {};
        rest.remove_prefix(sp + 1);
    }
    return rest.substr(0, rest.find(' '));
}

std::string_view status_field(std::string_view status, std::string_view name) {
    const auto at = status.find(name);
    if (at == std::string_view::npos) return {};
    std::string_view v = status.substr(at + name.size());
    v.remove_prefix(std::min(v.find_first_not_of(" \t"), v.size()));
    return v.substr(0, v.find_first_of(" \t\n"));
}

}  // namespace

std::string container_id_from_cgroup(std::string_view path) {
    while (!path.empty()) {
        const auto slash = path.rfind('/');
        const std::string_view c = slash == std::string_view::npos ? path : path.substr(slash + 1);
        if (const auto id = id_in_component(c); !id.empty()) return std::string(id);
        if (slash == std::string_view::npos) break;
        path = path.substr(0, slash);
    }
    return {};
}

std::vector<std::string> split_args(std::string_view block) {
    std::vector<std::string> args;
    while (!block.empty()) {
        const auto nul = block.find('\0');
        args.emplace_back(block.substr(0, nul));
        if (nul == std::string_view::npos) break;
        block.remove_prefix(nul + 1);
    }
    return args;
}

ProcessCache::ProcessCache(std::size_t max_entries, std::chrono::nanoseconds grace)
    : max_(std::max<std::size_t>(max_entries, 16)), grace_ns_(grace.count()) {}

std::shared_ptr<ProcessInfo> ProcessCache::from_facts(const TaskFacts& t) const {
    auto p = std::make_shared<ProcessInfo>();
    p->pid = t.tgid;
    p->ppid = t.ppid;
    p->uid = t.uid;
    p->start_boottime_ns = t.start_boottime_ns;
    p->start_ns = t.start_boottime_ns != 0 ? boot_offset_ + std::int64_t(t.start_boottime_ns) : 0;
    p->comm = std::string(t.comm);
    p->cgroup_id = t.cgroup_id;
    return p;
}

const std::string& ProcessCache::container_of(std::uint64_t cgroup_id, std::uint32_t pid) {
    auto it = containers_.find(cgroup_id);
    if (it != containers_.end()) return it->second;
    std::string id;
    if (auto cg = sys::read_small_file("/proc/" + std::to_string(pid) + "/cgroup"))
        id = container_id_from_cgroup(*cg);  // any hierarchy's path: the lines end in paths
    if (containers_.size() >= max_) containers_.clear();
    return containers_.emplace(cgroup_id, std::move(id)).first->second;
}

void ProcessCache::on_exec(const TaskFacts& t, std::string_view filename,
                           std::string_view cgroup_name, std::string_view args) {
    auto p = from_facts(t);
    p->args = split_args(args);
    p->executable = std::string(filename);
    if (!filename.starts_with('/')) {  // relative to the caller's directory: ask the kernel
        if (auto exe = sys::read_link("/proc/" + std::to_string(t.tgid) + "/exe"))
            p->executable = *exe;
    }
    std::string id = container_id_from_cgroup(cgroup_name);
    if (!id.empty() || !containers_.contains(t.cgroup_id)) containers_[t.cgroup_id] = id;
    p->container_id = std::move(id);
    insert({t.tgid, t.start_boottime_ns}, std::move(p));
}

void ProcessCache::on_fork(const TaskFacts& child) {
    auto p = from_facts(child);
    auto parent = by_pid_.find(child.ppid);
    if (parent != by_pid_.end()) {
        if (auto it = map_.find(parent->second); it != map_.end()) {
            p->executable = it->second.info->executable;
            p->args = it->second.info->args;
            p->container_id = it->second.info->container_id;
        }
    } else if (auto from_proc = read_proc(child.tgid, child.start_boottime_ns)) {
        p = std::move(from_proc);
    }
    insert({child.tgid, child.start_boottime_ns}, std::move(p));
}

void ProcessCache::on_exit(std::uint32_t tgid, std::uint64_t start, std::int64_t boottime_ns) {
    auto it = map_.find({tgid, start});
    if (it != map_.end()) it->second.exited_at = std::max<std::int64_t>(boottime_ns, 1);
}

std::shared_ptr<const ProcessInfo> ProcessCache::resolve(const TaskFacts& t) {
    const Key key{t.tgid, t.start_boottime_ns};
    if (auto it = map_.find(key); it != map_.end()) return it->second.info;
    std::shared_ptr<ProcessInfo> p = t.tgid != 0 ? read_proc(t.tgid, t.start_boottime_ns) : nullptr;
    if (!p) {
        p = from_facts(t);
        if (t.tgid != 0) p->container_id = container_of(t.cgroup_id, t.tgid);
    }
    p->cgroup_id = t.cgroup_id;
    insert(key, p);
    return p;
}

std::shared_ptr<ProcessInfo> ProcessCache::read_proc(std::uint32_t pid,
                                                     std::uint64_t start_boottime_ns) const {
    const std::string dir = "/proc/" + std::to_string(pid);
    const auto stat = sys::read_small_file(dir + "/stat");
    if (!stat) return nullptr;
    // starttime (field 22) is in clock ticks since boot, truncated from start_boottime.
    const auto ticks = number<std::uint64_t>(stat_field(*stat, 22));
    const std::uint64_t tick_ns = 1'000'000'000 / std::uint64_t(sys::clock_ticks_per_second());
    if (start_boottime_ns != 0 && ticks != start_boottime_ns / tick_ns) return nullptr;

    auto p = std::make_shared<ProcessInfo>();
    p->pid = pid;
    p->ppid = number<std::uint32_t>(stat_field(*stat, 4));
    p->start_boottime_ns = start_boottime_ns != 0 ? start_boottime_ns : ticks * tick_ns;
    p->start_ns = boot_offset_ + std::int64_t(p->start_boottime_ns);
    const auto open = stat->find('('), close = stat->rfind(')');
    if (open != std::string::npos && close > open)
        p->comm = stat->substr(open + 1, close - open - 1);
    if (auto status = sys::read_small_file(dir + "/status"))
        p->uid = number<std::uint32_t>(status_field(*status, "Uid:"));
    if (auto exe = sys::read_link(dir + "/exe")) p->executable = *exe;
    if (auto cmdline = sys::read_small_file(dir + "/cmdline", 511)) p->args = split_args(*cmdline);
    if (auto cg = sys::read_small_file(dir + "/cgroup"))
        p->container_id = container_id_from_cgroup(*cg);
    return p;
}

void ProcessCache::scan_proc() {
    for (const std::uint32_t pid : sys::list_pids()) {
        auto p = read_proc(pid, 0);
        if (!p) continue;
        const Key key{pid, p->start_boottime_ns};
        if (!map_.contains(key)) insert(key, std::move(p));
    }
}

void ProcessCache::expire(std::int64_t now) {
    std::erase_if(map_, [&](const auto& kv) {
        return kv.second.exited_at != 0 && now - kv.second.exited_at > grace_ns_;
    });
}

void ProcessCache::make_room() {
    // Exited processes go first (all of them, whatever their grace); then the oldest entries.
    if (map_.size() < max_) return;
    const std::size_t before = map_.size();
    std::erase_if(map_, [](const auto& kv) { return kv.second.exited_at != 0; });
    while (map_.size() >= max_ && !order_.empty()) {
        const auto [key, seq] = order_.front();
        order_.pop_front();
        auto it = map_.find(key);
        if (it != map_.end() && it->second.seq == seq) map_.erase(it);
    }
    evictions_ += before - map_.size();
}

void ProcessCache::insert(const Key& key, std::shared_ptr<const ProcessInfo> info) {
    if (!map_.contains(key)) make_room();
    Entry& e = map_[key];
    e.info = std::move(info);
    e.exited_at = 0;
    e.seq = ++seq_;
    order_.emplace_back(key, e.seq);
    if (order_.size() > 4 * max_) {  // drop stale positions now and then
        std::erase_if(order_, [&](const auto& o) {
            auto it = map_.find(o.first);
            return it == map_.end() || it->second.seq != o.second;
        });
    }
    by_pid_[key.tgid] = key;
    if (by_pid_.size() > 2 * max_)
        std::erase_if(by_pid_, [&](const auto& kv) { return !map_.contains(kv.second); });
}

}  // namespace ringcap::detail
