#include "sys/thread.hpp"

#include <pthread.h>
#include <sched.h>

#include <string>

#include <ringcap/error.hpp>

namespace ringcap::sys {

std::size_t usable_cpus() noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    const int n = CPU_COUNT(&set);
    return n > 0 ? static_cast<std::size_t>(n) : 1;
}

void pin_this_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) throw Error(EINVAL, "CPU " + std::to_string(cpu));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    const int err = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
    if (err != 0)
        throw Error(err, "pthread_setaffinity_np(CPU " + std::to_string(cpu) + ")",
                    "name a CPU this process may run on (taskset -p PID shows them)");
}

}  // namespace ringcap::sys
