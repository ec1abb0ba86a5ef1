#pragma once
// tcpdump's flags that need more than parsing: -F (the expression from a file), -V (a list of
// files to read), -y/-L (link types), -j/-J (time stamp sources).
#include <exception>
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

// The command line with tcpdump's -# (alone or among other one-letter flags, "-n#") written as
// --number: CLI11 takes no '#' in an option's name.
std::vector<std::string> number_flag_as_long(int argc, const char* const* argv);
// -T TYPE: tcpdump's types are refused with the reason (ringcap does not decode packets as
// another protocol); others as tcpdump refuses them ("unknown packet type").
std::string packet_type_error(const std::string& type);
// A CLI11 parse error in tcpdump's words where tcpdump has them ("unrecognized option '--x'",
// "invalid option -- 'k'", "option requires an argument -- 'w'"), else CLI11's text.
std::string tcpdump_words(const std::exception& e);

// A file's text ('#' to the end of a line is a comment, as tcpdump -F reads it).
std::string filter_from_text(std::string text);
// -V's list: one name per line; blank lines and trailing CRs ignored.
std::vector<std::string> names_from_text(const std::string& text);

}  // namespace ringcap::cli
