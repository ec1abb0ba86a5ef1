// ringcap: the command line. The only code in the project that prints.
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <ringcap/ringcap.hpp>

#include "command_line.hpp"
#include "conn_cmd.hpp"
#include "printer.hpp"
#include "transmit_cmd.hpp"

namespace {

using namespace ringcap;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll() returns EINTR and the loop sees the flag
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a closed pipe becomes EPIPE from write(), handled there
}

void say(const std::string& line) { fmt::print(stderr, "{}\n", line); }

// The library names its remedies; the command line says them with its own flags.
std::string hint_for(const Error& e) {
    switch (e.remedy()) {
        case Remedy::none:
            break;
        case Remedy::name_interface:
            return "name one with -i; ringcap -D lists them";
        case Remedy::list_interfaces:
            return "ringcap -D lists the interfaces";
        case Remedy::capture_cooked:
            return "capture it cooked with -i any";
        case Remedy::smaller_ring:
            return "lower the buffer size (-B)";
        case Remedy::tpacket_v2:
            return "try --tpacket=2";
    }
    return e.hint();
}

void report(const Error& e) {
    // EINVAL is how ringcap says "bad input"; its text, "Invalid argument", adds nothing.
    std::string what = e.what();
    const std::string tail = ": " + e.code().message();
    if (e.code().value() == EINVAL && what.ends_with(tail)) what.resize(what.size() - tail.size());
    const std::string hint = hint_for(e);
    say(hint.empty() ? fmt::format("ringcap: {}", what)
                     : fmt::format("ringcap: {} ({})", what, hint));
}

std::string describe_ring(const CaptureInfo& info) {
    const RingLayout& l = info.layout;
    std::string s =
        l.version == TpacketVersion::v3
            ? fmt::format(
                  "TPACKET_V3 ring {} KiB ({} blocks of {} KiB, {} ms block "
                  "timeout)",
                  l.total_bytes() >> 10, l.block_count, l.block_size >> 10, l.block_timeout.count())
            : fmt::format("TPACKET_V2 ring {} KiB ({} frames of {} bytes)", l.total_bytes() >> 10,
                          l.frame_count, l.frame_size);
    if (!info.memory_locked) s += ", not locked in memory";
    return s;
}

int list_interfaces_cmd() {
    for (const InterfaceEntry& e : list_interfaces()) {
        std::string state = e.up ? "Up" : "Down";
        if (e.running) state += ", Running";
        if (e.loopback) state += ", Loopback";
        fmt::print("{}.{} [{}]\n", e.index, e.name, state);
    }
    fmt::print("{}.any (all interfaces, cooked) [Up, Running]\n", 0);
    return 0;
}

// tcpdump's choice when -i is missing: the first interface that is up, running and not loopback.
std::string default_interface() {
    for (const InterfaceEntry& e : list_interfaces())
        if (e.up && e.running && !e.loopback) return e.name;
    throw Error(ENODEV, "no interface is up", "name one with -i; ringcap -D lists them");
}

int dump_filter_cmd(const cli::CliOptions& o) {
    const CaptureOptions& c = o.capture;
    const Filter f =
        c.interface == "any"
            ? Filter::compile(c.filter, LinkType::linux_sll2, c.snaplen)
            : Filter::compile_live(c.filter, c.interface, LinkType::ethernet, c.snaplen);
    fmt::print("{}", f.dump());
    return 0;
}

// -z: `sh -c 'CMD "$1"' sh FILE`, not waited for (SIGCHLD is ignored, so the kernel reaps
// it). Through the shell, "gzip -9" works as well as tcpdump's single program name.
void run_post_rotate(const std::string& command, const std::string& file) {
    const std::string script = command + " \"$1\"";
    const char* argv[] = {"sh", "-c", script.c_str(), "sh", file.c_str(), nullptr};
    pid_t pid;
    const int err =
        posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ);
    if (err != 0)
        say(fmt::format("ringcap: -z: cannot run '{}' on {}: {}", command, file,
                        std::strerror(err)));
}

// Where packets go: a pcap file (-w, rotating with -C/-G/-W), printed lines, or nowhere
// (--count). The same for live capture and -r, so both honour -w, -U, -l and --count alike.
// What the files written describe: interface 0 of a pcapng file, and its statistics at close.
struct OutputSource {
    LinkType link = LinkType::ethernet;
    std::uint32_t snaplen = kDefaultSnaplen;
    std::string interface_name;
    std::string interface_description;
    std::function<void(PcapWriter&)> before_close;  // e.g. the ISB with the kernel's counts
};

