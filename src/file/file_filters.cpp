#include "file/file_filters.hpp"

#include <algorithm>
#include <iterator>

namespace ringcap {

void FileFilters::update(const std::vector<FileInterface>& interfaces) {
    if (expression_.empty()) return;
    while (by_interface_.size() < interfaces.size()) {
        const FileInterface& f = interfaces[by_interface_.size()];
        auto same = std::find_if(compiled_.begin(), compiled_.end(),
                                 [&](const auto& c) { return c.first == f.link_type; });
        if (same == compiled_.end()) {
            compiled_.emplace_back(
                f.link_type,
                Filter::compile_for_file(expression_, static_cast<LinkType>(f.link_type),
                                         f.snaplen ? f.snaplen : kDefaultSnaplen, swapped_));
            same = std::prev(compiled_.end());
        }
        by_interface_.push_back(&same->second);
    }
}

}  // namespace ringcap
