// Community ID v1 (https://github.com/corelight/community-id-spec): a flow's name that every
// tool computes alike. SHA-1 (nettle) over
//   seed (2 bytes) . lower address . higher address . protocol (1) . 0 (1) . ports (2 + 2)
// with everything in network byte order and the endpoints ordered so that the smaller
// (address, port) comes first; base64 of the digest, "1:" in front.
#include <nettle/base64.h>
#include <nettle/sha1.h>

#include <cstring>

#include <ringcap/conn.hpp>

namespace ringcap {

namespace {

bool has_ports(std::uint8_t protocol) {
    switch (protocol) {
        case 1:    // ICMP: type and code, mapped by the spec
        case 6:    // TCP
        case 17:   // UDP
        case 58:   // ICMPv6
        case 132:  // SCTP
            return true;
    }
    return false;
}

}  // namespace

std::string community_id(const FlowKey& flow, std::uint16_t seed) {
    const std::size_t alen = flow.ip_version == 6 ? 16 : 4;
    bool swap = false;
    (void)flow.canonical(&swap);  // the smaller (address, port) first, as the spec orders them
    const auto& a = swap ? flow.dst_ip : flow.src_ip;
    const auto& b = swap ? flow.src_ip : flow.dst_ip;
    const std::uint16_t pa = swap ? flow.dst_port : flow.src_port;
    const std::uint16_t pb = swap ? flow.src_port : flow.dst_port;

    std::uint8_t buf[2 + 16 + 16 + 2 + 4];
    std::size_t n = 0;
    buf[n++] = static_cast<std::uint8_t>(seed >> 8);
    buf[n++] = static_cast<std::uint8_t>(seed);
    std::memcpy(buf + n, a.data(), alen);
    n += alen;
    std::memcpy(buf + n, b.data(), alen);
    n += alen;
    buf[n++] = flow.protocol;
    buf[n++] = 0;
    if (has_ports(flow.protocol)) {
        buf[n++] = static_cast<std::uint8_t>(pa >> 8);
        buf[n++] = static_cast<std::uint8_t>(pa);
        buf[n++] = static_cast<std::uint8_t>(pb >> 8);
        buf[n++] = static_cast<std::uint8_t>(pb);
    }
    sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, n, buf);
    std::uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_digest(&ctx, sizeof digest, digest);

    char b64[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)];
    base64_encode_raw(b64, sizeof digest, digest);
    return "1:" + std::string(b64, sizeof b64);
}

}  // namespace ringcap
