// SPDX-License-Identifier: Apache-2.0
// Test tool: runs hex-encoded frames (one per stdin line) through exception::handle() and prints "outcome hex-reply" lines.
//
// Usage: exception_replay --mac 02:00:00:00:00:01 --address 192.0.2.1 [--address ...] < frames.hex
// Used by scapy_check.py, which builds requests with scapy and parses the replies back.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "dataplane/exception/exception.hpp"

namespace ex = sluice::exception;

int main(int argc, char** argv) {
    ex::address_config cfg;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "missing value after %s\n", a.c_str());
            return 2;
        }
        const std::string v = argv[++i];
        const bool ok = a == "--mac" ? cfg.set_mac(v) : a == "--address" ? cfg.add(v) : false;
        if (!ok) {
            std::fprintf(stderr, "bad argument %s %s\n", a.c_str(), v.c_str());
            return 2;
        }
    }
    std::string line;
    std::vector<uint8_t> frame, reply;
    while (std::getline(std::cin, line)) {
        if (line.size() % 2 != 0) {
            std::fprintf(stderr, "odd hex length\n");
            return 2;
        }
        frame.resize(line.size() / 2);
        for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(std::stoul(line.substr(i * 2, 2), nullptr, 16));
        reply.assign(std::max<size_t>(frame.size() + 8, ex::k_min_frame), 0);
        const ex::result r = ex::handle(frame.data(), static_cast<uint32_t>(frame.size()), cfg, reply.data(),
                                        static_cast<uint32_t>(reply.size()));
        std::printf("%s ", std::string(ex::outcome_name(r.what)).c_str());
        for (uint32_t i = 0; i < r.reply_len; ++i) std::printf("%02x", reply[i]);
        std::printf("\n");
    }
    return 0;
}
