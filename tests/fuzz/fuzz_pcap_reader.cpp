// libFuzzer target: PcapReader (pcap and pcapng) on arbitrary bytes, mapped and streamed, and
// copy_records() of them into a sink (views in chunks, interfaces declared as met). Every input
// must end in packets, a clean end or one ringcap::Error; never a crash, a hang or an allocation
// beyond the reader's limits (ASan/UBSan watch).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include <ringcap/copy.hpp>
#include <ringcap/error.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/sink.hpp>

namespace {

void read_all(const std::string& path, ringcap::ReadMode mode) {
    try {
        ringcap::PcapReader r = ringcap::PcapReader::open(path, mode);
        std::uint64_t sum = r.interfaces().size();
        while (auto p = r.next()) {
            // Touch every byte handed out: out-of-bounds views show up here.
            for (std::byte b : p->bytes()) sum += std::to_integer<unsigned>(b);
            sum += static_cast<std::uint64_t>(p->ifindex()) + p->wire_len();
            if (static_cast<std::size_t>(p->ifindex()) >= r.interfaces().size()) __builtin_trap();
        }
        (void)r.next();  // after the end: still nullopt, no crash
        if (sum == 0x5eed) std::puts("");
    } catch (const ringcap::Error&) {
        // Damage is reported, not crashed on.
    }
}

// The same bytes through RecordCopy: every view handed to the sink is whole, on an interface
// the sink was told of.
void copy_all(const std::string& path, ringcap::ReadMode mode) {
    try {
        ringcap::PcapReader r = ringcap::PcapReader::open(path, mode);
        std::size_t declared = 1;
        std::uint64_t sum = 0;
        struct Touching final : ringcap::Sink {
            std::size_t& declared;
            std::uint64_t& sum;
            Touching(std::size_t& d, std::uint64_t& s) : declared(d), sum(s) {}
            void write(std::span<const ringcap::PacketView> views) override {
                for (const ringcap::PacketView& p : views) {
                    for (std::byte b : p.bytes()) sum += std::to_integer<unsigned>(b);
                    if (declared > 1 && static_cast<std::size_t>(p.ifindex()) >= declared)
                        __builtin_trap();
                }
            }
            bool add_interface(const ringcap::FileInterface&) override {
                ++declared;
                return true;
            }
        } sink(declared, sum);
        const ringcap::CopyResult result = ringcap::copy_records(r, sink, {});
        if (result.matched > result.read) __builtin_trap();
        if (sum == 0x5eed) std::puts("");
    } catch (const ringcap::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = ::memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (::write(fd, data, size) == static_cast<ssize_t>(size)) {
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        read_all(path, ringcap::ReadMode::map);
        read_all(path, ringcap::ReadMode::stream);
        copy_all(path, ringcap::ReadMode::map);
        copy_all(path, ringcap::ReadMode::stream);
    }
    ::close(fd);
    return 0;
}