class Output {
  public:
    Output(const cli::CliOptions& o, OutputSource source) : packet_buffered_(o.packet_buffered) {
        const LinkType link = source.link;
        if (!o.write_path.empty()) {
            RotationOptions rotation{.max_bytes = o.rotate_bytes,
                                     .period = std::chrono::seconds(o.rotate_seconds),
                                     .ring_files = o.ring_files,
                                     .before_close = std::move(source.before_close)};
            if (!o.post_rotate_command.empty()) {
                signal(SIGCHLD, SIG_IGN);
                rotation.on_finished = [cmd = o.post_rotate_command](const std::string& file) {
                    run_post_rotate(cmd, file);
                };
            }
            const bool ng = o.pcapng || format_for_name(o.write_path) == FileFormat::pcapng;
            writer_.emplace(
                o.write_path,
                PcapWriterOptions{.link_type = link,
                                  .snaplen = source.snaplen,
                                  .precision = o.precision,
                                  .format = ng ? FileFormat::pcapng : FileFormat::pcap,
                                  .interface_name = source.interface_name,
                                  .interface_description = source.interface_description},
                std::move(rotation));
        } else if (!o.count_only) {
            printer_.emplace(STDOUT_FILENO, link, o);
        }
    }

    // The first file, at once: errors (permissions, a bad directory) before anything else, and
    // a run without packets still leaves a valid file, as tcpdump does.
    void open_first_file() {
        if (writer_) writer_->open_now(std::chrono::system_clock::now());
    }
    void take(const PacketView& p) {
        if (writer_)
            writer_->write(p);
        else if (printer_)
            printer_->print(p);
    }
    // A packet of a file read with -r: pcapng output keeps the file's interfaces (declared with
    // add_interface() as the reader meets them), printing decodes each packet for its own
    // interface's link type (a pcapng file may mix them).
    void take(const PacketView& p, std::uint32_t interface, LinkType link) {
        if (writer_ && interface != 0)
            writer_->write(p, interface);
        else if (printer_)
            printer_->print(p, link);
        else
            take(p);
    }
    bool writes_pcapng() const noexcept {
        return writer_ && writer_->format() == FileFormat::pcapng;
    }
    void add_interface(const FileInterface& f) {
        writer_->add_interface(static_cast<LinkType>(f.link_type), f.snaplen, f.name,
                               f.description);
    }
    // After each batch: lines go out, and the file too with -U.
    void end_batch() {
        if (writer_ && packet_buffered_) writer_->flush();
        if (printer_) printer_->flush();
    }
    // The pcap file when nothing rotates and nothing prints, for PcapWriter::write_records().
    PcapWriter* plain_file() noexcept {
        PcapWriter* w = writer_ ? writer_->plain_file() : nullptr;
        return w && w->format() == FileFormat::pcap ? w : nullptr;
    }
    // Live capture, now and then: with -G an idle period's file is finished on time.
    void tick() {
        if (writer_) writer_->tick(std::chrono::system_clock::now());
    }
    // Throws on a failed final write; the file then ends at the last whole record.
    void close() {
        if (writer_) writer_->close();
        if (printer_) printer_->flush();
    }

  private:
    bool packet_buffered_;
    std::optional<RotatingWriter> writer_;
    std::optional<cli::LinePrinter> printer_;
};

// The interface's alias (ip link set IF alias TEXT), the closest Linux has to a description.
std::string interface_alias(const std::string& name) {
    std::ifstream in("/sys/class/net/" + name + "/ifalias");
    std::string alias;
    std::getline(in, alias);
    return alias;
}

