#pragma once
// Umbrella header.
#include <ringcap/batch.hpp>
#include <ringcap/capture.hpp>
#include <ringcap/error.hpp>
#include <ringcap/file_parts.hpp>
#include <ringcap/filter.hpp>
#include <ringcap/flow.hpp>
#include <ringcap/geometry.hpp>
#include <ringcap/group.hpp>
#include <ringcap/options.hpp>
#include <ringcap/packet.hpp>
#include <ringcap/pcap_reader.hpp>
#include <ringcap/pcap_writer.hpp>
#include <ringcap/rotating_writer.hpp>
#include <ringcap/run_writer.hpp>
#include <ringcap/types.hpp>
