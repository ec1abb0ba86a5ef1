#pragma once
// Base fixture of the live tests: a fresh veth pair between two namespaces per test, captures
// opened inside the capture namespace, frames sent from either end. Parameterized by ring version.
#include <gtest/gtest.h>

#include <time.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <ringcap/ringcap.hpp>

#include "netns.hpp"

namespace ringcap {
// Test names and messages say "v3"/"v2" instead of the enum's bytes.
inline void PrintTo(TpacketVersion v, std::ostream* os) {
    *os << (v == TpacketVersion::v3 ? "TPACKET_V3" : "TPACKET_V2");
}
}  // namespace ringcap

namespace ringcap::test {

class LiveTest : public ::testing::TestWithParam<TpacketVersion> {
  protected:
    void SetUp() override {
        if (auto why = live_tests_unavailable()) GTEST_SKIP() << *why;
        pair_ = std::make_unique<VethPair>();
    }
    void TearDown() override { pair_.reset(); }

    TpacketVersion version() const { return GetParam(); }

    // The capture-side interface, this test's ring version, everything else default.
    CaptureOptions options(std::string filter = {}) const {
        return {.interface = pair_->cap_if(), .version = version(), .filter = std::move(filter)};
    }

    // Capture::open binds to the namespace of the calling thread: open it inside cap_ns.
    Capture open(const CaptureOptions& o) const {
        NetnsGuard in(pair_->cap_ns());
        return Capture::open(o);
    }

    // Frames from the far end arrive on cap_if (incoming); frames from cap_if leave it (outgoing).
    RawSender from_peer() const { return RawSender(pair_->peer_ns(), pair_->peer_if()); }
    RawSender from_cap() const { return RawSender(pair_->cap_ns(), pair_->cap_if()); }

    std::unique_ptr<VethPair> pair_;
};

// Every frame arrived, in order, byte for byte; names the first difference otherwise.
inline ::testing::AssertionResult same_frames(const std::vector<Captured>& got,
                                              const std::vector<Bytes>& sent) {
    for (std::size_t i = 0; i < got.size() && i < sent.size(); ++i)
        if (got[i].bytes != sent[i])
            return ::testing::AssertionFailure()
                   << "frame " << i << " differs:\n  got  (" << got[i].bytes.size() << ") "
                   << hex(got[i].bytes) << "\n  sent (" << sent[i].size() << ") " << hex(sent[i]);
    if (got.size() != sent.size())
        return ::testing::AssertionFailure()
               << "got " << got.size() << " frames, sent " << sent.size();
    return ::testing::AssertionSuccess();
}

inline std::int64_t realtime_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline std::string version_name(const ::testing::TestParamInfo<TpacketVersion>& info) {
    return info.param == TpacketVersion::v3 ? "v3" : "v2";
}

#define RINGCAP_LIVE_SUITE(suite)                                                       \
    INSTANTIATE_TEST_SUITE_P(Ring, suite,                                               \
                             ::testing::Values(TpacketVersion::v3, TpacketVersion::v2), \
                             ::ringcap::test::version_name)

}  // namespace ringcap::test
