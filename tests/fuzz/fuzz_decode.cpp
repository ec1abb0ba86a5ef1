// libFuzzer target: the decoder on arbitrary packet bytes. The first input byte picks the link
// type and the printing options; the rest is the packet. Every line must be produced without
// reading outside the bytes (ASan) or undefined behaviour (UBSan).
#include <cstddef>
#include <cstdint>

#include <ringcap/decode.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t pick = data[0];
    static constexpr ringcap::LinkType kLinks[] = {ringcap::LinkType::ethernet,
                                                   ringcap::LinkType::linux_sll2,
                                                   static_cast<ringcap::LinkType>(101),
                                                   static_cast<ringcap::LinkType>(147)};
    const ringcap::DecodeOptions options{
        .timestamps = static_cast<ringcap::TimestampFormat>((pick >> 2) % 6),
        .nanoseconds = (pick & 0x20) != 0,
        .link_header = (pick & 0x40) != 0,
        .verbose = (pick & 0x80) ? 1 : 0,
        .quick = (pick & 0x10) != 0,
        .hex = static_cast<ringcap::HexDump>(pick % 5),
    };
    static ringcap::Decoder* decoders[256] = {};  // one per options byte: keeps TCP state
    if (!decoders[pick]) decoders[pick] = new ringcap::Decoder(options);
    const auto* bytes = reinterpret_cast<const std::byte*>(data + 1);
    const auto n = static_cast<std::uint32_t>(size - 1);
    const ringcap::PacketView p(bytes, n, n + (pick & 1) * 100, 1'700'000'000'000'000'000 + pick,
                                1, pick % 8, 0, 0, 0, 0);
    fmt::memory_buffer out;
    decoders[pick]->summarize(p, kLinks[pick & 3], "eth0", out);
    decoders[pick]->json(p, kLinks[pick & 3], "eth\"0\\", out);
    return 0;
}
