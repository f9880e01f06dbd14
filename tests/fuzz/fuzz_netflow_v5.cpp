// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: decode_netflow_v5 over arbitrary bytes (twice, same exporter).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    sluice::fuzz::run_one(&sluice::decode::decode_netflow_v5, data, size);
    return 0;
}
