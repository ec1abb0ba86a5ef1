#include "capture/fanout.hpp"

#include <linux/if_packet.h>

#include <string>

#include <ringcap/error.hpp>

#include "sys/socket.hpp"

namespace ringcap::detail {
namespace {

// clang-format off
constexpr const char* kModeNames[] = {"hash", "lb", "cpu", "rollover", "rnd", "qm", "cbpf", "ebpf"};
constexpr int kModeValues[] = {PACKET_FANOUT_HASH, PACKET_FANOUT_LB, PACKET_FANOUT_CPU,
                               PACKET_FANOUT_ROLLOVER, PACKET_FANOUT_RND, PACKET_FANOUT_QM,
                               PACKET_FANOUT_CBPF, PACKET_FANOUT_EBPF};
// clang-format on

void set_program(const sys::Fd& fd, const FanoutOptions& f, std::uint16_t id) {
    const std::string where = "group " + std::to_string(id);
    if (f.mode == FanoutMode::cbpf) {
        if (f.program.empty())
            throw Error(EINVAL, "fanout mode cbpf needs a program (FanoutOptions::program)");
        sock_fprog prog{.len = static_cast<unsigned short>(f.program.size()),
                        .filter = const_cast<sock_filter*>(f.program.data())};
        sys::setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, prog, "PACKET_FANOUT_DATA",
                        where + ", " + std::to_string(f.program.size()) + " instructions");
    } else if (f.mode == FanoutMode::ebpf) {
        if (f.program_fd < 0)
            throw Error(EINVAL, "fanout mode ebpf needs a program (FanoutOptions::program_fd)");
        sys::setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, f.program_fd, "PACKET_FANOUT_DATA",
                        where + ", eBPF program fd " + std::to_string(f.program_fd));
    }
}

}  // namespace

std::string fanout_name(FanoutMode mode, FanoutFlags flags) {
    std::string s = kModeNames[static_cast<int>(mode)];
    if (has(flags, FanoutFlags::defrag)) s += ",defrag";
    if (has(flags, FanoutFlags::rollover)) s += ",rollover";
    if (has(flags, FanoutFlags::ignore_outgoing)) s += ",ignore_outgoing";
    return s;
}

std::uint16_t join_fanout(const sys::Fd& fd, const FanoutOptions& f) {
    std::uint32_t type_flags =
        std::uint32_t(kModeValues[static_cast<int>(f.mode)]) | std::uint32_t(f.flags);
    // Without a group id the kernel picks a free one (the flag applies to this call only).
    if (!f.group) type_flags |= PACKET_FANOUT_FLAG_UNIQUEID;
    const std::uint32_t arg = f.group.value_or(0) | type_flags << 16;
    const std::string what = (f.group ? "group " + std::to_string(*f.group) : "a new group") +
                             ", " + fanout_name(f.mode, f.flags);
    if (const int err = sys::try_setsockopt(fd, SOL_PACKET, PACKET_FANOUT, arg); err != 0) {
        throw Error(err, "setsockopt(PACKET_FANOUT, " + what + ")",
                    err == EINVAL && f.group
                        ? "group " + std::to_string(*f.group) +
                              " exists already with another mode or flags, or on another "
                              "interface: choose another group id"
                        : "");
    }
    const auto joined =
        sys::getsockopt<std::uint32_t>(fd, SOL_PACKET, PACKET_FANOUT, "PACKET_FANOUT");
    const auto id = static_cast<std::uint16_t>(joined & 0xffff);
    set_program(fd, f, id);
    return id;
}

}  // namespace ringcap::detail
