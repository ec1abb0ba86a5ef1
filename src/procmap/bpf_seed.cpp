// Sockets open before the hooks: BPF iterators. iter/task_file walks every process's files and
// notes who holds each socket (and in which network namespace); iter/tcp and iter/udp, which
// see only the namespace their fd was made in, then run once per namespace from a thread that
// entered it, giving each socket its record and an existing record.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <exception>
#include <map>
#include <thread>

#include "procmap/bpf_skeleton.hpp"
#include "sys/procfs.hpp"

namespace ringcap::detail {

namespace {

struct LinkDeleter {
    void operator()(bpf_link* l) const noexcept { bpf_link__destroy(l); }
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

Link attach_iter(bpf_program* prog) {
    bpf_link* l = bpf_program__attach_iter(prog, nullptr);
    if (l == nullptr)
        throw Error(errno, std::string("attaching BPF iterator ") + bpf_program__name(prog));
    return Link(l);
}

// Runs the iterator once (in the calling thread's network namespace) and returns its output.
std::string run_iter(const Link& link) {
    sys::Fd fd = sys::Fd::adopt(bpf_iter_create(bpf_link__fd(link.get())));
    if (!fd) throw Error(errno, "bpf_iter_create");
    return sys::read_to_end(fd);
}

template <class T>
std::vector<T> records(const std::string& bytes) {
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
}

}  // namespace

std::vector<rc_conn_event> seed_existing_sockets(ringcap_bpf& skel,
                                                 std::vector<std::string>& notes) {
    // One process per network namespace that holds a socket there: the way in.
    std::map<std::uint32_t, std::uint32_t> namespaces;
    {
        const Link owners = attach_iter(skel.progs.rc_iter_owners);
        for (const rc_owner_record& r : records<rc_owner_record>(run_iter(owners)))
            namespaces.emplace(r.netns, r.tgid);
    }
    const Link tcp = attach_iter(skel.progs.rc_iter_tcp);
    const Link udp = attach_iter(skel.progs.rc_iter_udp);
    auto seed_here = [&] { return run_iter(tcp) + run_iter(udp); };

    const auto own = sys::netns_inode();
    std::string out;
    for (const auto& [netns, pid] : namespaces) {
        if (own && netns == *own) {
            out += seed_here();
            continue;
        }
        std::string got;
        std::exception_ptr failure;
        std::thread t([&, pid = pid] {
            try {
                sys::enter_netns_of(pid);  // this thread only; it ends right after
                got = seed_here();
            } catch (...) {
                failure = std::current_exception();
            }
        });
        t.join();
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                notes.push_back("sockets open in network namespace " + std::to_string(netns) +
                                " before the start are not reported: " + e.what());
            }
        }
        out += got;
    }
    return records<rc_conn_event>(out);
}

}  // namespace ringcap::detail
