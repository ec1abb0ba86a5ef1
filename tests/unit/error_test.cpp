// ringcap::Error: errno, message and hint survive throwing and catching as any base.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

#include <ringcap/error.hpp>

namespace ringcap {
namespace {

struct ErrorCase {
    const char* name;
    int errno_value;
    const char* what_failed;
    const char* hint;
};

class ErrorKeeps : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorKeeps, ErrnoWhatAndHint) {
    const ErrorCase& c = GetParam();
    try {
        throw Error(c.errno_value, c.what_failed, c.hint);
    } catch (const Error& e) {
        EXPECT_EQ(e.code().value(), c.errno_value);
        EXPECT_EQ(e.code().category(), std::generic_category());
        EXPECT_EQ(e.code(), std::errc(c.errno_value));
        const std::string what = e.what();
        EXPECT_EQ(what.rfind(c.what_failed, 0), 0u) << what;  // starts with what failed
        EXPECT_NE(what.find(std::strerror(c.errno_value)), std::string::npos) << what;
        EXPECT_EQ(e.hint(), c.hint);
    }
}

// clang-format off
const ErrorCase kErrors[] = {
    {"einval_with_hint", EINVAL, "ring geometry: block size 5000", "use a multiple of 4096"},
    {"enospc_with_hint", ENOSPC, "write to 'out.pcap'", "disk full; the file is valid"},
    {"eperm_no_hint", EPERM, "socket(AF_PACKET)", ""},
    {"enodev", ENODEV, "interface 'nope0'", "list_interfaces() lists them"},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Error, ErrorKeeps, ::testing::ValuesIn(kErrors),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Error, RemedyIsKeptAndDefaultsToNone) {
    EXPECT_EQ(Error(EIO, "read").remedy(), Remedy::none);
    const Error e(ENOMEM, "setsockopt(PACKET_RX_RING)", "ask for a smaller ring",
                  Remedy::smaller_ring);
    EXPECT_EQ(e.remedy(), Remedy::smaller_ring);
    EXPECT_EQ(Error(e).remedy(), Remedy::smaller_ring);
}

TEST(Error, HintDefaultsToEmpty) {
    const Error e(EIO, "read");
    EXPECT_TRUE(e.hint().empty());
    EXPECT_EQ(e.code().value(), EIO);
}

TEST(Error, CaughtAsSystemErrorAndException) {
    try {
        throw Error(EACCES, "open '/root/x'", "run as root");
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EACCES);
        EXPECT_NE(std::string(e.what()).find("/root/x"), std::string::npos);
    }
    try {
        throw Error(EACCES, "open '/root/x'", "run as root");
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("open '/root/x'"), std::string::npos);
    }
}

TEST(Error, CopyKeepsEverything) {
    const Error a(EBUSY, "bind", "another capture holds it");
    const Error b = a;  // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_EQ(b.code().value(), EBUSY);
    EXPECT_STREQ(b.what(), a.what());
    EXPECT_EQ(b.hint(), "another capture holds it");
}

}  // namespace
}  // namespace ringcap
