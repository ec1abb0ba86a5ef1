#include "stats/stack_drops.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <ringcap/error.hpp>

#include "ringcap_drops.skel.h"
#include "stats/bpf/drops.h"
#include "sys/libbpf_log.hpp"
#include "sys/names.hpp"
#include "sys/net_counters.hpp"
#include "sys/procfs.hpp"

namespace ringcap::detail {
namespace {

constexpr const char* kPrivilegeHint =
    "counting the stack's drops needs root, or CAP_BPF and CAP_PERFMON";
constexpr const char* kReasonPrefix = "SKB_DROP_REASON_";

[[noreturn]] void throw_bpf(int err, const std::string& what) {
    sys::throw_bpf(err, what, kPrivilegeHint);
}

// enum skb_drop_reason's values and names in the running kernel, read once.
const std::map<std::uint32_t, std::string>& reason_names() {
    static const std::map<std::uint32_t, std::string> names = [] {
        std::map<std::uint32_t, std::string> out;
        btf* vmlinux = btf__load_vmlinux_btf();
        if (vmlinux == nullptr) return out;
        const __s32 id = btf__find_by_name_kind(vmlinux, "skb_drop_reason", BTF_KIND_ENUM);
        if (id > 0) {
            const struct btf_type* t = btf__type_by_id(vmlinux, id);
            const struct btf_enum* e = btf_enum(t);
            for (int i = 0; i < btf_vlen(t); ++i) {
                std::string name = btf__name_by_offset(vmlinux, e[i].name_off);
                if (name.rfind(kReasonPrefix, 0) == 0) name.erase(0, std::strlen(kReasonPrefix));
                out.emplace(static_cast<std::uint32_t>(e[i].val), std::move(name));
            }
        }
        btf__free(vmlinux);
        return out;
    }();
    return names;
}

}  // namespace

std::string drop_reason_name(std::uint32_t reason) {
    const auto& names = reason_names();
    if (const auto it = names.find(reason); it != names.end()) return it->second;
    return "subsystem " + std::to_string(reason >> 16) + " reason " +
           std::to_string(reason & 0xffff);
}

struct StackDropCounter::Parts {
    struct SkelDeleter {
        void operator()(ringcap_drops* s) const noexcept { ringcap_drops__destroy(s); }
    };
    std::unique_ptr<ringcap_drops, SkelDeleter> skel;
    std::vector<std::string> slots;  // interface names by slot; empty: slot = ifindex ("any")
};

StackDropCounter::StackDropCounter(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
StackDropCounter::~StackDropCounter() = default;

std::unique_ptr<StackDropCounter> StackDropCounter::open(
    const std::vector<std::string>& interfaces) {
    sys::keep_libbpf_messages();
    auto parts = std::make_unique<Parts>();
    const std::optional<std::uint32_t> netns = sys::netns_inode();
    if (!netns) throw Error(ENOENT, "reading /proc/self/ns/net");
    const bool all = std::find(interfaces.begin(), interfaces.end(), "any") != interfaces.end();
    if (!all && interfaces.size() > RC_DROP_MAX_INTERFACES)
        throw Error(
            EINVAL,
            "counting the stack's drops on " + std::to_string(interfaces.size()) + " interfaces",
            "at most " + std::to_string(RC_DROP_MAX_INTERFACES));

    parts->skel.reset(ringcap_drops__open());
    if (!parts->skel) throw_bpf(errno, "opening the kfree_skb BPF object");
    ringcap_drops& skel = *parts->skel;
    skel.rodata->netns_inum = *netns;
    skel.rodata->watch_all = all ? 1 : 0;
    if (!all) {
        for (const std::string& name : interfaces) {
            const int index = sys::interface_index(name);
            if (index == 0) throw Error(ENODEV, "interface '" + name + "'");
            skel.rodata->ifindexes[parts->slots.size()] = static_cast<__u32>(index);
            parts->slots.push_back(name);
        }
        skel.rodata->n_ifindexes = static_cast<__u32>(parts->slots.size());
    }
    if (const int err = ringcap_drops__load(&skel))
        throw_bpf(-err, "loading the kfree_skb BPF program");
    if (const int err = ringcap_drops__attach(&skel))
        throw_bpf(-err, "attaching the BPF program to tp_btf/kfree_skb");
    reason_names();  // now, not on the first sample
    return std::unique_ptr<StackDropCounter>(new StackDropCounter(std::move(parts)));
}

std::vector<StackCounters::Drop> StackDropCounter::read() const {
    const int cpus = libbpf_num_possible_cpus();
    std::vector<StackCounters::Drop> out;
    if (cpus <= 0) return out;
    std::vector<__u64> values(static_cast<std::size_t>(cpus));
    bpf_map* map = parts_->skel->maps.drops;
    rc_drop_key key{}, next{};
    const rc_drop_key* prev = nullptr;
    while (bpf_map__get_next_key(map, prev, &next, sizeof next) == 0) {
        key = next;
        prev = &key;
        if (bpf_map__lookup_elem(map, &key, sizeof key, values.data(),
                                 values.size() * sizeof(__u64), 0) != 0)
            continue;  // gone meanwhile: never deleted, so this does not happen
        std::uint64_t sum = 0;
        for (const __u64 v : values) sum += v;
        const std::string interface = parts_->slots.empty()
                                          ? sys::interface_name(static_cast<int>(key.slot))
                                          : parts_->slots.at(key.slot);
        out.push_back(
            {.reason = drop_reason_name(key.reason),
             .interface = interface.empty() ? "ifindex " + std::to_string(key.slot) : interface,
             .count = sum});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.count != b.count ? a.count > b.count : a.reason < b.reason;
    });
    return out;
}

}  // namespace ringcap::detail
