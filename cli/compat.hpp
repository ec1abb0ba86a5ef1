#pragma once
// tcpdump's flags that need more than parsing: -F (the expression from a file), -V (a list of
// files to read), -y/-L (link types), -j/-J (time stamp sources).
#include <string>
#include <vector>

#include "command_line.hpp"

namespace ringcap::cli {

// -F and -V: reads the files and fills o.capture.filter and o.read_paths (from -r, or the files
// -V names). Throws ringcap::Error when a file cannot be read, or -V names none.
void read_tcpdump_inputs(CliOptions& o);

// -L and -J for o.capture.interface, on standard error as tcpdump prints them.
int list_link_types_cmd(const CliOptions& o);
int list_time_stamp_types_cmd(const CliOptions& o);

// -y and -j: throws ringcap::Error for a link type the interface does not have, or a time stamp
// type tcpdump does not know; returns a note for a known type the interface lacks (tcpdump
// warns and goes on).
std::string check_link_and_time_stamp(const CliOptions& o);

// A file's text ('#' to the end of a line is a comment, as tcpdump -F reads it).
std::string filter_from_text(std::string text);
// -V's list: one name per line; blank lines and trailing CRs ignored.
std::vector<std::string> names_from_text(const std::string& text);

}  // namespace ringcap::cli
