#include "privileges.hpp"

#include <ringcap/error.hpp>

namespace ringcap::cli {
namespace {

bool writes_file(const CliOptions& o) { return !o.write_path.empty() && o.write_path != "-"; }
bool rotates(const CliOptions& o) { return o.rotate_bytes != 0 || o.rotate_seconds != 0; }

std::string default_user() {
    for (const char* name : {"ringcap", "tcpdump"})
        if (sys::find_account(name)) return name;
    return "nobody";
}

}  // namespace

std::optional<sys::Account> account_to_become(const CliOptions& o) {
    if (!sys::running_as_root()) return std::nullopt;
    // Process attribution reads other users' /proc/PID (and, without BPF, keeps scanning it):
    // it keeps root (privileges.hpp).
    if (o.process.wanted()) return std::nullopt;
    const std::string name = o.user.value_or(default_user());
    if (name == "root") return std::nullopt;
    std::optional<sys::Account> account = sys::find_account(name);
    if (!account)
        throw Error(EINVAL, "-Z: couldn't find user '" + name + "'",
                    "give an existing user, or -Z root to keep root");
    if (account->uid == 0) return std::nullopt;  // another name for root
    return account;
}

void relinquish_privileges(const std::optional<sys::Account>& account, const CliOptions& o) {
    if (!account) return;
    const std::uint64_t keep = writes_file(o) ? sys::capability_bit(sys::kCapDacOverride) : 0;
    sys::become(*account, keep);
}

void output_opened(const std::optional<sys::Account>& account, const CliOptions& o) {
    if (account && writes_file(o) && !rotates(o)) sys::drop_capability(sys::kCapDacOverride);
}

}  // namespace ringcap::cli
