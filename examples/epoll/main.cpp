// Capture driven by an epoll loop, as an application with its own event loop would do it:
// the capture's fd sits in the epoll set next to a timerfd; when it is readable, drain every
// ready batch without blocking (next_batch(0ms)), then go back to epoll_wait.
//   epoll_capture INTERFACE [SECONDS]
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <ringcap/ringcap.hpp>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s INTERFACE [SECONDS]\n", argv[0]);
        return 2;
    }
    const int seconds = argc > 2 ? std::stoi(argv[2]) : 5;
    try {
        auto cap = ringcap::Capture::open({.interface = argv[1]});
        const int ep = epoll_create1(EPOLL_CLOEXEC);
        const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        itimerspec its{};
        its.it_value.tv_sec = seconds;
        timerfd_settime(timer, 0, &its, nullptr);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = cap.fd();
        epoll_ctl(ep, EPOLL_CTL_ADD, cap.fd(), &ev);
        ev.data.fd = timer;
        epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev);

        std::uint64_t packets = 0, batches = 0, wakeups = 0;
        for (bool done = false; !done;) {
            epoll_event events[4];
            const int n = epoll_wait(ep, events, 4, -1);
            for (int i = 0; i < n; ++i) {
                if (events[i].data.fd == timer) {
                    done = true;
                    continue;
                }
                ++wakeups;
                while (auto batch = cap.next_batch(std::chrono::milliseconds(0))) {
                    ++batches;
                    packets += batch->size();
                }
            }
        }
        close(timer);
        close(ep);
        std::printf("%llu packets in %llu batches over %llu wakeups\n", (unsigned long long)packets,
                    (unsigned long long)batches, (unsigned long long)wakeups);
    } catch (const ringcap::Error& e) {
        std::fprintf(stderr, "%s%s%s\n", e.what(), e.hint().empty() ? "" : " - ", e.hint().c_str());
        return 1;
    }
}
