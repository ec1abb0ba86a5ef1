#pragma once
// Threads and CPUs.
#include <cstddef>

namespace ringcap::sys {

// CPUs this process may run on (sched_getaffinity), at least 1.
std::size_t usable_cpus() noexcept;

// Runs the calling thread on `cpu` only. Throws ringcap::Error (EINVAL: no such CPU, or one this
// process may not use).
void pin_this_thread(int cpu);

}  // namespace ringcap::sys
