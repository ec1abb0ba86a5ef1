#pragma once
// Scratch files and packet data for the file-format unit tests.
#include <stdlib.h>
#include <sys/resource.h>

#include <csignal>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <ringcap/error.hpp>
#include <ringcap/file_writer.hpp>
#include <ringcap/packet.hpp>

namespace ringcap::test {

using Bytes = std::vector<std::uint8_t>;

class TempDir {
  public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "ringcap-unit-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

inline Bytes read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// A host-order integer at byte `off` of a file's bytes.
template <class T>
T load_at(const Bytes& b, std::size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}
inline std::uint16_t u16_at(const Bytes& b, std::size_t off) {
    return load_at<std::uint16_t>(b, off);
}
inline std::uint32_t u32_at(const Bytes& b, std::size_t off) {
    return load_at<std::uint32_t>(b, off);
}
inline std::uint64_t u64_at(const Bytes& b, std::size_t off) {
    return load_at<std::uint64_t>(b, off);
}

// Deterministic payload: byte i of packet `seed` is (seed * 31 + i) & 0xff.
inline Bytes payload(std::size_t n, unsigned seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed * 31 + i);
    return b;
}

inline PacketView view(const Bytes& data, std::int64_t ts_ns, std::uint32_t wire_len = 0) {
    return PacketView(reinterpret_cast<const std::byte*>(data.data()),
                      static_cast<std::uint32_t>(data.size()),
                      wire_len ? wire_len : static_cast<std::uint32_t>(data.size()), ts_ns,
                      /*ifindex=*/2, /*pkttype=*/0, /*status=*/0, 0, 0, 0);
}

// w.flush() while the process may not write files past `limit` bytes (RLIMIT_FSIZE), as a full
// disk would stop it: write() stops part-way, then fails with EFBIG. Returns the errno thrown
// (0: none).
inline int flush_with_file_size_limit(FileWriter& w, rlim_t limit) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit old{};
    if (::getrlimit(RLIMIT_FSIZE, &old) != 0) throw std::runtime_error("getrlimit");
    const rlimit small{limit, old.rlim_max};
    if (::setrlimit(RLIMIT_FSIZE, &small) != 0) throw std::runtime_error("setrlimit");
    int err = 0;
    try {
        w.flush();
    } catch (const Error& e) {
        err = e.code().value();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    return err;
}

}  // namespace ringcap::test
