#include <ringcap/pcapng_writer.hpp>

#include <ringcap/error.hpp>

#include "file/output_file.hpp"
#include "file/pcapng_blocks.hpp"
#include "sys/clock.hpp"

namespace ringcap {

using detail::OutputFile;

PcapngWriter PcapngWriter::create(const std::string& path, const FileWriterOptions& options) {
    return PcapngWriter(OutputFile::create(path, OutputFile::Framing::pcapng_blocks, options),
                        options);
}

PcapngWriter PcapngWriter::on_fd(int fd, const FileWriterOptions& options) {
    return PcapngWriter(OutputFile::on_fd(fd, OutputFile::Framing::pcapng_blocks, options),
                        options);
}

PcapngWriter::PcapngWriter(std::unique_ptr<detail::RecordBuffer> file,
                           const FileWriterOptions& options)
    : FileWriter(std::move(file)) {
    detail::output_file(*buf_).start_header(pcapng::section_header());
    put_interface(options.link_type, options.snaplen, options.interface_name,
                  options.interface_description);
}

void PcapngWriter::put_interface(LinkType link, std::uint32_t snaplen, const std::string& name,
                                 const std::string& description) {
    // Declared before any packet was buffered: part of the file header, which a failed first
    // write keeps for the next attempt (packets on this interface need it).
    detail::output_file(*buf_).append(
        pcapng::interface_description(link, snaplen, name, description), /*joins_header=*/true);
    ++interfaces_;
}

std::uint32_t PcapngWriter::add_interface(LinkType link, std::uint32_t snaplen,
                                          const std::string& name, const std::string& description) {
    put_interface(link, snaplen, name, description);
    return interfaces_ - 1;
}

bool PcapngWriter::add_interface(const FileInterface& interface) {
    add_interface(static_cast<LinkType>(interface.link_type), interface.snaplen, interface.name,
                  interface.description);
    by_ifindex_ = true;
    return true;
}

void PcapngWriter::write(const PacketView& packet, std::uint32_t interface,
                         std::string_view comment) {
    put(packet, interface, comment, 0, 0);
}

void PcapngWriter::write_owned(const PacketView& packet, std::uint32_t interface,
                               const PacketOwner* owner) {
    if (owner == nullptr)
        put(packet, interface, kUnknownOwnerComment, 0, 0);
    else
        put(packet, interface, owner->comment, owner->pid, owner->tid);
}

void PcapngWriter::put(const PacketView& packet, std::uint32_t interface, std::string_view comment,
                       std::uint32_t pid, std::uint32_t tid) {
    if (interface >= interfaces_)
        throw Error(EINVAL, "interface " + std::to_string(interface) + " was not declared");
    const pcapng::EpbOptions options{
        .comment = comment.substr(0, kMaxComment), .pid = pid, .tid = tid};
    const std::size_t size = pcapng::enhanced_packet_size(packet, options);
    pcapng::put_enhanced_packet(room(size), packet, interface, options, size);
    commit(size);
}

void PcapngWriter::write_with_drops(const PacketView& packet, std::uint64_t drops) {
    const auto interface = by_ifindex_ ? static_cast<std::uint32_t>(packet.ifindex()) : 0u;
    if (interface >= interfaces_)
        throw Error(EINVAL, "interface " + std::to_string(interface) + " was not declared");
    const pcapng::EpbOptions options{.drops = drops};
    const std::size_t size = pcapng::enhanced_packet_size(packet, options);
    pcapng::put_enhanced_packet(room(size), packet, interface, options, size);
    commit(size);
}

void PcapngWriter::write(std::span<const PacketView> packets) {
    if (by_ifindex_) {
        for (const PacketView& p : packets) write(p, static_cast<std::uint32_t>(p.ifindex()));
    } else {
        for (const PacketView& p : packets) write(p, 0);
    }
}

void PcapngWriter::write_owned(std::span<const PacketView> packets,
                               std::span<const PacketOwner* const> owners) {
    for (std::size_t i = 0; i < packets.size(); ++i)
        write_owned(packets[i], by_ifindex_ ? static_cast<std::uint32_t>(packets[i].ifindex()) : 0,
                    owners[i]);
}

void PcapngWriter::write_statistics(std::uint32_t interface, std::uint64_t received,
                                    std::uint64_t dropped) {
    write_statistics(interface, Statistics{.received = received, .dropped = dropped});
}

void PcapngWriter::write_statistics(std::uint32_t interface, const Statistics& statistics) {
    const auto now = static_cast<std::uint64_t>(sys::realtime_ns());
    detail::output_file(*buf_).append(pcapng::interface_statistics(interface, now, statistics),
                                      /*joins_header=*/false);
}

}  // namespace ringcap