std::string plural(std::uint64_t n, const char* what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

int capture_cmd(const cli::CliOptions& o) {
    Capture cap = Capture::open(o.capture);
    const CaptureInfo& info = cap.info();
    for (const std::string& note : info.notes) say("ringcap: note: " + note);

    Output out(o, {.link = info.link_type,
                   .snaplen = info.snaplen,
                   .interface_name = info.interface,
                   .interface_description = interface_alias(info.interface),
                   .before_close = [&cap](PcapWriter& w) {
                       const CaptureStats st = cap.stats();
                       w.write_statistics(0, st.packets, st.drops);
                   }});
    out.open_first_file();
    // Only once the output is open, as tcpdump: a failure is then the one line printed.
    say(fmt::format("listening on {}, link-type {}, snapshot length {} bytes, {}", info.interface,
                    link_type_name(info.link_type), info.snaplen, describe_ring(info)));

    std::uint64_t captured = 0;
    int status = 0;
    try {
        while (!g_stop && (o.count == 0 || captured < o.count)) {
            std::optional<Batch> batch = cap.next_batch(std::chrono::milliseconds(250));
            if (!batch) {
                out.tick();
                continue;
            }
            batch->for_each([&](const PacketView& p) {
                if (o.count != 0 && captured == o.count) return false;
                out.take(p);
                ++captured;
                return true;
            });
            batch->release();
            out.end_batch();
            out.tick();
        }
        out.close();
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    // The same ending for -c, SIGINT, SIGTERM and errors: counts on stderr, as tcpdump prints them.
    const CaptureStats st = cap.stats();
    say(plural(captured, "packet") + " captured");
    say(plural(st.packets, "packet") + " received by filter");
    say(plural(st.drops, "packet") + " dropped by kernel");
    if (info.layout.version == TpacketVersion::v3 && st.freeze_q_count != 0)
        say(fmt::format("{} times the ring was full (tp_freeze_q_cnt); consider a larger -B",
                        st.freeze_q_count));
    return status;
}

// The filter of -r, compiled for each interface of the file by its link type and snaplen, as
// libpcap compiles it for a file of that type; each link type once.
class FileFilters {
  public:
    explicit FileFilters(std::string expression) : expression_(std::move(expression)) {}

    bool empty() const noexcept { return expression_.empty(); }
    // Compiles for interfaces the reader has met since the last call.
    void update(const std::vector<FileInterface>& interfaces) {
        while (by_interface_.size() < interfaces.size()) {
            const FileInterface& f = interfaces[by_interface_.size()];
            auto same = std::find_if(compiled_.begin(), compiled_.end(),
                                     [&](const auto& c) { return c.first == f.link_type; });
            if (same == compiled_.end()) {
                compiled_.emplace_back(
                    f.link_type, Filter::compile(expression_, static_cast<LinkType>(f.link_type),
                                                 f.snaplen ? f.snaplen : kDefaultSnaplen));
                same = std::prev(compiled_.end());
            }
            by_interface_.push_back(&same->second);
        }
    }
    // The compiled filter of an interface met already; nullptr without an expression.
    const Filter* of(std::size_t interface) const {
        return expression_.empty() ? nullptr : by_interface_.at(interface);
    }
    bool matches(const PcapReader& reader, const PacketView& p) {
        if (static_cast<std::size_t>(p.ifindex()) >= by_interface_.size())
            update(reader.interfaces());
        return by_interface_[p.ifindex()]->matches(p);
    }

  private:
    std::string expression_;
    std::deque<std::pair<std::uint32_t, Filter>> compiled_;  // stable addresses
    std::vector<const Filter*> by_interface_;
};

// -r: packets from a file through the filter (libpcap's interpreter, in user space, compiled
// for each interface's link type and snaplen as tcpdump -r does) to the same outputs as a capture.
int read_cmd(const cli::CliOptions& o) {
    PcapReader reader = PcapReader::open(o.read_path);  // mapped; pipes are streamed
    const PcapFileInfo& info = reader.info();
    const LinkType link = static_cast<LinkType>(info.link_type);
    FileFilters filter(o.capture.filter);
    filter.update(reader.interfaces());  // a bad expression fails here, before any output

    const std::vector<FileInterface>& ifs = reader.interfaces();
    Output out(o, {.link = link,
                   .snaplen = info.snaplen,
                   .interface_name = ifs.empty() ? "" : ifs[0].name,
                   .interface_description = ifs.empty() ? "" : ifs[0].description});
    if (!o.rotate_seconds) out.open_first_file();  // with -G the first packet names the file
    say(fmt::format("reading from file {}, {}link-type {}, snapshot length {}",
                    o.read_path == "-" ? "-" : o.read_path,
                    info.format == FileFormat::pcapng ? "pcapng, " : "", link_type_name(link),
                    info.snaplen));
    // A pcap file holds one link type; a pcapng file may mix them (dumpcap -i eth0 -i any).
    const bool ng_out = out.writes_pcapng();
    const bool mixed_links_possible =
        info.format == FileFormat::pcapng && !o.write_path.empty() && !ng_out;
    std::size_t declared = 1;  // interfaces the output knows: 0 from the options

    // Pass-through: when the file's records are already in the output's format, runs of
    // consecutive matching records are handed to the writer as they lie in the mapping or the
    // read buffer, not record by record, and written from there with writev() (no copy in user
    // space). From a mapped file they are written on a thread of their own (RunWriter), which
    // overlaps writing with reading; from the read buffer of a pipe, before it is refilled.
    PcapWriter* const file =
        info.format == FileFormat::pcap && !info.swapped && info.precision == o.precision
            ? out.plain_file()
            : nullptr;
    if (file && reader.is_mapped()) file->flush();  // the file header, before the thread owns it
    std::optional<FileParts> parts;  // see below; they outlive the writer, which points into them
    std::optional<RunWriter> background;
    if (file && reader.is_mapped()) background.emplace(*file);
    RecordRun run;
    const auto hand_on = [&](const RecordRun& r) {
        if (!background)
            file->write_records(r.bytes, r.records);
        else if (!background->add(r))
            background->finish();  // throws the write error
    };
    const auto write_run = [&] {
        if (run.records != 0) hand_on(run);
        run.clear();
    };

    constexpr std::uint64_t kBatch = 4096;  // packets between end_batch() calls and stop checks
    std::uint64_t matched = 0;
    const auto read_on = [&] {  // until the end (or the reader's stop_at()), -c or a signal
        for (bool more = true; more && !g_stop && (o.count == 0 || matched < o.count);) {
            for (std::uint64_t i = 0; i < kBatch; ++i) {
                if (file && !background && !reader.next_is_buffered()) {  // buffer reuse
                    write_run();
                    file->flush();
                }
                const std::optional<PacketView> p = reader.next();
                if (!p) {
                    more = false;
                    break;
                }
                if (!filter.empty() && !filter.matches(reader, *p)) continue;
                if (mixed_links_possible &&
                    reader.interfaces()[p->ifindex()].link_type != info.link_type)
                    throw Error(EINVAL,
                                fmt::format("packet {} is on interface {} of link type {}, but "
                                            "the pcap output holds {}",
                                            reader.records(), p->ifindex(),
                                            link_type_name(static_cast<LinkType>(
                                                reader.interfaces()[p->ifindex()].link_type)),
                                            link_type_name(link)),
                                "a pcap file has one link type; filter on one interface's "
                                "packets or write pcapng");
                if (file) {
                    if (!run.add(*p)) {
                        write_run();
                        run.add(*p);
                    }
                } else {
                    while (ng_out && declared < reader.interfaces().size())
                        out.add_interface(reader.interfaces()[declared++]);
                    const FileInterface& from = reader.interfaces()[p->ifindex()];
                    out.take(*p, ng_out ? static_cast<std::uint32_t>(p->ifindex()) : 0,
                             static_cast<LinkType>(from.link_type));
                }
                if (++matched == o.count) break;
            }
            write_run();
            if (!background)
                out.end_batch();  // (-U) the thread owns the file; it writes each batch
        }
    };

    // A big mapped pcap file passing through to a file is read in parts, one per CPU (up to 8):
    // this thread reads the first, FileParts the others; the parts proved to follow on are
    // written in order, and from the first that is not this thread reads on by itself.
    const std::size_t cpus = std::min(std::max(std::thread::hardware_concurrency(), 1u), 8u);
    if (background && info.format == FileFormat::pcap && o.count == 0 && cpus > 1 &&
        reader.mapped_size() >= FileParts::kWorthFrom)
        parts.emplace(o.read_path, reader, cpus - 1, filter.of(0), g_stop);
    int status = 0;
    try {
        if (parts) reader.stop_at(parts->first_end());
        read_on();
        if (parts) {
            write_run();
            const FileParts::Resume r = parts->follow(reader.offset(), reader.records(), hand_on);
            matched += r.matched;
            reader.stop_at(~std::uint64_t{0});
            reader.seek(r.offset, r.records);
            read_on();
        }
    } catch (const Error& e) {
        report(e);  // damage in the file (or a failed write): what came before it is kept
        status = 1;
    }
    try {
        write_run();
        if (background) background->finish();
        out.close();
    } catch (const Error& e) {
        report(e);
        status = 1;
    }
    say(!filter.empty() ? fmt::format("{} matched the filter, of {} read",
                                      plural(matched, "packet"), reader.records())
                        : plural(matched, "packet") + " read");
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "conn") return cli::run_conn(argc, argv);
    cli::ParseResult parsed = cli::parse_command_line(argc, argv);
    if (parsed.tx) {
        try {
            install_signal_handlers();
            return parsed.command == cli::Command::gen ? cli::run_gen(*parsed.tx, g_stop)
                                                       : cli::run_replay(*parsed.tx, g_stop);
        } catch (const Error& e) {
            report(e);
            return 1;
        }
    }
    if (!parsed.options) {
        std::fputs(parsed.message.c_str(), parsed.exit_status == 0 ? stdout : stderr);
        std::fputc('\n', parsed.exit_status == 0 ? stdout : stderr);
        return parsed.exit_status;
    }
    cli::CliOptions& o = *parsed.options;
    try {
        if (o.list_interfaces) return list_interfaces_cmd();
        if (!o.read_path.empty()) {
            install_signal_handlers();
            return read_cmd(o);
        }
        if (o.capture.interface.empty()) o.capture.interface = default_interface();
        if (o.dump_filter) return dump_filter_cmd(o);
        install_signal_handlers();
        return capture_cmd(o);
    } catch (const Error& e) {
        report(e);
        return 1;
    } catch (const std::exception& e) {
        say(fmt::format("ringcap: {}", e.what()));
        return 1;
    }
}
