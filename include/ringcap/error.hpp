#pragma once
// ringcap::Error: what failed (syscall/option and value), the errno, and a hint when the fix is
// known. Setup code throws it; the hot path returns values instead.
//
// Hints speak of the library's own terms (options, functions), never of a front end's flags. The
// remedy names the fix as a value, so a front end can say it in its own words (ringcap's CLI
// turns Remedy::smaller_ring into "lower the buffer size (-B)").
#include <string>
#include <system_error>

namespace ringcap {

enum class Remedy {
    none,
    name_interface,   // no interface was named
    list_interfaces,  // no interface of that name: list_interfaces() shows them
    capture_cooked,   // not Ethernet-framed: capture it on "any"
    smaller_ring,     // the kernel could not give the ring's memory
    tpacket_v2,       // the kernel refused TPACKET_V3
};

class Error : public std::system_error {
  public:
    Error(int errno_value, const std::string& what_failed, std::string hint = {},
          Remedy remedy = Remedy::none)
        : std::system_error(errno_value, std::generic_category(), what_failed),
          hint_(std::move(hint)),
          remedy_(remedy) {}

    // What the user can do about it; empty when nothing better than the message is known.
    const std::string& hint() const noexcept { return hint_; }
    Remedy remedy() const noexcept { return remedy_; }

  private:
    std::string hint_;
    Remedy remedy_;
};

}  // namespace ringcap
