#pragma once
// The BPF source: loads the programs (libbpf skeleton), attaches them — cgroup socket hooks on
// the cgroup v2 root, BTF tracepoints, the accept() syscall tracepoints when tracefs can be had
// — and reads their ring buffer.
#include <memory>
#include <string>
#include <vector>

#include "procmap/source.hpp"

namespace ringcap::detail {

class BpfSource final : public Source {
  public:
    // Throws ringcap::Error (no privilege, no cgroup v2, a program the kernel refuses). The
    // existing records (sockets open now) go to `existing`; what was decided, to `notes`.
    static std::unique_ptr<BpfSource> open(const ProcessMapOptions& options,
                                           AttributionState& state,
                                           std::vector<ConnEvent>& existing,
                                           std::vector<std::string>& notes);
    ~BpfSource() override;

    Attribution mode() const noexcept override { return Attribution::bpf; }
    int fd() const noexcept override;
    void read(std::chrono::milliseconds timeout, AttributionState& state,
              std::vector<ConnEvent>& out) override;
    void add_stats(ProcessMapStats& stats) const override;

    struct Parts;  // libbpf objects

  private:
    explicit BpfSource(std::unique_ptr<Parts> parts);
    static int on_record(void* self, void* data, std::size_t size);

    std::unique_ptr<Parts> parts_;
    AttributionState* state_ = nullptr;  // during read()
    std::vector<ConnEvent>* out_ = nullptr;
};

}  // namespace ringcap::detail
