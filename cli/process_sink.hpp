#pragma once
// Captures with processes (--process, --pid, --comm): the ProcessMap started before the capture
// socket opens, and a sink in front of the output that gives each packet its owner and filters
// by process. Per batch: the map's new records are taken in, then each packet's flow is looked up
// in a per-thread cache (ringcap::ProcessAnnotator); the output gets the packets with their owners
// through Sink::write_owned (pcapng comments, a printed column, JSON fields).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include <ringcap/annotate.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/types.hpp>

#include "command_line.hpp"

namespace ringcap::cli {

class CaptureAttribution {
  public:
    // With --process, --pid or --comm: opens the ProcessMap now, before any capture socket, so
    // that every connection made once "listening on" is printed is known, and says its notes.
    // nullptr without them. `user` is the stop the command line's signals request.
    static std::unique_ptr<CaptureAttribution> start(const CliOptions& o, StopToken user);

    // The capture's socket: its network namespace is where its packets' sockets live.
    void set_capture_socket(int fd);
    // `out` behind a sink that annotates and filters (one per thread that writes).
    std::unique_ptr<Sink> wrap(std::unique_ptr<Sink> out, LinkType link);

    // -c with --pid/--comm counts the packets shown, which the sinks know: the capture loop then
    // runs without a limit of its own (loop_limit) until stop_token() says, which the sinks
    // request at the count (and when `user` asks; they look at every batch and tick).
    std::uint64_t loop_limit(std::uint64_t count) const noexcept;
    StopToken stop_token(StopToken user) const noexcept;

    // The end: what attribution found, one line on standard error.
    void report() const;

    struct Shared;
    explicit CaptureAttribution(std::unique_ptr<Shared> shared);
    ~CaptureAttribution();

  private:
    std::unique_ptr<Shared> shared_;
};

}  // namespace ringcap::cli
