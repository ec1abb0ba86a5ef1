#pragma once
// ringcap::Error: what failed (syscall/option and value), the errno, and a hint when the fix is
// known. Setup code throws it; the hot path returns values instead.
#include <string>
#include <system_error>

namespace ringcap {

class Error : public std::system_error {
  public:
    Error(int errno_value, const std::string& what_failed, std::string hint = {})
        : std::system_error(errno_value, std::generic_category(), what_failed),
          hint_(std::move(hint)) {}

    // What the user can do about it; empty when nothing better than the message is known.
    const std::string& hint() const noexcept { return hint_; }

  private:
    std::string hint_;
};

}  // namespace ringcap
