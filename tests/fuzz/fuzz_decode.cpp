// libFuzzer target: the decoder on arbitrary packet bytes. The first input byte picks the link
// type and the printing options; the rest is the packet. Every line and JSON object must be
// produced without reading outside the bytes (ASan) or undefined behaviour (UBSan), end in one
// newline, and the JSON must be printable ASCII (every other byte escaped). flow_key() must agree
// with summarize(), which comes from the same walk over the headers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <cstring>
#include <ringcap/decode.hpp>
#include <ringcap/flow.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t pick = data[0];
    static constexpr ringcap::LinkType kLinks[] = {
        ringcap::LinkType::ethernet, ringcap::LinkType::linux_sll2, ringcap::LinkType::raw,
        ringcap::LinkType::linux_sll};
    // One decoder per options byte, kept: TCP sequence state and time deltas carry over.
    static ringcap::Decoder* decoders[256] = {};
    if (!decoders[pick]) {
        const ringcap::DecodeOptions options{
            .timestamps = static_cast<ringcap::TimestampFormat>((pick >> 2) % 6),
            .precision = (pick & 0x20) ? ringcap::TimestampPrecision::nano
                                       : ringcap::TimestampPrecision::micro,
            .link_header = (pick & 0x40) != 0,
            .verbosity = (pick & 0x80) ? 1 : 0,
            .quick = (pick & 0x10) != 0,
            .hex = static_cast<ringcap::HexDump>(pick % 3),
            .hex_link_header = (pick & 0x08) != 0,
            .absolute_tcp_seq = (pick & 0x02) != 0,
            .interface_name = [](int ifindex) -> std::string_view {
                return ifindex == 1 ? "eth\"0\\" : "";
            }};
        decoders[pick] = new ringcap::Decoder(kLinks[pick & 3], options);
    }
    const auto* bytes = reinterpret_cast<const std::byte*>(data + 1);
    const auto n = static_cast<std::uint32_t>(size - 1);
    const ringcap::PacketView p(bytes, n, n + (pick & 1) * 100, 1'700'000'000'000'000'000 + pick, 1,
                                pick % 8, 0, 0, 0, 0);
    fmt::memory_buffer out;
    decoders[pick]->append_text(p, out);
    if (out.size() == 0 || out[out.size() - 1] != '\n') std::abort();
    out.clear();
    decoders[pick]->append_json(p, out);
    if (out.size() < 3 || out[0] != '{' || out[out.size() - 1] != '\n') std::abort();
    for (std::size_t i = 0; i + 1 < out.size(); ++i)
        if (static_cast<unsigned char>(out[i]) < 0x20 || static_cast<unsigned char>(out[i]) > 0x7e)
            std::abort();
    if (const auto key = ringcap::flow_key(p.bytes(), kLinks[pick & 3])) {
        ringcap::PacketSummary s;
        ringcap::summarize(p.bytes(), kLinks[pick & 3], s);
        if (key->ip_version != s.ip_version || key->protocol != s.ip_proto ||
            std::memcmp(key->src_ip.data(), s.src_ip, 16) != 0 ||
            std::memcmp(key->dst_ip.data(), s.dst_ip, 16) != 0 ||
            (s.has_ports && (key->src_port != s.src_port || key->dst_port != s.dst_port)))
            std::abort();
    }
    return 0;
}
