#pragma once
// The stack stage of the loss ledger: a BPF program on tp_btf/kfree_skb counting the kernel's
// drop reasons per (reason, interface) in a per-CPU map (bpf/drops.bpf.c), and the reasons'
// names from the running kernel's BTF (enum skb_drop_reason in /sys/kernel/btf/vmlinux), so
// they match whatever kernel this runs on.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ringcap/stats.hpp>

namespace ringcap::detail {

class StackDropCounter {
  public:
    // Loads and attaches the program for `interfaces` ("any": every interface) of the caller's
    // network namespace. Throws ringcap::Error (EPERM without CAP_BPF and CAP_PERFMON, ENOENT
    // on a kernel without the tracepoint or BTF), the hint saying which.
    static std::unique_ptr<StackDropCounter> open(const std::vector<std::string>& interfaces);
    ~StackDropCounter();

    // Counts since open(), summed over CPUs, largest first.
    std::vector<StackCounters::Drop> read() const;

  private:
    struct Parts;
    explicit StackDropCounter(std::unique_ptr<Parts> parts);
    std::unique_ptr<Parts> parts_;
};

// "NO_SOCKET" for SKB_DROP_REASON_NO_SOCKET's value, from the running kernel's BTF; for a value
// it does not name (a subsystem's reason, in the upper 16 bits), "subsystem S reason R".
std::string drop_reason_name(std::uint32_t reason);

}  // namespace ringcap::detail
