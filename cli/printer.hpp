#pragma once
// Printed packets: a thin layer over ringcap::Decoder (tcpdump-style lines, or JSON lines with
// --json). Lines collect in one buffer, written with one write(2) per batch. Packets with their
// owning process (--process) get a "pid/comm" column after the timestamp ("?" when no owner is
// known), or the ECS process fields in JSON; without --process the lines are tcpdump's.
#include <fmt/format.h>

#include <mutex>
#include <ringcap/decode.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/packet_owner.hpp>
#include <ringcap/sink.hpp>
#include <ringcap/types.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "command_line.hpp"

namespace ringcap::cli {

class LinePrinter final : public Sink {
  public:
    // `shared`: the lock of an fd that other printers (the workers of a group capture) write
    // too; each flush writes whole lines under it, so lines never interleave mid-way.
    LinePrinter(int fd, LinkType link, const CliOptions& o, std::mutex* shared = nullptr);
    LinePrinter(const LinePrinter&) = delete;  // the decoder's name lookup points here
    LinePrinter& operator=(const LinePrinter&) = delete;

    // Sink: each packet decoded for its interface's link type (a pcapng file may mix them).
    void write(std::span<const PacketView> packets) override;
    // Sink: the same, each line with its packet's owner.
    void write_owned(std::span<const PacketView> packets,
                     std::span<const PacketOwner* const> owners) override;
    bool add_interface(const FileInterface& interface) override;
    void end_batch() override { flush(); }
    void close() override { flush(); }

    void print(const PacketView& p) { print_with(decoder_, p); }
    // A packet of another link type: a decoder of its own.
    void print(const PacketView& p, LinkType link) {
        print_with(link == decoder_.link() ? decoder_ : decoder_for(link), p);
    }
    void flush();  // one write(2) of everything buffered

  private:
    std::string_view interface_name(int ifindex);
    void print_with(Decoder& d, const PacketView& p) {
        if (json_) return d.append_json(p, out_);
        if (number_) put_number();
        d.append_text(p, out_);
    }
    void put_number();  // -#: "%5u  " before the line, as tcpdump
    Decoder& decoder_for(LinkType link);
    // The owner into the line (or object) printed from `start` on.
    void add_owner(std::size_t start, const PacketOwner* owner, TimestampFormat stamps);

    int fd_;
    std::mutex* shared_;
    bool json_;
    bool number_;                 // -#
    std::uint64_t numbered_ = 0;  // packets printed, for -#
    Decoder decoder_;
    std::vector<Decoder> others_;  // for the other link types met, same options
    std::vector<LinkType> links_;  // by the source's interface, once it declared more than one
    fmt::memory_buffer out_;
    std::vector<std::string> names_;  // by ifindex, filled on first sight ("" = unknown)
    std::vector<bool> looked_up_;
};

}  // namespace ringcap::cli
