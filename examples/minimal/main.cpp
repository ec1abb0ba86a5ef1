// The smallest useful ringcap program: count packets and bytes on an interface for N seconds.
//   minimal_capture veth0 [seconds] [filter...]
#include <chrono>
#include <cstdio>
#include <string>

#include <ringcap/ringcap.hpp>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s INTERFACE [SECONDS] [FILTER...]\n", argv[0]);
        return 2;
    }
    std::string filter;
    for (int i = 3; i < argc; ++i) filter += std::string(i > 3 ? " " : "") + argv[i];
    const auto seconds = std::chrono::seconds(argc > 2 ? std::stoi(argv[2]) : 5);
    try {
        auto cap = ringcap::Capture::open({.interface = argv[1], .filter = filter});
        std::uint64_t packets = 0, bytes = 0;
        const auto end = std::chrono::steady_clock::now() + seconds;
        while (std::chrono::steady_clock::now() < end) {
            if (auto batch = cap.next_batch(std::chrono::milliseconds(100))) {
                for (const ringcap::PacketView& p : *batch) {
                    ++packets;
                    bytes += p.wire_len();
                }
            }  // the batch goes back to the kernel here
        }
        const auto st = cap.stats();
        std::printf("%llu packets, %llu bytes; kernel: %llu received, %llu dropped\n",
                    (unsigned long long)packets, (unsigned long long)bytes,
                    (unsigned long long)st.packets, (unsigned long long)st.drops);
    } catch (const ringcap::Error& e) {
        std::fprintf(stderr, "%s%s%s\n", e.what(), e.hint().empty() ? "" : " - ", e.hint().c_str());
        return 1;
    }
}
